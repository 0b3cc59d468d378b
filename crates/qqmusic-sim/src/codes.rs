//! Result codes used on the wire (docs/protocol.md section 1 table, plus the
//! simulator's own for cases the protocol leaves open).

/// Success.
pub const OK: i64 = 0;
/// Credential expired or invalid: login required.
pub const LOGIN_REQUIRED: i64 = 1000;
/// Signature missing or wrong on musics.fcg.
pub const BAD_SIGN: i64 = 2000;
/// Bad login parameters (wrong body shape).
pub const BAD_LOGIN_PARAMS: i64 = 20261;
/// Wrong login code: unknown, already used or expired (QQ Connect QQLogin,
/// WeChat Login with a code).
pub const WRONG_CODE: i64 = 20271;
/// Account restricted or banned.
pub const BANNED: i64 = 20277;
/// Simulator's choice: no handler for this module.method.
pub const UNKNOWN_METHOD: i64 = 404;
/// Simulator's choice: the body, or one sub-request in it, is not the expected
/// JSON shape (an InitUpload / FinishUpload param included); also used for
/// internal errors inside one sub-request.
pub const BAD_REQUEST: i64 = 500_001;
