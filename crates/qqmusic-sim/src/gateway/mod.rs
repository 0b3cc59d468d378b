//! The QQ Music gateway: `POST /cgi-bin/musicu.fcg` (unsigned) and
//! `POST /cgi-bin/musics.fcg?sign=S&_=MS` (zzc-signed).
//!
//! One body carries several sub-requests; each is dispatched by
//! `module.method` to a handler in [`ROUTES`]. New endpoints are a new
//! module plus one entry there.

mod app_qr;
mod code_login;
mod creds;
mod login;
mod session;
mod upload;
mod upload_params;
mod user;
mod vip;

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

use self::creds::Creds;
use crate::app::{AppState, Shared};
use crate::codes;
use crate::error::SimError;
use crate::faults::Fired;
use crate::ids;
use crate::journal::LoggedRequest;
use crate::server::DropConnection;
use crate::zzc;

/// What a handler sees of one sub-request.
pub struct Call<'a> {
    pub sim: &'a Shared,
    pub comm: &'a Map<String, Value>,
    pub creds: &'a Creds,
    pub param: &'a Value,
}

/// One sub-request's answer: `{"code": code, "data": data}`.
pub struct Reply {
    pub code: i64,
    pub data: Value,
}

/// A gateway endpoint: its handler and its failure-shaped `data`, which
/// sign errors and code faults answer with.
pub struct Route {
    pub module: &'static str,
    pub method: &'static str,
    pub handle: fn(&Call<'_>) -> Result<Reply, SimError>,
    pub failure: fn() -> Value,
    /// Served only on musics.fcg: on musicu.fcg it answers 2000, as if the
    /// sign were missing (docs/protocol.md section 5: InitUpload is "signed").
    pub signed_only: bool,
}

pub const ROUTES: &[Route] = &[
    Route {
        module: "music.login.LoginServer",
        method: "Login",
        handle: login::handle,
        failure: login::failure,
        signed_only: false,
    },
    Route {
        module: "music.login.LoginServer",
        method: "Logout",
        handle: user::logout,
        failure: user::failure,
        signed_only: false,
    },
    Route {
        module: "music.UserInfo.userInfoServer",
        method: "GetLoginUserInfo",
        handle: user::info,
        failure: user::failure,
        signed_only: false,
    },
    Route {
        module: "music.login.LoginServer",
        method: "CreateQRCode",
        handle: app_qr::create,
        failure: app_qr::create_failure,
        signed_only: false,
    },
    Route {
        module: "QQConnectLogin.LoginServer",
        method: "QQLogin",
        handle: code_login::qq,
        failure: login::failure,
        signed_only: false,
    },
    Route {
        module: "VipLogin.VipLoginInter",
        method: "vip_login_base",
        handle: vip::handle,
        failure: vip::failure,
        signed_only: false,
    },
    Route {
        module: "music.filesys.FileSystem",
        method: "InitUpload",
        handle: upload::init,
        failure: upload::init_failure,
        signed_only: true,
    },
    Route {
        module: "music.filesys.FileSystem",
        method: "FinishUpload",
        handle: upload::finish,
        failure: upload::finish_failure,
        signed_only: false,
    },
];

fn route(module: &str, method: &str) -> Option<&'static Route> {
    ROUTES
        .iter()
        .find(|r| r.module == module && r.method == method)
}

/// A sub-request as found in the body.
enum Sub<'a> {
    Call {
        target: String,
        module: &'a str,
        method: &'a str,
        param: &'a Value,
    },
    /// Not an object with string `module` and `method`.
    Malformed,
}

fn parse_sub(v: &Value) -> Sub<'_> {
    let module = v.get("module").and_then(Value::as_str);
    let method = v.get("method").and_then(Value::as_str);
    match (module, method) {
        (Some(module), Some(method)) => Sub::Call {
            target: format!("{module}.{method}"),
            module,
            method,
            param: v.get("param").unwrap_or(&Value::Null),
        },
        _ => Sub::Malformed,
    }
}

pub async fn unsigned(
    State(sim): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(handle(&sim, false, &uri, &headers, &body).await)
}

pub async fn signed(
    State(sim): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    answer(handle(&sim, true, &uri, &headers, &body).await)
}

fn answer(result: Result<Response, SimError>) -> Response {
    result.unwrap_or_else(|e| {
        tracing::error!(error = %e, "gateway failed");
        let body = Json(json!({"code": codes::BAD_REQUEST, "error": e.to_string()}));
        (StatusCode::INTERNAL_SERVER_ERROR, body).into_response()
    })
}

