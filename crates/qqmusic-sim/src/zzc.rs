//! The "zzc" request signature of musics.fcg (docs/protocol.md section 2) and the
//! `hash33` used for `g_tk` (section 1).

use base64::Engine as _;
use sha1::{Digest, Sha1};

const P1: [usize; 7] = [23, 14, 6, 36, 16, 7, 19];
const P2: [usize; 8] = [16, 1, 32, 12, 19, 27, 8, 5];
const K: [u8; 20] = [
    89, 39, 179, 150, 218, 82, 58, 252, 177, 52, 186, 123, 120, 64, 242, 133, 143, 161, 121, 179,
];

/// The zzc sign of `body`, computed over the exact bytes.
pub fn sign(body: &[u8]) -> String {
    let digest = Sha1::digest(body);
    let h = hex::encode_upper(digest);
    let h = h.as_bytes();
    let mut out = String::from("zzc");
    out.extend(P1.iter().map(|&i| char::from(h[i])));
    // The hex pairs of h are exactly the digest bytes, so XOR those directly.
    let x: Vec<u8> = digest.iter().zip(K).map(|(d, k)| d ^ k).collect();
    let b = base64::engine::general_purpose::STANDARD.encode(x);
    out.extend(b.chars().filter(|c| !matches!(c, '\\' | '/' | '+' | '=')));
    out.extend(P2.iter().map(|&i| char::from(h[i])));
    out.to_lowercase()
}

/// Whether `given` is the right sign for `body`.
pub fn verify(body: &[u8], given: &str) -> bool {
    sign(body) == given
}

/// `h = 5381; h = h*33 + byte; h & 0x7fffffff`. Wrapping in 32 bits keeps the
/// low 31 bits exact, which is all the mask keeps.
pub fn hash33(s: &str) -> u32 {
    let h = s.bytes().fold(5381u32, |h, c| {
        h.wrapping_mul(33).wrapping_add(u32::from(c))
    });
    h & 0x7fff_ffff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_vector_signs_as_documented() {
        assert_eq!(
            sign(br#"{"foo":"bar","num":1}"#),
            "zzcf3ea51dcp3xdwnxisjgufsk0znclehf2t85bc1d3d4"
        );
    }

    #[test]
    fn one_changed_byte_changes_the_sign() {
        let good = "zzcf3ea51dcp3xdwnxisjgufsk0znclehf2t85bc1d3d4";
        assert!(verify(br#"{"foo":"bar","num":1}"#, good));
        assert!(!verify(br#"{"foo":"bar","num":2}"#, good));
        assert!(!verify(br#"{"foo": "bar","num":1}"#, good));
    }

    #[test]
    fn hash33_matches_the_protocol_checks() {
        assert_eq!(hash33(""), 5381);
        assert_eq!(hash33("abc"), 193_485_963);
    }

    #[test]
    fn hash33_of_a_long_key_stays_within_31_bits_and_matches_big_integer_math() {
        let key = "Q_H_L_abcdefghijklmnopqrstuvwxyz0123456789-_ABCD";
        // Reference with u128 and a final mask, like the Python client's big ints
        // (the low 31 bits of h are unaffected by truncating higher bits).
        let mut h: u128 = 5381;
        for c in key.bytes() {
            h = (h * 33 + u128::from(c)) & u128::from(u64::MAX);
        }
        assert_eq!(u128::from(hash33(key)), h & 0x7fff_ffff);
        assert!(hash33(key) <= 0x7fff_ffff);
    }
}
