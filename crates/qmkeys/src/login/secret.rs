//! Login secrets (qrsig, ptsigx, p_skey, codes) and the hash33 they feed.

use secrecy::{ExposeSecret, SecretString};
use std::fmt;

/// A login secret. `Debug` shows nothing of it and there is no `Display`.
#[derive(Clone)]
pub struct Secret(SecretString);

impl Secret {
    /// For values already checked by the caller.
    pub(super) fn new(value: String) -> Self {
        Self(SecretString::from(value))
    }

    /// A cookie value fit to send back in a `Cookie` header: visible ASCII
    /// without `;`, `,`, `"` or `\`, at most 4 KiB.
    pub fn cookie(value: &str) -> Option<Self> {
        let ok =
            (1..=4096).contains(&value.len()) && value.bytes().all(crate::domain::is_token_char);
        ok.then(|| Self::new(value.to_owned()))
    }

    /// A one-time code (QQ Connect or WeChat): letters, digits, `-` and `_`.
    pub fn code(value: &str) -> Option<Self> {
        let ok = (1..=512).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
        ok.then(|| Self::new(value.to_owned()))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `hash33(s, seed)` of docs/protocol.md section 9: h = seed, then
/// h = h * 33 + code point for each character, keeping the low 31 bits.
/// `ptqrtoken` is hash33(qrsig, 0); `g_tk` is hash33(p_skey, 5381).
pub fn hash33(s: &str, seed: u32) -> u32 {
    // Wrapping at 32 bits leaves the low 31 bits as exact arithmetic would.
    s.chars()
        .fold(seed, |h, c| h.wrapping_mul(33).wrapping_add(u32::from(c)))
        & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash33_matches_the_protocols_vectors() {
        assert_eq!(hash33("QRSIGvalue", 0), 1_377_046_915);
        assert_eq!(hash33("PSKEYxyz", 5381), 2_037_244_188);
        assert_eq!(hash33("", 5381), 5381);
    }

    #[test]
    fn hash33_of_a_long_value_matches_wide_arithmetic() {
        let s = "x*Y-z_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOP";
        let wide = s.chars().fold(0u128, |h, c| {
            (h * 33 + u128::from(u32::from(c))) & u128::from(u64::MAX)
        });
        assert_eq!(u128::from(hash33(s, 0)), wide & 0x7fff_ffff);
    }

    #[test]
    fn secrets_check_their_charset_and_never_show() {
        let s = Secret::cookie("abc*DEF-_").expect("cookie");
        assert_eq!(format!("{s:?}"), "[redacted]");
        assert!(Secret::cookie("a;b").is_none());
        assert!(Secret::cookie("").is_none());
        assert!(Secret::code("ABC-_09").is_some());
        assert!(Secret::code("a*b").is_none());
    }
}
