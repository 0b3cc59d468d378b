//! QQ QR login: ptqrshow, ptqrlogin, check_sig (docs/protocol.md section 9.1 steps 1-3) and
//! QQ Connect's authorize (step 4).

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::store::QrState;
use super::wire::{self, bad_field, cookie, text, Fields, JS, PLAIN};
use super::{hash33, qr_image, CONNECT_APPID, LOGIN_JUMP, PT_APPID};
use crate::app::{AppState, Shared};
use crate::error::SimError;

/// The redirect_uri authorize is sent for a QQ login.
pub const QQ_REDIRECT: &str =
    "https://y.qq.com/portal/wx_redirect.html?login_type=1&surl=https://y.qq.com/";
const SCOPE: &str = "get_user_info,get_app_friends";

/// What the phone's QQ opens: a short ptlogin URL naming the QR's ident.
pub fn qr_text(ident: &str) -> String {
    format!("https://txz.qq.com/p?k={ident}&f={PT_APPID}")
}

/// The check_sig URL ptqrlogin and jump hand out, on the simulator's own base.
pub fn check_sig_url(base: &str, uin: u64, ptsigx: &str) -> String {
    format!(
        "{base}/check_sig?pttype=1&uin={uin}&service=ptqrlogin&nodirect=0&ptsigx={ptsigx}\
         &s_url=https%3A%2F%2Fgraph.qq.com%2Foauth2.0%2Flogin_jump&f_url=&ptlang=2052\
         &ptredirect=100&aid={PT_APPID}&daid=383&j_later=0&low_login_hour=0&regmaster=0\
         &pt_login_type=3&pt_aid=0&pt_aaid=16&pt_light=0&pt_3rd_aid={CONNECT_APPID}"
    )
}

/// `GET /ptqrshow`
pub async fn ptqrshow(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(show(&sim, &method, &uri, &headers))
}

fn show(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "ptlogin.ptqrshow", method, uri, headers)?;
    let q = Fields::query(uri);
    let fixed = [
        ("appid", PT_APPID),
        ("e", "2"),
        ("l", "M"),
        ("s", "3"),
        ("d", "72"),
        ("v", "4"),
        ("daid", "383"),
        ("pt_3rd_aid", CONNECT_APPID),
    ];
    if let Err(field) = q.require(&fixed) {
        return Ok(bad_field("ptqrshow", field));
    }
    let t_ok = q
        .get("t")
        .and_then(|t| t.parse::<f64>().ok())
        .is_some_and(|t| (0.0..=1.0).contains(&t));
    if !t_ok {
        return Ok(bad_field("ptqrshow", "t"));
    }
    let (ident, qrsig) = sim
        .logins()?
        .new_qq(sim.clock.now(), sim.config.qr_lifetime_secs());
    let png = match qr_image::png(&qr_text(&ident)) {
        Ok(png) => png,
        Err(e) => {
            return Ok(text(
                StatusCode::INTERNAL_SERVER_ERROR,
                PLAIN,
                e.to_string(),
            ))
        }
    };
    tracing::info!(%ident, "QQ login QR made");
    Ok((
        [
            (header::CONTENT_TYPE, "image/png".to_owned()),
            (header::SET_COOKIE, format!("qrsig={qrsig}; Path=/")),
        ],
        png,
    )
        .into_response())
}

/// `ptuiCB('<code>','0','<url>','0','<message>', '<nickname>')`
fn ptui_cb(code: &str, url: &str, message: &str, nickname: &str) -> Response {
    text(
        StatusCode::OK,
        JS,
        format!("ptuiCB('{code}','0','{url}','0','{message}', '{nickname}')"),
    )
}

/// The answer to a ptqrlogin whose qrsig is gone or never was.
fn gone() -> Response {
    ptui_cb("65", "", "二维码已失效。", "")
}

/// `GET /ptqrlogin`
pub async fn ptqrlogin(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(poll(&sim, &method, &uri, &headers))
}

