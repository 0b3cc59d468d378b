//! `/_sim/qr` and `/_sim/clients`: what a test does in place of a phone
//! or a desktop QQ. The same operations back the `Simulator` helpers.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::store::{ActionError, QrAction, QrState, Redirect};
use crate::app::{AppState, Shared};
use crate::error::SimError;
use crate::state::Kind;

/// One login QR as `GET /_sim/qr` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QrLoginInfo {
    /// QQ: the `k` of the QR text; WeChat: the uuid.
    pub ident: String,
    /// `"qq"`, `"wx"` or `"app"`.
    pub kind: &'static str,
    /// `"waiting"`, `"scanned"`, `"confirmed"`, `"refused"`, `"expired"`
    /// or (app QRs only) `"failed"`.
    pub state: &'static str,
    /// Unix seconds on the sim clock.
    pub created: i64,
}

/// A refused control request: its status and a message for `{"error"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlError {
    pub status: StatusCode,
    pub message: String,
}

impl ControlError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for ControlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.message)
    }
}

impl From<SimError> for ControlError {
    fn from(e: SimError) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Qq => "qq",
        Kind::Wx => "wx",
    }
}

/// Every remembered login QR, newest first.
pub fn qr_logins(sim: &Shared) -> Result<Vec<QrLoginInfo>, SimError> {
    let now = sim.clock.now();
    Ok(sim
        .logins()?
        .list(now)
        .into_iter()
        .map(|(ident, kind, state, created)| QrLoginInfo {
            ident,
            kind: kind.name(),
            state: state.name(),
            created,
        })
        .collect())
}

/// The account a confirm or a new desktop session logs in: `uin` when it
/// names an account of `kind`, else a new one.
fn account_for(sim: &Shared, kind: Kind, uin: Option<u64>) -> Result<u64, ControlError> {
    let now = sim.clock.now();
    let mut accounts = sim.accounts()?;
    match uin {
        Some(uin) => match accounts.kind_of(uin) {
            Some(k) if k == kind => Ok(uin),
            Some(_) => Err(ControlError::new(
                StatusCode::BAD_REQUEST,
                format!("account {uin} is not a {} account", kind_name(kind)),
            )),
            None => Err(ControlError::new(
                StatusCode::NOT_FOUND,
                format!("unknown account {uin}"),
            )),
        },
        None => Ok(accounts
            .create(kind, None, None, now, sim.config.key_lifetime_secs())
            .uin),
    }
}

fn action_error(ident: &str, e: ActionError) -> ControlError {
    match e {
        ActionError::UnknownLogin => {
            ControlError::new(StatusCode::NOT_FOUND, format!("unknown login {ident}"))
        }
        ActionError::Invalid(why) => ControlError::new(StatusCode::CONFLICT, why),
    }
}

/// Plays the phone: applies `action` to the login `ident`. Answers the new
/// state and, for a confirm, the uin it logged in.
pub fn qr_action(
    sim: &Shared,
    ident: &str,
    action: QrAction,
    uin: Option<u64>,
) -> Result<(QrState, Option<u64>), ControlError> {
    if uin.is_some() && action != QrAction::Confirm {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            "uin goes only with confirm",
        ));
    }
    let kind = sim
        .logins()?
        .check_action(ident, action, sim.clock.now())
        .map_err(|e| action_error(ident, e))?;
    let uin = match action {
        QrAction::Confirm => Some(account_for(sim, kind.account(), uin)?),
        _ => None,
    };
    let now = sim.clock.now();
    let mut logins = sim.logins()?;
    logins
        .apply_action(ident, action, uin, now)
        .map_err(|e| action_error(ident, e))?;
    let state = logins
        .get(ident, now)
        .map(|l| l.state())
        .unwrap_or(QrState::Expired);
    drop(logins);
    tracing::info!(%ident, action = action.name(), "QR login changed");
    Ok((state, uin))
}

/// Plays a logged-in desktop QQ: a new client key for `uin` (a new QQ
/// account when None). Answers (client_uin, client_key).
pub fn new_client(sim: &Shared, uin: Option<u64>) -> Result<(u64, String), ControlError> {
    let uin = account_for(sim, Kind::Qq, uin)?;
    let key = sim
        .logins()?
        .new_client(uin, sim.clock.now(), sim.config.client_key_lifetime_secs());
    tracing::info!(uin, "desktop client session opened");
    Ok((uin, key))
}

/// Ends the desktop session of `uin`: its client key stops working.
pub fn expire_client(sim: &Shared, uin: u64) -> Result<(), ControlError> {
    if !sim.logins()?.end_client(uin, sim.clock.now()) {
        return Err(ControlError::new(
            StatusCode::NOT_FOUND,
            format!("no desktop session for {uin}"),
        ));
    }
    tracing::info!(uin, "desktop client session ended");
    Ok(())
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, ControlError> {
    // An empty body reads as `{}`: every field of these bodies is optional but one.
    let raw: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        body
    };
    serde_json::from_slice(raw)
        .map_err(|e| ControlError::new(StatusCode::BAD_REQUEST, format!("bad body: {e}")))
}

type ControlResult = Result<Json<Value>, ControlError>;

