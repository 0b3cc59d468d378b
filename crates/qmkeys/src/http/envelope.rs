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
    pub time: beijing::Now,
    /// The server's process id.
    pub pid: u32,
    /// The server's `tips` setting.
    pub tips: &'a str,
}

/// A success's code and message, as the public API answers it.
const OK_CODE: i32 = 200;
const OK_MESSAGE: &str = "请求成功！";

/// What every answer shares; cheap to clone into each handler.
#[derive(Clone)]
pub struct Stamp {
    clock: SharedClock,
    tips: Arc<str>,
    /// Read once: `std::process::id` is a system call each time.
    pid: u32,
    /// A success's envelope as serde writes it, up to its `data` and from
    /// after its `time`: [`Stamp::ok_json`] writes only the time per answer.
    ok_head: Arc<str>,
    ok_tail: Arc<str>,
}

impl Stamp {
    pub fn new(clock: SharedClock, tips: impl Into<Arc<str>>) -> Self {
        let tips: Arc<str> = tips.into();
        let pid = std::process::id();
        // serde writes these strings, so they are escaped exactly as in
        // `ok` (a test holds the two to the same bytes).
        let text = |s: &str| serde_json::to_string(s).unwrap_or_else(|_| "\"\"".to_owned());
        Self {
            ok_head: format!(
                "{{\"code\":{OK_CODE},\"message\":{},\"data\":",
                text(OK_MESSAGE)
            )
            .into(),
            ok_tail: format!("\",\"pid\":{pid},\"tips\":{}}}", text(&tips)).into(),
            clock,
            tips,
            pid,
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
            time: beijing::Now(self.clock.now()),
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
        self.respond(StatusCode::OK, OK_CODE, OK_MESSAGE, Some(data))
    }

    /// As [`Stamp::ok`] for `data` already serialised to JSON: the same
    /// bytes, with only the time written now, in one allocation.
    pub fn ok_json(&self, data: &[u8]) -> Response {
        const TIME: &[u8] = b",\"time\":\"";
        let body = beijing::Time(self.clock.now()).with_text(|time| {
            let (head, tail) = (self.ok_head.as_bytes(), self.ok_tail.as_bytes());
            let mut body =
                Vec::with_capacity(head.len() + data.len() + TIME.len() + time.len() + tail.len());
            for part in [head, data, TIME, time.as_bytes(), tail] {
                body.extend_from_slice(part);
            }
            body
        });
        (
            [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
            bytes::Bytes::from(body),
        )
            .into_response()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    async fn body(response: Response) -> Vec<u8> {
        axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body")
            .to_vec()
    }

    #[tokio::test]
    async fn a_pre_serialised_success_is_byte_for_byte_the_serialised_one() {
        let clock = ManualClock::starting_now();
        for tips in ["欢迎使用 qmkeys", "a \"quoted\" \\ tip\n", ""] {
            let stamp = Stamp::new(Arc::new(clock.clone()), tips);
            let data =
                serde_json::json!({"cookie": {"uin": 1, "musickey": "Q_H_L_x"}, "info": null});
            let json = serde_json::to_vec(&data).expect("json");
            let (raw, served) = (stamp.ok_json(&json), stamp.ok(&data));
            assert_eq!(raw.status(), served.status());
            assert_eq!(raw.headers(), served.headers());
            let (raw, served) = (body(raw).await, body(served).await);
            assert_eq!(
                String::from_utf8_lossy(&raw),
                String::from_utf8_lossy(&served)
            );
            clock.advance(std::time::Duration::from_secs(1));
        }
    }
}
