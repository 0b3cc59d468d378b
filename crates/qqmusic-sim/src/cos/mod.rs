//! The simulated COS bucket, served on the simulator's own address under
//! `/cos/{bucket}/{key}`: a client sets its endpoint to
//! `http://<sim>/cos/{bucket}`, so the path it signs is the full path.
//!
//! PUT checks everything docs/protocol.md sections 6 and 7 ask of an upload (see
//! [`put`] for the order); GET and HEAD are public-read, like the CDN;
//! OPTIONS is CORS preflight. Every answer to a request with an Origin
//! carries the CORS headers, errors included.

mod body;
mod cors;
mod put;
mod reply;

use std::collections::BTreeMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use percent_encoding::percent_decode_str;

use self::reply::CosError;
use crate::app::{AppState, Shared};
use crate::journal::LoggedRequest;
use crate::uploads::BUCKET;

/// Stats key of every PUT received.
pub const STAT_PUT: &str = "cos.PutObject";
/// Stats key of every PUT answered 200.
pub const STAT_PUT_ACCEPTED: &str = "cos.PutObject.accepted";

/// Where a bucket request points.
pub struct Target {
    /// The whole path, percent-decoded (what a signature covers).
    pub path: String,
    pub bucket: String,
    /// The object key: the decoded path after `/cos/{bucket}/`.
    pub key: String,
    /// `host` + path, for XML errors.
    pub resource: String,
}

impl Target {
    fn new(uri: &Uri, headers: &HeaderMap) -> Self {
        let path = percent_decode_str(uri.path())
            .decode_utf8_lossy()
            .into_owned();
        let rest = path.strip_prefix("/cos/").unwrap_or_default();
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default();
        Self {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            resource: format!("{host}{path}"),
            path,
        }
    }
}

pub async fn bucket(
    State(sim): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let target = Target::new(&uri, &headers);
    let mut resp = match handle(&sim, &method, &uri, &headers, body, &target).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::info!(code = e.code, message = %e.message, path = %target.path, "bucket refused");
            e.into_response(&target.resource)
        }
    };
    if let Some(origin) = headers.get(header::ORIGIN) {
        cors::decorate(&mut resp, origin);
    }
    resp
}

async fn handle(
    sim: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    target: &Target,
) -> Result<Response, CosError> {
    if *method == Method::PUT {
        record_put(sim, uri, headers)?;
    }
    if target.bucket != BUCKET {
        return Err(CosError::no_such_bucket());
    }
    match *method {
        Method::PUT => put::put(sim, uri, headers, body, target).await,
        Method::GET | Method::HEAD => get(sim, target),
        Method::OPTIONS => cors::preflight(headers),
        _ => Err(CosError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )),
    }
}

/// Counts the PUT and logs it with every header (not the body).
fn record_put(sim: &Shared, uri: &Uri, headers: &HeaderMap) -> Result<(), CosError> {
    let mut logged: BTreeMap<String, String> = BTreeMap::new();
    for name in headers.keys() {
        let values: Vec<String> = headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect();
        logged.insert(name.as_str().to_owned(), values.join(", "));
    }
    let mut journal = sim.journal()?;
    journal.count(STAT_PUT);
    journal.record(LoggedRequest::Cos {
        method: "PUT".into(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or_default().to_owned(),
        headers: logged,
    });
    Ok(())
}

/// Public read: the object with its ETag and a Content-Type from its extension.
fn get(sim: &Shared, target: &Target) -> Result<Response, CosError> {
    let object = sim.uploads()?.get(&target.key).cloned().ok_or_else(|| {
        CosError::new(
            StatusCode::NOT_FOUND,
            "NoSuchKey",
            "The specified key does not exist.",
        )
    })?;
    let etag = object.etag();
    let len = object.body.len();
    let mut resp = reply::ok(Body::from(object.body));
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(reply::content_type_for(&target.key)),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Ok(resp)
}
