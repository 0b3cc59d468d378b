//! Reading the client key on the desktop (docs/protocol.md section 9.5):
//! xlogin's `pt_local_token`, and desktop QQ's local ptlogin service
//! (`/pt_get_uins`, `/pt_get_st`), all on the simulator's one port. The
//! crate documentation describes every answer.

use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::wire::{self, bad_field, cookie, text, Fields, HTML, JS, PLAIN};
use super::{CONNECT_APPID, LOGIN_JUMP, PT_APPID};
use crate::app::{AppState, Shared};
use crate::error::SimError;

/// What the local service wants the Referer to start with: the xlogin page
/// on its real host, whichever host served it.
pub const XLOGIN_REFERER: &str = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin?";
const FEEDBACK: &str = "https://support.qq.com/products/77942?customInfo=.appid100497308";

/// `GET /cgi-bin/xlogin`
pub async fn xlogin(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(xlogin_inner(&sim, &method, &uri, &headers))
}

fn xlogin_inner(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "xlogin", method, uri, headers)?;
    let fixed = [
        ("appid", PT_APPID),
        ("daid", "383"),
        ("style", "33"),
        ("login_text", "登录"),
        ("hide_title_bar", "1"),
        ("hide_border", "1"),
        ("target", "self"),
        ("s_url", LOGIN_JUMP),
        ("pt_3rd_aid", CONNECT_APPID),
        ("pt_feedback_link", FEEDBACK),
        ("theme", "2"),
        ("verify_theme", ""),
    ];
    if let Err(field) = Fields::query(uri).require(&fixed) {
        return Ok(bad_field("xlogin", field));
    }
    let token = sim.logins()?.issue_local_token();
    let mut resp = text(
        StatusCode::OK,
        HTML,
        "<!doctype html><title>QQ帐号安全登录</title><div id=\"qlogin\"></div>\n".to_owned(),
    );
    // Like the real page, more than one cookie: the client must pick its own.
    for set in [
        format!("pt_login_sig={}; Path=/", super::ids::ptsigx()),
        format!("pt_local_token={token}; Path=/"),
    ] {
        if let Ok(v) = set.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}

/// The checks both local routes make; `Err` is the refusal to answer.
fn local_checks(
    sim: &Shared,
    route: &'static str,
    q: &Fields,
    headers: &HeaderMap,
) -> Result<Result<(), Response>, SimError> {
    let r_ok = q
        .get("r")
        .and_then(|r| r.parse::<f64>().ok())
        .is_some_and(|r| (0.0..=1.0).contains(&r));
    if !r_ok {
        return Ok(Err(bad_field(route, "r")));
    }
    let referer_ok = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(XLOGIN_REFERER));
    if !referer_ok {
        return Ok(Err(refused(route, "the Referer is not the xlogin page")));
    }
    let tk = q.get("pt_local_tk").unwrap_or_default();
    let matches = cookie(headers, "pt_local_token").is_some_and(|c| !tk.is_empty() && c == tk);
    if !matches || !sim.logins()?.local_token_known(tk) {
        return Ok(Err(refused(
            route,
            "pt_local_tk is not the pt_local_token cookie xlogin set",
        )));
    }
    Ok(Ok(()))
}

fn refused(route: &str, why: &str) -> Response {
    text(StatusCode::FORBIDDEN, PLAIN, format!("{route}: {why}\n"))
}

/// `GET /pt_get_uins`
pub async fn get_uins(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(get_uins_inner(&sim, &method, &uri, &headers))
}

fn get_uins_inner(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    const ROUTE: &str = "pt_get_uins";
    wire::record(sim, "local.pt_get_uins", method, uri, headers)?;
    let q = Fields::query(uri);
    if let Err(field) = q.require(&[("callback", "ptui_getuins_CB")]) {
        return Ok(bad_field(ROUTE, field));
    }
    if let Err(refusal) = local_checks(sim, ROUTE, &q, headers)? {
        return Ok(refusal);
    }
    let list: Vec<_> = sim
        .logins()?
        .desktop()
        .iter()
        .map(|(uin, nickname)| {
            json!({
                "uin": uin, "face_index": -1, "gender": 0, "nickname": nickname,
                "client_type": 65793, "uin_flag": 8_388_608, "account": uin.to_string(),
            })
        })
        .collect();
    Ok(text(
        StatusCode::OK,
        JS,
        format!(
            "var var_sso_uin_list={};ptui_getuins_CB(var_sso_uin_list);",
            json!(list)
        ),
    ))
}

/// `GET /pt_get_st`
pub async fn get_st(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(get_st_inner(&sim, &method, &uri, &headers))
}

fn get_st_inner(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    const ROUTE: &str = "pt_get_st";
    wire::record(sim, "local.pt_get_st", method, uri, headers)?;
    let q = Fields::query(uri);
    let uin = match q.number("clientuin") {
        Ok(uin) => uin,
        Err(field) => return Ok(bad_field(ROUTE, field)),
    };
    let Some(callback) = q
        .get("callback")
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    else {
        return Ok(bad_field(ROUTE, "callback"));
    };
    if let Err(refusal) = local_checks(sim, ROUTE, &q, headers)? {
        return Ok(refusal);
    }
    let now = sim.clock.now();
    let mut logins = sim.logins()?;
    let body = format!(
        "var var_sso_get_st_uin={{\"uin\":{uin},\"keyindex\":9}};{callback}(var_sso_get_st_uin);"
    );
    // An account not logged in here gets the same answer without cookies.
    if !logins.desktop().iter().any(|(u, _)| *u == uin) {
        drop(logins);
        tracing::info!(uin, "pt_get_st: not logged in on the desktop");
        return Ok(text(StatusCode::OK, JS, body));
    }
    let key = logins.new_client(uin, now, sim.config.client_key_lifetime_secs());
    drop(logins);
    tracing::info!(uin, "pt_get_st handed out a client key");
    let mut resp = ([(header::CONTENT_TYPE, JS)], body).into_response();
    for set in [
        format!("clientuin={uin}; Path=/"),
        format!("clientkey={key}; Path=/"),
    ] {
        if let Ok(v) = set.parse() {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    Ok(resp)
}
