//! The public API's response envelope: `{code, message, data, time, pid, tips}`.

use crate::beijing;
use crate::clock::SharedClock;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use std::sync::Arc;

#[derive(Debug, Serialize)]
pub struct Envelope<'a, T> {
    pub code: i32,
    pub message: &'a str,
    pub data: Option<T>,
    /// Beijing time, `YYYY-MM-DD HH:MM:SS`.
    pub time: String,
    pub pid: u32,
    pub tips: &'a str,
}

/// What every answer shares; cheap to clone into each handler.
#[derive(Clone)]
pub struct Stamp {
    clock: SharedClock,
    tips: Arc<str>,
}

impl Stamp {
    pub fn new(clock: SharedClock, tips: impl Into<Arc<str>>) -> Self {
        Self {
            clock,
            tips: tips.into(),
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
            time: beijing::format(self.clock.now()),
            pid: std::process::id(),
            tips: &self.tips,
        }
    }

    pub fn respond<T: Serialize>(
        &self,
        status: StatusCode,
        code: i32,
        message: &str,
        data: Option<T>,
    ) -> Response {
        (status, Json(self.envelope(code, message, data))).into_response()
    }
}
