//! Caller keys (`require_api_key`): the secret a caller presents, its public
//! id, its name and its rate limit. Only the secret's SHA-256 is ever stored.

use super::ParamError;
use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

/// The secret's prefix, so a leaked one is recognisable (secret scanners).
pub const SECRET_PREFIX: &str = "qmk_";
const SECRET_CHARS: usize = 32;
const ID_PREFIX: &str = "k_";
const ID_CHARS: usize = 8;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// Requests per minute a key gets when its creator names none.
pub const DEFAULT_RATE_LIMIT: u32 = 60;
/// The most requests per minute a key may be given.
pub const MAX_RATE_LIMIT: u32 = 100_000;

/// A key's public id, `k_` and 8 letters or digits: shown in lists and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ApiKeyId(String);

impl ApiKeyId {
    pub fn parse(raw: &str) -> Result<Self, ParamError> {
        let ok = raw.strip_prefix(ID_PREFIX).is_some_and(|rest| {
            rest.len() == ID_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        });
        if ok {
            Ok(Self(raw.to_owned()))
        } else {
            Err(ParamError::new(
                "id",
                "参数 id 不合法：应为 k_ 加 8 个字母或数字 / id must be k_ and 8 letters or digits",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ApiKeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The SHA-256 of a secret, as 64 lowercase hex digits: what the store keeps
/// and what a presented secret is looked up by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ApiKeyHash(String);

impl ApiKeyHash {
    pub fn of(secret: &str) -> Self {
        Self(hex::encode(Sha256::digest(secret.as_bytes())))
    }

    /// A stored hash, read back as strictly as anything else from the store.
    pub fn parse(raw: &str) -> Option<Self> {
        (raw.len() == 64 && raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(raw.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A new key's secret, shown once to its creator. `Debug` hides it.
pub struct ApiKeySecret(String);

impl std::fmt::Debug for ApiKeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKeySecret([redacted])")
    }
}

impl ApiKeySecret {
    /// A new secret and id from the thread's CSPRNG: 32 base62 characters
    /// are about 190 bits, so a hash without salt or stretching is enough.
    pub fn generate() -> (ApiKeyId, Self) {
        let mut rng = rand::thread_rng();
        let id = format!(
            "{ID_PREFIX}{}",
            Alphanumeric.sample_string(&mut rng, ID_CHARS)
        );
        let secret = format!(
            "{SECRET_PREFIX}{}",
            Alphanumeric.sample_string(&mut rng, SECRET_CHARS)
        );
        (ApiKeyId(id), Self(secret))
    }

    pub fn hash(&self) -> ApiKeyHash {
        ApiKeyHash::of(&self.0)
    }

    /// The secret itself, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// Whether a presented value could be a secret at all: refused before any
/// lookup when it is not, so junk never reaches the store.
pub fn looks_like_secret(raw: &str) -> bool {
    raw.strip_prefix(SECRET_PREFIX).is_some_and(|rest| {
        rest.len() == SECRET_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// A key's name: 1 to 64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyName(String);

impl ApiKeyName {
    pub fn parse(raw: &str) -> Result<Self, ParamError> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(ParamError::new(
                "name",
                "缺少参数 name / name must not be empty",
            ));
        }
        if name.chars().count() > MAX_NAME_CHARS {
            return Err(ParamError::new(
                "name",
                format!("参数 name 过长：最多 {MAX_NAME_CHARS} 个字符 / name is longer than {MAX_NAME_CHARS} characters"),
            ));
        }
        if name.chars().any(char::is_control) {
            return Err(ParamError::new(
                "name",
                "参数 name 不能含控制字符 / name must not contain control characters",
            ));
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Requests per minute, 1 to [`MAX_RATE_LIMIT`].
pub fn parse_rate_limit(value: u64) -> Result<u32, ParamError> {
    u32::try_from(value)
        .ok()
        .filter(|v| (1..=MAX_RATE_LIMIT).contains(v))
        .ok_or_else(|| {
            ParamError::new(
                "rate_limit",
                format!("参数 rate_limit 不合法：每分钟请求数应为 1–{MAX_RATE_LIMIT} / rate_limit must be 1 to {MAX_RATE_LIMIT} requests per minute"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_parses_and_its_hash_is_not_the_secret() {
        let (id, secret) = ApiKeySecret::generate();
        assert!(ApiKeyId::parse(id.as_str()).is_ok());
        assert!(looks_like_secret(secret.expose()));
        let hash = secret.hash();
        assert!(ApiKeyHash::parse(hash.as_str()).is_some());
        assert!(!hash.as_str().contains(&secret.expose()[4..]));
        assert!(!format!("{secret:?}").contains(&secret.expose()[4..]));
    }

    #[test]
    fn names_and_limits_are_refused_by_field() {
        assert_eq!(ApiKeyName::parse(" ").unwrap_err().param, "name");
        assert_eq!(
            ApiKeyName::parse(&"x".repeat(65)).unwrap_err().param,
            "name"
        );
        assert_eq!(ApiKeyName::parse("a\u{7}b").unwrap_err().param, "name");
        assert_eq!(ApiKeyName::parse(" 播放器 ").unwrap().as_str(), "播放器");
        assert_eq!(parse_rate_limit(0).unwrap_err().param, "rate_limit");
        assert_eq!(parse_rate_limit(100_001).unwrap_err().param, "rate_limit");
        assert_eq!(parse_rate_limit(u64::MAX).unwrap_err().param, "rate_limit");
        assert_eq!(parse_rate_limit(60), Ok(60));
        assert!(!looks_like_secret("qmk_short"));
        assert!(ApiKeyId::parse("k_abc").is_err());
    }
}