fn poll(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "ptlogin.ptqrlogin", method, uri, headers)?;
    let q = Fields::query(uri);
    let fixed = [
        ("u1", LOGIN_JUMP),
        ("ptredirect", "0"),
        ("h", "1"),
        ("t", "1"),
        ("g", "1"),
        ("from_ui", "1"),
        ("ptlang", "2052"),
        ("js_ver", "20102616"),
        ("js_type", "1"),
        ("pt_uistyle", "40"),
        ("aid", PT_APPID),
        ("daid", "383"),
        ("pt_3rd_aid", CONNECT_APPID),
        ("has_onekey", "1"),
    ];
    if let Err(field) = q.require(&fixed) {
        return Ok(bad_field("ptqrlogin", field));
    }
    let action_ok = q
        .get("action")
        .and_then(|a| a.strip_prefix("0-0-"))
        .is_some_and(|ms| !ms.is_empty() && ms.bytes().all(|b| b.is_ascii_digit()));
    if !action_ok {
        return Ok(bad_field("ptqrlogin", "action"));
    }
    let token = match q.number("ptqrtoken") {
        Ok(t) => t,
        Err(field) => return Ok(bad_field("ptqrlogin", field)),
    };
    let Some(qrsig) = cookie(headers, "qrsig") else {
        return Ok(gone());
    };
    let (ident, state, uin, sigx) = {
        let mut logins = sim.logins()?;
        let Some(login) = logins.by_qrsig(&qrsig, sim.clock.now()) else {
            return Ok(gone());
        };
        if u64::from(hash33(&qrsig, 0)) != token {
            // Not counted as a poll of that login: it does not advance anything.
            return Ok(ptui_cb("403", "", "请求非法，请刷新重试。", ""));
        }
        (
            login.ident.clone(),
            login.state(),
            login.uin,
            login.token.clone(),
        )
    };
    sim.journal()?.count(&format!("ptlogin.ptqrlogin:{ident}"));
    Ok(match (state, uin, sigx) {
        (QrState::Waiting, ..) => ptui_cb("66", "", "二维码未失效。", ""),
        (QrState::Scanned, ..) => ptui_cb("67", "", "二维码认证中。", ""),
        (QrState::Refused, ..) => ptui_cb("68", "", "本次登录已被拒绝。", ""),
        (QrState::Confirmed, Some(uin), Some(sigx)) => {
            let url = check_sig_url(&wire::own_base(headers), uin, &sigx);
            ptui_cb("0", &url, "登录成功！", "模拟用户")
        }
        _ => gone(),
    })
}

/// `GET /check_sig`
pub async fn check_sig(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(sig(&sim, &method, &uri, &headers))
}

fn sig(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "ptlogin.check_sig", method, uri, headers)?;
    let q = Fields::query(uri);
    let fixed = [
        ("pttype", "1"),
        ("service", "ptqrlogin"),
        ("nodirect", "0"),
        ("s_url", LOGIN_JUMP),
        ("ptlang", "2052"),
        ("ptredirect", "100"),
        ("aid", PT_APPID),
        ("daid", "383"),
        ("j_later", "0"),
        ("low_login_hour", "0"),
        ("regmaster", "0"),
        ("pt_login_type", "3"),
        ("pt_aid", "0"),
        ("pt_aaid", "16"),
        ("pt_light", "0"),
        ("pt_3rd_aid", CONNECT_APPID),
    ];
    if let Err(field) = q.require(&fixed) {
        return Ok(bad_field("check_sig", field));
    }
    let uin = match q.number("uin") {
        Ok(uin) => uin,
        Err(field) => return Ok(bad_field("check_sig", field)),
    };
    let Some(ptsigx) = q.get("ptsigx").filter(|s| !s.is_empty()) else {
        return Ok(bad_field("check_sig", "ptsigx"));
    };
    let now = sim.clock.now();
    let mut logins = sim.logins()?;
    if logins.take_ptsigx(ptsigx, uin, now).is_err() {
        return Ok(text(
            StatusCode::FORBIDDEN,
            PLAIN,
            "check_sig: ptsigx refused (unknown, used, expired or not this uin's)\n".into(),
        ));
    }
    let (p_skey, pt4) = logins.issue_p_skey(uin, now);
    drop(logins);
    tracing::info!(uin, "check_sig issued a p_skey");
    Ok(wire::redirect(
        LOGIN_JUMP,
        &[
            format!("p_uin=o{uin:010}; Path=/"),
            format!("p_skey={p_skey}; Path=/; HttpOnly"),
            format!("pt4_token={pt4}; Path=/"),
        ],
    ))
}

