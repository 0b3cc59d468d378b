//! QQ Connect's OAuth step (docs/protocol.md section 9.1 step 4).

use super::parse;
use super::secret::{hash33, Secret};
use super::wire::{self, Hosts};
use super::LoginError;
use rand::Rng;
use reqwest::header::LOCATION;

const REDIRECT_URI: &str =
    "https://y.qq.com/portal/wx_redirect.html?login_type=1&surl=https://y.qq.com/";

/// POSTs authorize with check_sig's cookies; answers the code of its redirect.
pub async fn authorize(hosts: &Hosts, cookies: &[(String, Secret)]) -> Result<Secret, LoginError> {
    const STEP: &str = "authorize";
    let p_skey = wire::find_cookie(cookies, "p_skey")
        .ok_or(LoginError::Protocol("check_sig set no p_skey cookie"))?;
    let g_tk = hash33(p_skey.expose(), 5381).to_string();
    let auth_time = wire::now_ms().to_string();
    let ui = uuid4();
    let form = [
        ("response_type", "code"),
        ("client_id", "100497308"),
        ("redirect_uri", REDIRECT_URI),
        ("scope", "get_user_info,get_app_friends"),
        ("state", "state"),
        ("switch", ""),
        ("from_ptlogin", "1"),
        ("src", "1"),
        ("update_auth", "1"),
        ("openapi", "1010_1030"),
        ("g_tk", g_tk.as_str()),
        ("auth_time", auth_time.as_str()),
        ("ui", ui.as_str()),
    ];
    let cookie = wire::cookie_header(cookies.iter().map(|(n, v)| (n.as_str(), v.expose())))?;
    let request = wire::with_cookie(
        hosts.post(Hosts::url(&hosts.graph, "oauth2.0/authorize")?),
        cookie,
    )
    .form(&form);
    let response = wire::send(STEP, request).await?;
    if !response.status().is_redirection() {
        return Err(LoginError::HostStatus {
            step: STEP,
            status: response.status().as_u16(),
        });
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(LoginError::Protocol("authorize redirected nowhere"))?;
    parse::authorize_code(location).ok_or(LoginError::Protocol(
        "authorize redirected without a usable code",
    ))
}

/// A random version-4 UUID, as the web page's `ui`.
fn uuid4() -> String {
    let mut b: [u8; 16] = rand::thread_rng().gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn ui_is_a_version_4_uuid() {
        let u = super::uuid4();
        let parts: Vec<_> = u.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12], "{u}");
        assert_eq!(&u[14..15], "4");
        assert!(matches!(&u[19..20], "8" | "9" | "a" | "b"), "{u}");
    }
}
