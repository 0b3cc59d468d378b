//! The owner's routes' parameters.

use super::read::read;
use crate::domain::ParamError;
use crate::http::error::ApiError;
use crate::http::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;

/// How many events `GET /admin/events` answers when `limit` is absent.
pub const DEFAULT_EVENTS: usize = 50;

/// `GET /admin/events`' parameters. [`EventsQuery`] fills and checks them.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsParams {
    /// 最多返回多少条，默认 50，不超过 accounts_events_keep / at most this many, 50 when absent, at most accounts_events_keep
    #[param(value_type = Option<u32>, minimum = 1, example = 20)]
    pub limit: Option<String>,
}

/// A timeline request, checked.
#[derive(Debug)]
pub struct EventsQuery {
    pub limit: usize,
}

impl FromRequestParts<AppState> for EventsQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, ApiError> {
        read::<EventsParams>(parts.uri.query(), None)?.check()
    }
}

impl EventsParams {
    fn check(self) -> Result<EventsQuery, ApiError> {
        let limit = match self.limit.as_deref() {
            None | Some("") => DEFAULT_EVENTS,
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| *n >= 1 && text.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| ParamError::new("limit", "limit 应为正整数（1 或更大）"))?,
        };
        Ok(EventsQuery { limit })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limit(query: &str) -> Result<usize, String> {
        read::<EventsParams>(Some(query), None)
            .and_then(EventsParams::check)
            .map(|q| q.limit)
            .map_err(|e| e.parts().message)
    }

    #[test]
    fn limit_is_a_positive_whole_number_or_the_default() {
        assert_eq!(limit(""), Ok(DEFAULT_EVENTS));
        assert_eq!(limit("limit="), Ok(DEFAULT_EVENTS));
        assert_eq!(limit("limit=7"), Ok(7));
        for bad in [
            "limit=0",
            "limit=-1",
            "limit=+3",
            "limit=x",
            "limit=99999999999999999999999",
        ] {
            assert!(limit(bad).is_err_and(|m| m.contains("limit")), "{bad}");
        }
        assert!(limit("limit=1&limit=2").is_err_and(|m| m.contains("重复")));
    }
}