/// A `ui` field: a uuid4 in 8-4-4-4-12 hex.
fn is_uuid4(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            14 => *c == b'4',
            _ => c.is_ascii_hexdigit(),
        })
}

/// `p_uin` as check_sig sets it (`o0123456789`) or plain digits.
fn parse_p_uin(s: &str) -> Option<u64> {
    s.strip_prefix('o').unwrap_or(s).parse().ok()
}

/// `POST /oauth2.0/authorize`
pub async fn authorize(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    wire::answer(authorize_inner(&sim, &method, &uri, &headers, &body))
}

fn authorize_inner(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, SimError> {
    wire::record(sim, "graph.authorize", method, uri, headers)?;
    let form = Fields::parse(body);
    let fixed = [
        ("response_type", "code"),
        ("client_id", CONNECT_APPID),
        ("redirect_uri", QQ_REDIRECT),
        ("scope", SCOPE),
        ("state", "state"),
        ("switch", ""),
        ("from_ptlogin", "1"),
        ("src", "1"),
        ("update_auth", "1"),
        ("openapi", "1010_1030"),
    ];
    if let Err(field) = form.require(&fixed) {
        return Ok(bad_field("authorize", field));
    }
    if let Err(field) = form.number("auth_time") {
        return Ok(bad_field("authorize", field));
    }
    if !form.get("ui").is_some_and(is_uuid4) {
        return Ok(bad_field("authorize", "ui"));
    }
    let g_tk = match form.number("g_tk") {
        Ok(g) => g,
        Err(field) => return Ok(bad_field("authorize", field)),
    };
    let refuse = |why: &str| text(StatusCode::FORBIDDEN, PLAIN, format!("authorize: {why}\n"));
    let (Some(p_skey), Some(p_uin)) = (cookie(headers, "p_skey"), cookie(headers, "p_uin")) else {
        return Ok(refuse("not logged in (p_skey and p_uin cookies needed)"));
    };
    let now = sim.clock.now();
    let mut logins = sim.logins()?;
    let uin = match logins.p_skey_uin(&p_skey, now) {
        Some(uin) if parse_p_uin(&p_uin) == Some(uin) => uin,
        _ => {
            return Ok(refuse(
                "not logged in (p_skey unknown, expired or not p_uin's)",
            ))
        }
    };
    if u64::from(hash33(&p_skey, 5381)) != g_tk {
        return Ok(refuse("g_tk does not match p_skey"));
    }
    let code = logins.issue_qq_code(uin, now);
    drop(logins);
    tracing::info!(uin, "authorize issued a code");
    Ok(wire::redirect(
        &format!("{QQ_REDIRECT}&code={code}&state=state"),
        &[],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ui_must_be_a_uuid4() {
        assert!(is_uuid4("0f8fad5b-d9cb-469f-a165-70867728950e"));
        assert!(!is_uuid4("0f8fad5b-d9cb-169f-a165-70867728950e"));
        assert!(!is_uuid4("0f8fad5bd9cb469fa16570867728950e"));
    }

    #[test]
    fn the_check_sig_url_carries_uin_and_ptsigx_on_the_given_base() {
        let url = check_sig_url("http://127.0.0.1:9", 12345, "abc");
        assert!(url.starts_with("http://127.0.0.1:9/check_sig?"), "{url}");
        let q = Fields::parse(url.split_once('?').map(|x| x.1).unwrap_or("").as_bytes());
        assert_eq!(q.get("uin"), Some("12345"));
        assert_eq!(q.get("ptsigx"), Some("abc"));
        assert_eq!(q.get("s_url"), Some(LOGIN_JUMP));
    }
}
