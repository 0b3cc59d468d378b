//! Random identifiers: uins, keys, refresh pairs, trace ids. Random per run so
//! no test can come to depend on a fixed value.

use rand::Rng;

use crate::state::Kind;

pub(crate) const KEY_ALPHABET: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
pub(crate) const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

pub(crate) fn pick(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| char::from(alphabet[rng.gen_range(0..alphabet.len())]))
        .collect()
}

/// A fresh musickey: `Q_H_L_` or `W_X_` plus 40 chars of `[A-Za-z0-9_-]`.
pub fn musickey(kind: Kind) -> String {
    let prefix = match kind {
        Kind::Qq => "Q_H_L_",
        Kind::Wx => "W_X_",
    };
    format!("{prefix}{}", pick(KEY_ALPHABET, 40))
}

/// A fresh uin: 9-10 digits for QQ, 19 digits (beyond 2^53, within u64) for WeChat.
pub fn uin(kind: Kind) -> u64 {
    let mut rng = rand::thread_rng();
    match kind {
        Kind::Qq => rng.gen_range(100_000_000..=9_999_999_999),
        Kind::Wx => rng.gen_range(1_000_000_000_000_000_000..=9_999_999_999_999_999_999),
    }
}

pub fn refresh_key() -> String {
    pick(ALNUM, 32)
}

pub fn refresh_token() -> String {
    pick(KEY_ALPHABET, 48)
}

pub fn access_token() -> String {
    lower_hex(16)
}

pub fn openid() -> String {
    format!("o{}", pick(KEY_ALPHABET, 27))
}

pub fn encrypt_uin() -> String {
    pick(ALNUM, 16)
}

/// A temporary SecretID: `AKID` plus 36 chars of `[A-Za-z0-9_-]`, like the
/// public API's documentation shows, so a client that mangles `_` or `-` in q-ak shows.
pub fn secret_id() -> String {
    format!("AKID{}", pick(KEY_ALPHABET, 36))
}

pub fn secret_key() -> String {
    pick(ALNUM, 32)
}

/// A session token that always holds `-`, `_`, `+`, `/` and `=`: each needs
/// care (Encode turns `+/=` into `%2B%2F%3D`), so encoding bugs always show.
pub fn session_token() -> String {
    const TOKEN_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/";
    let part = || pick(TOKEN_ALPHABET, 24);
    format!("{}-{}_{}+{}/{}=", part(), part(), part(), part(), part())
}

/// A COS request id, sent as `x-cos-request-id` and in XML errors.
pub fn cos_request_id() -> String {
    pick(ALNUM, 40)
}

/// `bytes` random bytes as lower-case hex.
pub fn lower_hex(bytes: usize) -> String {
    let mut rng = rand::thread_rng();
    let raw: Vec<u8> = (0..bytes).map(|_| rng.gen()).collect();
    hex::encode(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_kind_prefix_and_forty_url_safe_chars() {
        for (kind, prefix) in [(Kind::Qq, "Q_H_L_"), (Kind::Wx, "W_X_")] {
            let key = musickey(kind);
            let rest = key.strip_prefix(prefix).unwrap_or_default();
            assert_eq!(rest.len(), 40, "{key}");
            assert!(rest.bytes().all(|c| KEY_ALPHABET.contains(&c)), "{key}");
        }
        assert_ne!(musickey(Kind::Qq), musickey(Kind::Qq));
    }

    #[test]
    fn session_tokens_always_hold_every_character_that_needs_encoding() {
        for _ in 0..50 {
            let t = session_token();
            assert!(
                ['-', '_', '+', '/', '='].iter().all(|c| t.contains(*c)),
                "{t}"
            );
        }
        assert!(secret_id().starts_with("AKID"));
        assert_ne!(session_token(), session_token());
    }

    #[test]
    fn uins_have_the_documented_digit_counts() {
        for _ in 0..100 {
            let qq = uin(Kind::Qq).to_string().len();
            assert!((9..=10).contains(&qq));
            assert_eq!(uin(Kind::Wx).to_string().len(), 19);
        }
    }
}
