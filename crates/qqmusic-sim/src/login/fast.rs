//! Desktop fast login: `/jump` turns a live client key into a check_sig
//! URL (docs/protocol.md section 9.3).

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;

use super::qq::check_sig_url;
use super::wire::{self, bad_field, cookie, text, Fields, JS};
use super::{CONNECT_APPID, LOGIN_JUMP, PT_APPID};
use crate::app::{AppState, Shared};
use crate::error::SimError;

/// The first argument of a refused jump.
pub const REFUSED: &str = "-1";

/// `GET /jump`
pub async fn jump(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    wire::answer(jump_inner(&sim, &method, &uri, &headers))
}

fn qlogin_cb(code: &str, url: &str) -> Response {
    text(
        StatusCode::OK,
        JS,
        format!("ptui_qlogin_CB('{code}', '{url}', '')"),
    )
}

fn jump_inner(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, SimError> {
    wire::record(sim, "ptlogin.jump", method, uri, headers)?;
    let q = Fields::query(uri);
    let fixed = [
        ("keyindex", "9"),
        ("pt_aid", PT_APPID),
        ("daid", "383"),
        ("u1", LOGIN_JUMP),
        ("pt_3rd_aid", CONNECT_APPID),
        ("ptopt", "1"),
        ("style", "40"),
    ];
    if let Err(field) = q.require(&fixed) {
        return Ok(bad_field("jump", field));
    }
    let uin = match q.number("clientuin") {
        Ok(uin) => uin,
        Err(field) => return Ok(bad_field("jump", field)),
    };
    let cookie_uin = cookie(headers, "clientuin").and_then(|u| u.parse::<u64>().ok());
    let key = cookie(headers, "clientkey").unwrap_or_default();
    let now = sim.clock.now();
    let mut logins = sim.logins()?;
    if cookie_uin != Some(uin) || !logins.client_key_live(uin, &key, now) {
        drop(logins);
        tracing::info!(uin, "jump refused a client key");
        return Ok(qlogin_cb(REFUSED, ""));
    }
    let sigx = logins.issue_ptsigx(uin, now);
    drop(logins);
    tracing::info!(uin, "jump issued a ptsigx");
    Ok(qlogin_cb(
        "0",
        &check_sig_url(&wire::own_base(headers), uin, &sigx),
    ))
}
