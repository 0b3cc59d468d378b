//! Login secrets and identifiers, shaped like the real ones. Random per run.

use crate::ids::{lower_hex, pick, ALNUM, KEY_ALPHABET};

/// ptlogin's `qrsig` cookie: 64 chars, with `*` and `-` as the real ones have.
pub fn qrsig() -> String {
    const QRSIG_ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-_";
    pick(QRSIG_ALPHABET, 64)
}

/// A WeChat QR uuid: 16 alphanumerics.
pub fn wx_uuid() -> String {
    pick(ALNUM, 16)
}

/// check_sig's `ptsigx`: 96 lower hex chars.
pub fn ptsigx() -> String {
    lower_hex(48)
}

/// A `p_skey` (and `pt4_token`) cookie value: 44 chars ending in `_`.
pub fn p_skey() -> String {
    format!("{}_", pick(KEY_ALPHABET, 43))
}

/// A QQ Connect auth code: 32 upper hex chars.
pub fn qq_code() -> String {
    lower_hex(16).to_ascii_uppercase()
}

/// A WeChat auth code: 32 chars.
pub fn wx_code() -> String {
    format!("0{}", pick(ALNUM, 31))
}

/// A desktop client key: 64 upper hex chars.
pub fn client_key() -> String {
    lower_hex(32).to_ascii_uppercase()
}

/// xlogin's `pt_local_token` cookie: a decimal number, negative here so no
/// uin or timestamp in a log can be mistaken for it.
pub fn local_token() -> String {
    use rand::Rng;
    let n: i64 = rand::thread_rng().gen_range(1_000_000_000..=2_147_483_647);
    format!("-{n}")
}

/// An app QR's `qrcodeID`: 32 lower hex chars.
pub fn app_qrcode_id() -> String {
    lower_hex(16)
}

/// The `qqmusic_key` token an app QR's `cookies` message carries: 40 chars.
pub fn app_token() -> String {
    format!("Q_H_L_{}", pick(ALNUM, 34))
}
