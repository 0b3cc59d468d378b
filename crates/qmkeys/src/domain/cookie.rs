//! The credential a Login answer gives an account, as refreshes, first logins
//! and the upload accounts hand it on. Reading it from a Login answer
//! (`Cookie::from_grant`) and writing it back in that shape
//! (`Cookie::to_login_data`) are upstream's business: they live in
//! `upstream/login.rs`, beside `LoginGrant`.

use super::{MusicKey, RefreshSecret, Uin};

/// The rotated credential a Login produced.
#[derive(Debug, Clone)]
pub struct Cookie {
    pub uin: Uin,
    pub key: MusicKey,
    pub refresh_key: Option<RefreshSecret>,
    pub refresh_token: Option<RefreshSecret>,
    /// Unix seconds.
    pub created_at: i64,
    /// Seconds.
    pub expires_in: i64,
}

impl Cookie {
    pub fn expires_at(&self) -> i64 {
        self.created_at.saturating_add(self.expires_in)
    }
}

/// The `Cookie:` line the reference client sends with a key (docs/protocol.md
/// section 1), which players and bots paste: `tmeLoginType` is the login
/// type the key was issued with (1 WeChat, 2 QQ, 6 the app's QR).
pub fn cookie_line(uin: Uin, key: &MusicKey, login_type: &str) -> String {
    format!(
        "uin={uin}; qqmusic_uin={uin}; qqmusic_key={k}; qm_keyst={k}; tmeLoginType={login_type}",
        k = key.expose()
    )
}
