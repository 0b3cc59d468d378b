//! Whether a caller's key is alive, asked of `GetLoginUserInfo`
//! (docs/protocol.md section 10.2). Never a Login: asking does not rotate the
//! key, so unlike a refresh there is nothing to cache or to share.

use super::RefreshService;
use crate::domain::{MusicKey, Uin};
use crate::upstream::{KeyCheck, UpstreamError};
use chrono::{DateTime, Utc};

/// A check's answer: what upstream said, about whom, and when (on the
/// service's clock).
#[derive(Debug, Clone, Copy)]
pub struct Checked {
    pub uin: Uin,
    pub state: KeyCheck,
    pub at: DateTime<Utc>,
}

impl RefreshService {
    /// An expired or logged-out key is an answer (`KeyCheck::Dead`); only a
    /// failure to ask (unreachable, refused for another reason) is an error.
    pub async fn check(&self, uin: Uin, key: &MusicKey) -> Result<Checked, UpstreamError> {
        let state = self.upstream.check_key(uin, key).await?;
        Ok(Checked {
            uin,
            state,
            at: self.clock.now(),
        })
    }
}
