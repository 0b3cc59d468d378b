//! QR login and desktop fast login (`login/`): where the login hosts of
//! docs/protocol.md section 9 are, and how many logins may be open.

use super::{between, fixed_url, invalid, ConfigError};
use serde::Deserialize;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct LoginConfig {
    /// Where the login hosts of docs/protocol.md section 9 are: each replaces
    /// the scheme and host of the real one; the paths stay as section 9 gives them.
    pub ptlogin_base: Url,
    pub ptlogin_graph_base: Url,
    pub graph_base: Url,
    pub wx_open_base: Url,
    pub wx_lp_base: Url,
    /// The xlogin page, whose `pt_local_token` `qmkeys login --desktop`
    /// shows desktop QQ's local service (section 9.5).
    pub xlogin_base: Url,
    /// The app QR's push host (docs/protocol.md section 10.1 step 2): the
    /// whole WebSocket URL, path included.
    pub app_qr_push_url: Url,
    /// QR logins open at once; past it a new one is refused at once.
    #[serde(rename = "login_max_sessions")]
    pub max_sessions: usize,
    /// QR logins one client may hold open at once.
    #[serde(rename = "login_max_per_client")]
    pub max_per_client: usize,
    /// Polls of the login hosts per second, all QR logins together.
    #[serde(rename = "login_polls_per_second")]
    pub polls_per_second: u32,
}

impl Default for LoginConfig {
    fn default() -> Self {
        Self {
            ptlogin_base: fixed_url("https://ssl.ptlogin2.qq.com"),
            ptlogin_graph_base: fixed_url("https://ssl.ptlogin2.graph.qq.com"),
            graph_base: fixed_url("https://graph.qq.com"),
            wx_open_base: fixed_url("https://open.weixin.qq.com"),
            wx_lp_base: fixed_url("https://lp.open.weixin.qq.com"),
            xlogin_base: fixed_url("https://xui.ptlogin2.qq.com"),
            app_qr_push_url: fixed_url("wss://mu.y.qq.com/ws/handshake"),
            max_sessions: 64,
            max_per_client: 4,
            polls_per_second: 10,
        }
    }
}

impl LoginConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (key, url) in self.bases() {
            // Only scheme, host and port are replaced; a path, query or
            // fragment would silently change section 9's requests.
            if !matches!(url.scheme(), "http" | "https")
                || url.host_str().is_none()
                || !matches!(url.path(), "" | "/")
                || url.query().is_some()
                || url.fragment().is_some()
            {
                return Err(invalid(
                    key,
                    "must be an http:// or https:// URL with a host and nothing after it, e.g. https://ssl.ptlogin2.qq.com",
                ));
            }
        }
        let push = &self.app_qr_push_url;
        if !matches!(push.scheme(), "ws" | "wss")
            || push.host_str().is_none()
            || push.query().is_some()
            || push.fragment().is_some()
        {
            return Err(invalid(
                "app_qr_push_url",
                "must be a ws:// or wss:// URL with a host and a path but no query, e.g. wss://mu.y.qq.com/ws/handshake",
            ));
        }
        between("login_max_sessions", self.max_sessions, 1..=100_000, "")?;
        between("login_max_per_client", self.max_per_client, 1..=100_000, "")?;
        between(
            "login_polls_per_second",
            self.polls_per_second,
            1..=1_000,
            "",
        )
    }

    /// The login host settings, named as in the config file.
    pub fn bases(&self) -> [(&'static str, &Url); 6] {
        [
            ("ptlogin_base", &self.ptlogin_base),
            ("ptlogin_graph_base", &self.ptlogin_graph_base),
            ("graph_base", &self.graph_base),
            ("wx_open_base", &self.wx_open_base),
            ("wx_lp_base", &self.wx_lp_base),
            ("xlogin_base", &self.xlogin_base),
        ]
    }
}
