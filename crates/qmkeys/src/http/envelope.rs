//! The public API's response envelope: `{code, message, data, time, pid, tips}`.

use crate::beijing;
use crate::clock::SharedClock;
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::sync::Arc;

/// Every answer, success or failure: `code` and `message` say what happened,
/// `data` is `null` on failure.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Envelope<'a, T> {
    /// 200 for a refresh, 0 for a signature, else the error code.
    pub code: i32,
    /// 中文说明 / what happened, in Chinese.
    pub message: &'a str,
    pub data: Option<T>,
    /// Beijing time, `YYYY-MM-DD HH:MM:SS`.
    #[schema(value_type = String, example = "2024-08-03 22:05:59")]
    pub time: beijing::Time,
    /// The server's process id.
    pub pid: u32,
    /// The server's `tips` setting.
    pub tips: &'a str,
}

/// What every answer shares; cheap to clone into each handler.
#[derive(Clone)]
pub struct Stamp {
    clock: SharedClock,
    tips: Arc<str>,
    /// Read once: `std::process::id` is a system call each time.
    pid: u32,
}

impl Stamp {
    pub fn new(clock: SharedClock, tips: impl Into<Arc<str>>) -> Self {
        Self {
            clock,
            tips: tips.into(),
            pid: std::process::id(),
        }
    }

    pub fn envelope<'a, T>(
        &'a self,
        code: i32,
        message: &'a str,
        data: Option<T>,
    ) -> Envelope<'a, T> {
        Envelope {
            code,
            message,
            data,
            time: beijing::Time(self.clock.now()),
            pid: self.pid,
            tips: &self.tips,
        }
    }

    /// Writes the error envelope for `pending` into `response`, keeping its
    /// status and headers (Retry-After, CORS).
    pub fn fill_error(&self, response: &mut Response, pending: &super::error::PendingEnvelope) {
        let envelope = self.envelope::<()>(pending.code, &pending.message, None);
        if let Ok(body) = serde_json::to_vec(&envelope) {
            let headers = response.headers_mut();
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            // The router sized the empty body it answered; hyper sizes this one.
            headers.remove(CONTENT_LENGTH);
            *response.body_mut() = axum::body::Body::from(body);
        }
    }

    /// A success as the public API answers it: 200, code 200, 请求成功！.
    pub fn ok<T: Serialize>(&self, data: T) -> Response {
        self.respond(StatusCode::OK, 200, "请求成功！", Some(data))
    }

    pub fn respond<T: Serialize>(
        &self,
        status: StatusCode,
        code: i32,
        message: &str,
        data: Option<T>,
    ) -> Response {
        thread_local! {
            // Written here, then copied out at its exact length: one
            // allocation for the body, not a growing buffer and then a
            // second one to share it.
            static BUFFER: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(1024));
        }
        let envelope = self.envelope(code, message, data);
        let written = BUFFER.with(|buffer| {
            // Only a serialiser that answered from inside another could find
            // it taken; it gets a buffer of its own.
            let mut own = Vec::new();
            let mut taken = buffer.try_borrow_mut();
            let buffer = match &mut taken {
                Ok(buffer) => &mut **buffer,
                Err(_) => &mut own,
            };
            buffer.clear();
            let written = serde_json::to_writer(&mut *buffer, &envelope);
            let body = bytes::Bytes::copy_from_slice(buffer);
            // A rare huge answer does not stay behind in every thread.
            if buffer.capacity() > 64 * 1024 {
                *buffer = Vec::with_capacity(1024);
            }
            written.map(|()| body)
        });
        match written {
            Ok(body) => (
                status,
                [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
                body,
            )
                .into_response(),
            // Plain structs of strings and numbers always serialise; should
            // one not, axum's Json says so as it always did.
            Err(err) => {
                tracing::error!(error = %err, "answer could not be serialised");
                (status, Json(self.envelope(code, message, None::<()>))).into_response()
            }
        }
    }
}