/// `GET /_sim/qr`
pub async fn list(State(sim): State<AppState>) -> ControlResult {
    Ok(Json(json!(qr_logins(&sim)?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ActBody {
    action: String,
    #[serde(default)]
    uin: Option<u64>,
}

/// `POST /_sim/qr/{ident}`
pub async fn act(
    State(sim): State<AppState>,
    Path(ident): Path<String>,
    body: Bytes,
) -> ControlResult {
    let req: ActBody = parse_body(&body)?;
    let action = QrAction::parse(&req.action).ok_or_else(|| {
        ControlError::new(
            StatusCode::BAD_REQUEST,
            "action must be scan, confirm, refuse, expire or fail",
        )
    })?;
    let (state, uin) = qr_action(&sim, &ident, action, req.uin)?;
    Ok(Json(
        json!({ "ident": ident, "state": state.name(), "uin": uin }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientBody {
    #[serde(default)]
    uin: Option<u64>,
}

/// `POST /_sim/clients`
pub async fn new_client_route(State(sim): State<AppState>, body: Bytes) -> ControlResult {
    let req: ClientBody = parse_body(&body)?;
    let (uin, key) = new_client(&sim, req.uin)?;
    Ok(Json(json!({ "client_uin": uin, "client_key": key })))
}

/// `POST /_sim/clients/{uin}/expire`
pub async fn expire_client_route(
    State(sim): State<AppState>,
    Path(uin): Path<String>,
) -> ControlResult {
    let uin: u64 = uin
        .parse()
        .map_err(|_| ControlError::new(StatusCode::NOT_FOUND, "no desktop session for that uin"))?;
    expire_client(&sim, uin)?;
    Ok(Json(json!({ "ok": true, "uin": uin })))
}

/// Plays desktop QQ's sign-ins: from now on exactly these accounts are
/// logged in on the simulated desktop, in this order; each `(uin,
/// nickname)`, a new QQ account when uin is None, nickname `sim-<uin>` when
/// None. Answers who is logged in.
pub fn set_desktop(
    sim: &Shared,
    accounts: &[(Option<u64>, Option<String>)],
) -> Result<Vec<(u64, String)>, ControlError> {
    let mut list: Vec<(u64, String)> = Vec::with_capacity(accounts.len());
    for (uin, nickname) in accounts {
        let uin = account_for(sim, Kind::Qq, *uin)?;
        if list.iter().any(|(u, _)| *u == uin) {
            return Err(ControlError::new(
                StatusCode::BAD_REQUEST,
                format!("account {uin} is listed twice"),
            ));
        }
        let nickname = nickname.clone().unwrap_or_else(|| format!("sim-{uin}"));
        list.push((uin, nickname));
    }
    sim.logins()?.set_desktop(list.clone());
    tracing::info!(accounts = list.len(), "desktop QQ sign-ins set");
    Ok(list)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DesktopEntry {
    #[serde(default)]
    uin: Option<u64>,
    #[serde(default)]
    nickname: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DesktopBody {
    accounts: Vec<DesktopEntry>,
}

fn desktop_json(list: &[(u64, String)]) -> Json<Value> {
    let accounts: Vec<Value> = list
        .iter()
        .map(|(uin, nickname)| json!({ "uin": uin, "nickname": nickname }))
        .collect();
    Json(json!({ "accounts": accounts }))
}

/// `POST /_sim/desktop`
pub async fn set_desktop_route(State(sim): State<AppState>, body: Bytes) -> ControlResult {
    let req: DesktopBody = parse_body(&body)?;
    let wanted: Vec<_> = req
        .accounts
        .into_iter()
        .map(|e| (e.uin, e.nickname))
        .collect();
    Ok(desktop_json(&set_desktop(&sim, &wanted)?))
}

/// `GET /_sim/desktop`
pub async fn desktop_route(State(sim): State<AppState>) -> ControlResult {
    Ok(desktop_json(sim.logins()?.desktop()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RedirectBody {
    #[serde(default = "one")]
    count: usize,
    #[serde(default = "use_another_server")]
    reason: u8,
    #[serde(default = "node_b")]
    reference: String,
}

fn one() -> usize {
    1
}

fn use_another_server() -> u8 {
    0x9C
}

fn node_b() -> String {
    "node-b:443".into()
}

/// `POST /_sim/push/drop`: every push connection open now is closed, as a
/// node going away would.
pub async fn drop_route(State(sim): State<AppState>) -> ControlResult {
    sim.logins()?.drop_push_connections();
    Ok(Json(json!({ "ok": true })))
}

/// `POST /_sim/push/redirect`: the next `count` CONNECTs to the push host
/// answer `reason` (0x9C or 0x9D) with `reference` as the Server Reference.
pub async fn redirect_route(State(sim): State<AppState>, body: Bytes) -> ControlResult {
    let req: RedirectBody = parse_body(&body)?;
    if !matches!(req.reason, 0x9C | 0x9D) {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            "reason must be 156 (0x9C) or 157 (0x9D)",
        ));
    }
    let ok = !req.reference.is_empty()
        && req.reference.len() <= 200
        && req
            .reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b':' | b'_'));
    if !ok || req.count > 100 {
        return Err(ControlError::new(
            StatusCode::BAD_REQUEST,
            "reference must be 1-200 of [A-Za-z0-9.:_-] and count at most 100",
        ));
    }
    let redirect = Redirect {
        reason: req.reason,
        reference: req.reference,
    };
    sim.logins()?.push_redirects(redirect, req.count);
    Ok(Json(json!({ "ok": true, "count": req.count })))
}