async fn handle(
    sim: &Shared,
    signed: bool,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, SimError> {
    let start_ts = sim.clock.now_ms();
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let cookie = creds::cookie_header(headers);
    sim.journal()?.record(LoggedRequest::Gateway {
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        cookie,
        body: parsed
            .clone()
            .unwrap_or_else(|| Value::String(String::from_utf8_lossy(body).into_owned())),
    });
    let Some(Value::Object(root)) = parsed else {
        return Ok(envelope(codes::BAD_REQUEST, start_ts, sim, Map::new()));
    };

    let subs: Vec<(&String, Sub<'_>)> = root
        .iter()
        .filter(|(k, _)| k.as_str() != "comm")
        .map(|(k, v)| (k, parse_sub(v)))
        .collect();
    let targets: Vec<String> = subs
        .iter()
        .filter_map(|(_, s)| match s {
            Sub::Call { target, .. } => Some(target.clone()),
            Sub::Malformed => None,
        })
        .collect();
    {
        let mut journal = sim.journal()?;
        targets.iter().for_each(|t| journal.count(t));
    }
    let fired = sim.faults()?.fire(&targets);
    if let Some(early) = apply_transport_faults(&fired).await {
        return Ok(early);
    }

    let sign_ok = !signed || sign_matches(uri, body);
    let empty = Map::new();
    let comm = root
        .get("comm")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let creds = Creds::from_request(headers);
    let mut out = Map::new();
    for (key, sub) in &subs {
        let reply = match sub {
            // "Each sub-request answers 2000" on a bad sign, malformed ones too.
            Sub::Malformed => Reply {
                code: if sign_ok {
                    codes::BAD_REQUEST
                } else {
                    codes::BAD_SIGN
                },
                data: json!({}),
            },
            Sub::Call {
                target,
                module,
                method,
                param,
            } => {
                let call = Call {
                    sim,
                    comm,
                    creds: &creds,
                    param,
                };
                let gate = Gate {
                    fault_code: fired.codes.get(target).copied(),
                    signed,
                    sign_ok,
                };
                let mut reply = dispatch(&call, module, method, &gate)?;
                if let Some(&id) = fired.musicids.get(target) {
                    name_account(&mut reply, id);
                }
                reply
            }
        };
        out.insert(
            (*key).clone(),
            json!({"code": reply.code, "data": reply.data}),
        );
    }
    Ok(envelope(codes::OK, start_ts, sim, out))
}

/// A `musicid` fault: a successful answer names account `id` (0: none).
fn name_account(reply: &mut Reply, id: u64) {
    if reply.code != codes::OK {
        return;
    }
    if let Some(data) = reply.data.as_object_mut() {
        let text = if id == 0 {
            String::new()
        } else {
            id.to_string()
        };
        data.insert("musicid".into(), json!(id));
        data.insert("str_musicid".into(), json!(text));
    }
}

/// Sleeps the fired delays, then answers for drop / http_status / garbage,
/// in that order of precedence. None: answer normally.
async fn apply_transport_faults(fired: &Fired) -> Option<Response> {
    if !fired.delay.is_zero() {
        tokio::time::sleep(fired.delay).await;
    }
    if fired.drop {
        let mut resp = StatusCode::OK.into_response();
        resp.extensions_mut().insert(DropConnection);
        return Some(resp);
    }
    if let Some(status) = fired.http_status {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Some(
            (status, format!("simulated fault: HTTP {}", status.as_u16())).into_response(),
        );
    }
    if fired.garbage {
        let body = "<html><body>simulated garbage: this is not JSON</body></html>";
        return Some(([(header::CONTENT_TYPE, "text/html")], body).into_response());
    }
    None
}

/// What decides a sub-request before its handler runs.
#[derive(Clone, Copy)]
struct Gate {
    fault_code: Option<i64>,
    /// Arrived on musics.fcg.
    signed: bool,
    /// The sign is right, or the route is unsigned.
    sign_ok: bool,
}

/// A code fault beats a bad sign (or a signed-only method on musicu.fcg),
/// which beats the handler.
fn dispatch(call: &Call<'_>, module: &str, method: &str, gate: &Gate) -> Result<Reply, SimError> {
    let Gate {
        fault_code,
        signed,
        sign_ok,
    } = *gate;
    let Some(route) = route(module, method) else {
        let code = fault_code.unwrap_or(if sign_ok {
            codes::UNKNOWN_METHOD
        } else {
            codes::BAD_SIGN
        });
        return Ok(Reply {
            code,
            data: json!({}),
        });
    };
    if let Some(code) = fault_code {
        return Ok(Reply {
            code,
            data: (route.failure)(),
        });
    }
    if !sign_ok || (route.signed_only && !signed) {
        return Ok(Reply {
            code: codes::BAD_SIGN,
            data: (route.failure)(),
        });
    }
    (route.handle)(call)
}

/// musics.fcg: the `sign` query parameter must be the zzc sign of the body.
fn sign_matches(uri: &Uri, body: &[u8]) -> bool {
    Query::<HashMap<String, String>>::try_from_uri(uri)
        .ok()
        .and_then(|q| q.0.get("sign").cloned())
        .is_some_and(|sign| zzc::verify(body, &sign))
}

fn envelope(code: i64, start_ts: i64, sim: &Shared, subs: Map<String, Value>) -> Response {
    let mut root = Map::new();
    root.insert("code".into(), json!(code));
    root.insert("ts".into(), json!(sim.clock.now_ms()));
    root.insert("start_ts".into(), json!(start_ts));
    root.insert("traceid".into(), json!(ids::lower_hex(8)));
    root.extend(subs);
    Json(Value::Object(root)).into_response()
}
