//! Types that parse and validate what callers send, so that the rest of the code
//! never handles a loose string.

mod api_key;
mod client;
mod client_key;
mod cookie;
mod credential;
mod endpoint;
mod music_key;
mod uin;
mod upload;

pub use api_key::{
    looks_like_secret, parse_rate_limit, ApiKeyHash, ApiKeyId, ApiKeyName, ApiKeySecret,
    DEFAULT_RATE_LIMIT, MAX_RATE_LIMIT,
};
pub use client::{canonical, ClientId, DEFAULT_IPV6_PREFIX};
pub use client_key::{parse_client_uin, ClientKey};
pub use cookie::{cookie_line, Cookie};
pub use credential::{Credential, RefreshSecret};
pub use endpoint::EndpointTemplate;
pub(crate) use music_key::is_token_char;
pub use music_key::{AccountKind, MusicKey};
pub use uin::Uin;
pub use upload::{content_md5, FileMd5, FileSha1, FileSize, ImageExt, UploadFile};

/// Why a parameter was refused. The message is shown to API users as it is, so it
/// names the parameter and says what a valid value looks like.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ParamError {
    pub param: &'static str,
    pub message: String,
}

impl ParamError {
    pub fn new(param: &'static str, message: impl Into<String>) -> Self {
        Self {
            param,
            message: message.into(),
        }
    }

    pub fn missing(param: &'static str) -> Self {
        Self::new(param, format!("缺少参数 {param}"))
    }
}
