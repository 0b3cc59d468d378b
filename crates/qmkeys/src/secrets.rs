//! Secrets at rest. With `QMKEYS_SECRET_KEY` set, keys and tokens are sealed
//! with XChaCha20-Poly1305 under a key derived from it (HKDF-SHA256); each
//! value is bound to the record and field it belongs to, so a sealed value
//! copied elsewhere does not open. Without it, values are kept as they are.

use base64::engine::general_purpose::STANDARD_NO_PAD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// Marks a sealed value; a plain key or token never starts with it.
const SEALED_PREFIX: &str = "qmkeys-sealed:v1:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the store holds encrypted secrets but QMKEYS_SECRET_KEY is not set")]
    NoKey,
    #[error("a stored secret does not open with this QMKEYS_SECRET_KEY (wrong key, or the data was altered)")]
    WrongKey,
    /// Only a writer without the key stores plain values, so with a key set a
    /// plain value was planted, not written by us.
    #[error("a stored secret is not encrypted although QMKEYS_SECRET_KEY is set")]
    Unsealed,
}

fn cipher(material: &[u8], salt: &[u8], context: &str) -> XChaCha20Poly1305 {
    let hk = Hkdf::<Sha256>::new(Some(salt), material);
    let mut key = [0u8; 32];
    // 32 bytes is far below HKDF-SHA256's output limit.
    let _ = hk.expand(context.as_bytes(), &mut key);
    XChaCha20Poly1305::new(&key.into())
}

/// 32 bytes for `purpose`, derived from the server secret.
pub fn derive_key(secret: &str, purpose: &str) -> [u8; 32] {
    let hk = Hkdf::<Sha256>::new(Some(b"qmkeys derived keys v1"), secret.as_bytes());
    let mut key = [0u8; 32];
    let _ = hk.expand(purpose.as_bytes(), &mut key);
    key
}

#[derive(Clone)]
pub struct Sealer {
    cipher: Option<XChaCha20Poly1305>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("encrypting", &self.is_encrypting())
            .finish()
    }
}

impl Sealer {
    /// `context` separates uses (the SQLite store, Redis) so one key never
    /// serves two purposes.
    pub fn new(secret_key: Option<&str>, context: &str) -> Self {
        Self {
            cipher: secret_key
                .map(|secret| cipher(secret.as_bytes(), b"qmkeys secrets at rest v1", context)),
        }
    }

    /// A sealer whose key is derived from `material` (e.g. a caller's whole
    /// credential) with `salt` (a server secret): only someone holding both
    /// can open what it seals.
    pub fn derived(material: &[u8], salt: &[u8], context: &str) -> Self {
        Self {
            cipher: Some(cipher(material, salt, context)),
        }
    }

    pub fn is_encrypting(&self) -> bool {
        self.cipher.is_some()
    }

    /// `aad` names what the value is (e.g. `"123456:musickey"`).
    pub fn seal(&self, aad: &str, plain: &str) -> String {
        let Some(cipher) = &self.cipher else {
            return plain.to_owned();
        };
        let nonce: [u8; 24] = rand::random();
        let sealed = cipher.encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plain.as_bytes(),
                aad: aad.as_bytes(),
            },
        );
        // Encryption only fails for inputs beyond any size we store.
        let Ok(sealed) = sealed else {
            return String::new();
        };
        let mut out = nonce.to_vec();
        out.extend(sealed);
        format!("{SEALED_PREFIX}{}", B64.encode(out))
    }

    pub fn open(&self, aad: &str, stored: &str) -> Result<String, SealError> {
        let (Some(body), Some(cipher)) = (stored.strip_prefix(SEALED_PREFIX), &self.cipher) else {
            return match (Self::is_sealed(stored), self.is_encrypting()) {
                (false, false) => Ok(stored.to_owned()),
                (true, false) => Err(SealError::NoKey),
                _ => Err(SealError::Unsealed),
            };
        };
        let raw = B64.decode(body).map_err(|_| SealError::WrongKey)?;
        if raw.len() < 24 {
            return Err(SealError::WrongKey);
        }
        let (nonce, sealed) = raw.split_at(24);
        let plain = cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::WrongKey)?;
        String::from_utf8(plain).map_err(|_| SealError::WrongKey)
    }

    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_the_same_key_and_context() {
        let sealer = Sealer::new(Some("correct horse battery staple"), "store");
        let sealed = sealer.seal("123456:musickey", "Q_H_L_secretvalue");
        assert!(Sealer::is_sealed(&sealed));
        assert!(!sealed.contains("secretvalue"));
        assert_eq!(
            sealer.open("123456:musickey", &sealed).as_deref(),
            Ok("Q_H_L_secretvalue")
        );

        assert_eq!(
            sealer.open("654321:musickey", &sealed),
            Err(SealError::WrongKey),
            "bound to its record"
        );
        let other = Sealer::new(Some("another key entirely"), "store");
        assert_eq!(
            other.open("123456:musickey", &sealed),
            Err(SealError::WrongKey)
        );
        let elsewhere = Sealer::new(Some("correct horse battery staple"), "redis");
        assert_eq!(
            elsewhere.open("123456:musickey", &sealed),
            Err(SealError::WrongKey)
        );
        assert_eq!(
            Sealer::new(None, "store").open("123456:musickey", &sealed),
            Err(SealError::NoKey)
        );
    }

    #[test]
    fn the_same_value_seals_differently_each_time() {
        let sealer = Sealer::new(Some("k-0123456789abcdef"), "store");
        assert_ne!(sealer.seal("a", "v"), sealer.seal("a", "v"));
    }

    #[test]
    fn without_a_key_values_pass_through() {
        let plain = Sealer::new(None, "store");
        assert_eq!(plain.seal("a", "Q_H_L_x"), "Q_H_L_x");
        assert_eq!(plain.open("a", "Q_H_L_x").as_deref(), Ok("Q_H_L_x"));
    }

    #[test]
    fn with_a_key_a_plain_value_is_refused() {
        let keyed = Sealer::new(Some("k-0123456789abcdef"), "store");
        assert_eq!(keyed.open("a", "Q_H_L_x"), Err(SealError::Unsealed));
        let derived = Sealer::derived(b"credential", b"salt", "cookie cache");
        assert_eq!(derived.open("a", "{}"), Err(SealError::Unsealed));
    }
}
