//! The `/_sim/...` admin API that test harnesses drive. Route names and
//! bodies are a contract: see the crate documentation.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::app::AppState;
use crate::clock::parse_beijing;
use crate::error::SimError;
use crate::faults::Fault;
use crate::state::{Accounts, Kind};

/// An admin failure, answered as `{"error": "..."}` with its status.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn bad_request(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }

    fn unknown_account() -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            message: "unknown account".into(),
        }
    }
}

impl From<SimError> for ApiError {
    fn from(e: SimError) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

type ApiResult = Result<Json<Value>, ApiError>;

/// Parses a JSON body ourselves so that every bad body is a 400 with a JSON
/// error, whatever the Content-Type (axum's `Json` answers 415/422 in text).
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("bad body: {e}")))
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum KindName {
    Qq,
    Wx,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccount {
    kind: KindName,
    #[serde(default)]
    vip_end: Option<String>,
    #[serde(default)]
    svip_end: Option<String>,
}

/// The most accounts one `POST /_sim/accounts/bulk` creates.
pub const BULK_MAX: u64 = 100_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewAccounts {
    kind: KindName,
    count: u64,
    #[serde(default)]
    vip_end: Option<String>,
    #[serde(default)]
    svip_end: Option<String>,
}

/// What every new account of one request shares, checked.
struct Template {
    kind: Kind,
    vip_end: Option<i64>,
    svip_end: Option<i64>,
}

impl Template {
    fn parse(
        kind: KindName,
        vip_end: Option<&str>,
        svip_end: Option<&str>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            kind: match kind {
                KindName::Qq => Kind::Qq,
                KindName::Wx => Kind::Wx,
            },
            vip_end: parse_end("vip_end", vip_end)?,
            svip_end: parse_end("svip_end", svip_end)?,
        })
    }

    fn create(&self, accounts: &mut Accounts, sim: &AppState, now: i64) -> Value {
        let grant = accounts.create(
            self.kind,
            self.vip_end,
            self.svip_end,
            now,
            sim.config.key_lifetime_secs(),
        );
        json!({
            "uin": grant.uin,
            "musickey": grant.musickey,
            "refresh_key": grant.refresh_key,
            "refresh_token": grant.refresh_token,
        })
    }
}

fn parse_end(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    match value {
        None => Ok(None),
        Some(s) => parse_beijing(s).map(Some).ok_or_else(|| {
            ApiError::bad_request(format!(
                "{field} must be \"YYYY-MM-DD HH:MM:SS\" (Beijing time) or null"
            ))
        }),
    }
}

/// `POST /_sim/accounts`
pub async fn create_account(State(sim): State<AppState>, body: Bytes) -> ApiResult {
    let req: NewAccount = parse_body(&body)?;
    let template = Template::parse(req.kind, req.vip_end.as_deref(), req.svip_end.as_deref())?;
    let now = sim.clock.now();
    let account = template.create(&mut *sim.accounts()?, &sim, now);
    tracing::info!(uin = %account["uin"], kind = ?template.kind, "account created");
    Ok(Json(account))
}

/// `POST /_sim/accounts/bulk`: `count` accounts alike, for load tests.
pub async fn create_accounts(State(sim): State<AppState>, body: Bytes) -> ApiResult {
    let req: NewAccounts = parse_body(&body)?;
    if !(1..=BULK_MAX).contains(&req.count) {
        return Err(ApiError::bad_request(format!(
            "count must be 1 to {BULK_MAX}"
        )));
    }
    let template = Template::parse(req.kind, req.vip_end.as_deref(), req.svip_end.as_deref())?;
    let now = sim.clock.now();
    let created: Vec<Value> = {
        let mut accounts = sim.accounts()?;
        (0..req.count)
            .map(|_| template.create(&mut accounts, &sim, now))
            .collect()
    };
    tracing::info!(count = req.count, kind = ?template.kind, "accounts created in bulk");
    Ok(Json(Value::Array(created)))
}

/// Runs `f` on the account store for the uin in the path; 404 when unknown.
fn with_account(
    sim: &AppState,
    uin: &str,
    action: &str,
    f: impl FnOnce(&mut Accounts, u64) -> bool,
) -> ApiResult {
    let uin: u64 = uin.parse().map_err(|_| ApiError::unknown_account())?;
    if !f(&mut *sim.accounts()?, uin) {
        return Err(ApiError::unknown_account());
    }
    tracing::info!(uin, action, "account changed");
    Ok(Json(json!({ "ok": true, "uin": uin })))
}

/// `POST /_sim/accounts/{uin}/expire`
pub async fn expire(State(sim): State<AppState>, Path(uin): Path<String>) -> ApiResult {
    let now = sim.clock.now();
    with_account(&sim, &uin, "expire", |a, u| a.expire_all(u, now))
}

/// `POST /_sim/accounts/{uin}/logout`
pub async fn logout(State(sim): State<AppState>, Path(uin): Path<String>) -> ApiResult {
    with_account(&sim, &uin, "logout", Accounts::logout)
}

/// `POST /_sim/accounts/{uin}/ban`
pub async fn ban(State(sim): State<AppState>, Path(uin): Path<String>) -> ApiResult {
    with_account(&sim, &uin, "ban", Accounts::ban)
}

/// `GET /_sim/stats`
pub async fn stats(State(sim): State<AppState>) -> ApiResult {
    Ok(Json(json!(sim.journal()?.stats())))
}

/// `GET /_sim/secrets`
pub async fn secrets(State(sim): State<AppState>) -> ApiResult {
    Ok(Json(json!({ "secrets": sim.secrets()? })))
}

/// `GET /_sim/requests`
pub async fn requests(State(sim): State<AppState>) -> ApiResult {
    Ok(Json(json!(sim.journal()?.requests())))
}

/// `DELETE /_sim/requests`
pub async fn clear_requests(State(sim): State<AppState>) -> ApiResult {
    let cleared = sim.journal()?.clear_requests();
    Ok(Json(json!({ "cleared": cleared })))
}

/// `POST /_sim/faults`
pub async fn arm_fault(State(sim): State<AppState>, body: Bytes) -> ApiResult {
    let fault: Fault = parse_body(&body)?;
    fault.validate().map_err(ApiError::bad_request)?;
    let echo = json!(fault);
    tracing::info!(fault = %echo, "fault armed");
    sim.faults()?.arm(fault);
    Ok(Json(echo))
}

/// `DELETE /_sim/faults`
pub async fn clear_faults(State(sim): State<AppState>) -> ApiResult {
    let cleared = sim.faults()?.clear();
    Ok(Json(json!({ "cleared": cleared })))
}

/// `GET /_sim/cos/objects`
pub async fn cos_objects(State(sim): State<AppState>) -> ApiResult {
    Ok(Json(json!(sim.uploads()?.list())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    advance_secs: u64,
}

/// `GET /_sim/clock`
pub async fn clock(State(sim): State<AppState>) -> ApiResult {
    Ok(Json(json!({ "now": sim.clock.now() })))
}

/// `POST /_sim/clock`
pub async fn advance_clock(State(sim): State<AppState>, body: Bytes) -> ApiResult {
    let req: Advance = parse_body(&body)?;
    sim.clock.advance_secs(req.advance_secs);
    let now = sim.clock.now();
    tracing::info!(advance_secs = req.advance_secs, now, "clock advanced");
    Ok(Json(json!({ "now": now })))
}
