//! Cache keys for credentials: the refresh service keys its caches with them,
//! and the upload service keys the grants it shares through Redis.

use crate::domain::Credential;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// A keyed hash of a whole credential. The cache never holds a raw key as its key,
/// and without the server's secret nobody can test a guess against it.
pub type CacheKey = [u8; 32];

#[derive(Clone)]
pub struct CacheKeyer {
    /// Keyed once: HMAC hashes the padded key before each message, and a
    /// clone of this state skips that on every request.
    mac: Hmac<Sha256>,
}

impl CacheKeyer {
    pub fn new(secret: [u8; 32]) -> Self {
        // HMAC pads a short key with zeros to the hash's 64-byte block, so this
        // is the same key, given in the one size that cannot be refused.
        let mut block = [0u8; 64];
        block[..32].copy_from_slice(&secret);
        let mac = <Hmac<Sha256> as hmac::digest::KeyInit>::new(&block.into());
        Self { mac }
    }

    pub fn random() -> Self {
        Self::new(rand::random())
    }

    /// Shared by every instance that has the same server secret.
    pub fn from_secret(secret: &str) -> Self {
        Self::new(crate::secrets::derive_key(secret, "cache keys"))
    }

    /// `hash(&credential_bytes(cred))`, fed to the MAC piece by piece: a
    /// cache hit makes no buffer for it.
    pub fn key_for(&self, cred: &Credential) -> CacheKey {
        let mut mac = self.mac.clone();
        mac.update(&cred.uin.get().to_be_bytes());
        for part in credential_parts(cred) {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// A keyed hash of anything that must not appear in a cache key as it is.
    pub fn hash(&self, bytes: &[u8]) -> CacheKey {
        let mut mac = self.mac.clone();
        mac.update(bytes);
        mac.finalize().into_bytes().into()
    }

    /// The salt for keys derived from a caller's credential.
    pub fn salt(&self) -> [u8; 32] {
        self.hash(b"salt for credential-derived keys")
    }
}

/// The whole credential, length-prefixed so no two credentials share an encoding.
pub fn credential_bytes(cred: &Credential) -> Vec<u8> {
    let mut out = cred.uin.get().to_be_bytes().to_vec();
    for part in credential_parts(cred) {
        out.extend((part.len() as u64).to_be_bytes());
        out.extend(part.as_bytes());
    }
    out
}

fn credential_parts(cred: &Credential) -> [&str; 3] {
    [
        cred.key.expose(),
        cred.refresh_key_str(),
        cred.refresh_token_str(),
    ]
}

impl std::fmt::Debug for CacheKeyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKeyer([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cred(uin: &str, key: &str, rk: Option<&str>, rt: Option<&str>) -> Credential {
        Credential::parse(Some(uin), Some(key), rk, rt).expect("valid")
    }

    #[test]
    fn every_part_of_the_credential_changes_the_key() {
        let keyer = CacheKeyer::new([7; 32]);
        let base = keyer.key_for(&cred("123456", "Q_H_L_a", Some("b"), Some("c")));
        assert_eq!(
            base,
            keyer.key_for(&cred("123456", "Q_H_L_a", Some("b"), Some("c")))
        );
        for other in [
            cred("123457", "Q_H_L_a", Some("b"), Some("c")),
            cred("123456", "Q_H_L_x", Some("b"), Some("c")),
            cred("123456", "Q_H_L_a", Some("x"), Some("c")),
            cred("123456", "Q_H_L_a", Some("b"), Some("x")),
            cred("123456", "Q_H_L_a", Some("bc"), None),
            cred("123456", "Q_H_L_a", None, Some("bc")),
        ] {
            assert_ne!(base, keyer.key_for(&other));
        }
    }

    #[test]
    fn the_keyed_state_gives_plain_hmac_sha256_of_the_secret() {
        // Checked against HMAC keyed the ordinary way, so keys shared through
        // Redis stay the same as before the key was prepared once.
        let secret = [0x5a; 32];
        let mut plain = Hmac::<Sha256>::new_from_slice(&secret).expect("any key length");
        plain.update(b"what ho");
        let expected: CacheKey = plain.finalize().into_bytes().into();
        assert_eq!(CacheKeyer::new(secret).hash(b"what ho"), expected);
        assert_ne!(CacheKeyer::new(secret).hash(b"what hi"), expected);
    }

    #[test]
    fn the_key_is_the_keyed_hash_of_the_credential_bytes() {
        // Streamed into the MAC, but the same key as before: Redis entries
        // written by an older instance are still found.
        let keyer = CacheKeyer::new([9; 32]);
        for c in [
            cred("123456", "Q_H_L_a", Some("b"), Some("c")),
            cred("123456", "Q_H_L_a", None, None),
        ] {
            assert_eq!(keyer.key_for(&c), keyer.hash(&credential_bytes(&c)));
        }
    }

    #[test]
    fn a_different_server_secret_gives_a_different_key() {
        let c = cred("123456", "Q_H_L_a", None, None);
        assert_ne!(
            CacheKeyer::new([1; 32]).key_for(&c),
            CacheKeyer::new([2; 32]).key_for(&c)
        );
    }
}
