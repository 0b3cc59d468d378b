//! Exit codes, one table for every command, so a script can rely on them.

/// Done.
pub const OK: u8 = 0;
/// The command ran but could not do what was asked: the server stopped with
/// an error, there was no async runtime, `accounts remove` or `accounts
/// show` found no such account, or `keys revoke` no such key.
pub const FAILED: u8 = 1;
/// Bad arguments or settings, or a file that cannot be read: fix the command.
/// Nothing was sent.
pub const USAGE: u8 = 2;
/// The service refused the request (a 4xx answer other than 429: a bad
/// parameter, an expired key, a restricted account): retrying the same
/// request will not help. The envelope's `code` says why. For `login`: the QR
/// expired or the login was refused on the phone (or `--desktop`'s client key
/// was refused).
pub const REFUSED: u8 = 3;
/// The service, QQ Music, the login hosts or the account store failed or
/// could not be reached (timeouts, 5xx, 429, no upload account, too many
/// logins at once): retry later or ask the operator.
pub const UNAVAILABLE: u8 = 4;
/// `cos-sign --upload`: the bucket refused the PUT.
pub const UPLOAD_REFUSED: u8 = 5;
/// `check`: QQ Music answered, and the key is dead (expired or logged out).
pub const DEAD: u8 = 6;
