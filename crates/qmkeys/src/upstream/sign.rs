//! Request signing for the QQ Music gateway (docs/protocol.md sections 1 and 2).

use base64::Engine;
use sha1::{Digest, Sha1};

/// `g_tk`: a DJB-style hash of the musickey that upstream checks against the key.
pub fn hash33(s: &str) -> u32 {
    let mut h: u32 = 5381;
    for &c in s.as_bytes() {
        // h*33 + c with wrap-around; only the low 31 bits are kept at the end, and
        // those do not depend on the bits lost to wrapping.
        h = h.wrapping_shl(5).wrapping_add(h).wrapping_add(u32::from(c));
    }
    h & 0x7fff_ffff
}

const ZZC_XOR: [u8; 20] = [
    89, 39, 179, 150, 218, 82, 58, 252, 177, 52, 186, 123, 120, 64, 242, 133, 143, 161, 121, 179,
];
const ZZC_P1: [usize; 7] = [23, 14, 6, 36, 16, 7, 19];
const ZZC_P2: [usize; 8] = [16, 1, 32, 12, 19, 27, 8, 5];

/// The `sign` query parameter of `musics.fcg`, over the exact body bytes sent.
pub fn zzc_sign(body: &[u8]) -> String {
    let digest: [u8; 20] = Sha1::digest(body).into();
    let h = hex::encode_upper(digest);
    let h = h.as_bytes();
    let p1: String = ZZC_P1.iter().map(|&i| char::from(h[i])).collect();
    let p2: String = ZZC_P2.iter().map(|&i| char::from(h[i])).collect();
    // byte(h[2i..2i+2]) is digest[i]: the hex string is the digest itself.
    let mixed: Vec<u8> = digest.iter().zip(ZZC_XOR).map(|(d, k)| d ^ k).collect();
    let b64: String = base64::engine::general_purpose::STANDARD
        .encode(mixed)
        .chars()
        .filter(|c| !matches!(c, '\\' | '/' | '+' | '='))
        .collect();
    format!("zzc{p1}{b64}{p2}").to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash33_matches_protocol_checks() {
        assert_eq!(hash33(""), 5381);
        assert_eq!(hash33("abc"), 193485963);
    }

    #[test]
    fn hash33_of_a_long_key_matches_wide_arithmetic() {
        let key = "Q_H_L_63kfNuk1fUK-t9Rshh-NGQrRsuQmM8eCpOAo4TtgtNtGBY7";
        let mut wide: u128 = 5381;
        for c in key.bytes() {
            wide = (wide * 33 + u128::from(c)) & u128::from(u64::MAX);
        }
        assert_eq!(u128::from(hash33(key)), wide & 0x7fff_ffff);
    }

    #[test]
    fn zzc_matches_protocol_vector() {
        assert_eq!(
            zzc_sign(br#"{"foo":"bar","num":1}"#),
            "zzcf3ea51dcp3xdwnxisjgufsk0znclehf2t85bc1d3d4"
        );
    }

    #[test]
    fn zzc_changes_with_one_byte() {
        assert_ne!(
            zzc_sign(br#"{"foo":"bar","num":1}"#),
            zzc_sign(br#"{"foo":"bar","num":2}"#)
        );
    }
}
