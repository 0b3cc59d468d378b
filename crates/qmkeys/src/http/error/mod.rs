//! Every failure the API can answer, mapped once to an HTTP status, a stable
//! envelope code and a message a user can act on. [`ErrorCode::ALL`] lists
//! every code; tests hold docs/api.md and the OpenAPI document to that list,
//! and the exhaustive match in [`ApiError::parts`] makes a new variant choose
//! one.
//!
//! `codes.rs` declares the codes, `parts.rs` maps each error to its code and
//! message; this file has the error and how it is answered.

mod codes;
mod parts;

pub use codes::ErrorCode;
pub use parts::ErrorParts;

use crate::accounts::StoreError;
use crate::domain::ParamError;
use crate::login::LoginError;
use crate::upload::SignError;
use crate::upstream::UpstreamError;
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Param(#[from] ParamError),
    #[error(transparent)]
    Upstream(#[from] UpstreamError),
    #[error(transparent)]
    Sign(#[from] SignError),
    #[error("route not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("request body too large")]
    BodyTooLarge,
    #[error("unsupported content type")]
    UnsupportedMediaType,
    #[error("request body unreadable")]
    BadBody,
    #[error("URL too long")]
    UrlTooLong,
    #[error("request took longer than allowed")]
    RequestTimeout,
    #[error("client over its rate limit")]
    RateLimited { retry_after: u32 },
    #[error("save=true is not enabled on this server")]
    SaveDisabled,
    #[error("admin token missing or wrong")]
    AdminUnauthorized,
    /// `require_api_key` is on and the request carries no key.
    #[error("caller key missing")]
    ApiKeyMissing,
    /// A key that is not one: unknown, revoked or malformed (never quoted).
    #[error("caller key unknown or revoked")]
    ApiKeyRefused,
    /// The key rotated but could not be saved as the caller asked.
    #[error("refreshed, but saving the account failed")]
    SaveFailed(#[source] StoreError),
    /// Reading the account store failed (the owner's routes).
    #[error("the account store could not be read")]
    StoreRead(#[source] StoreError),
    #[error(transparent)]
    Login(#[from] LoginError),
    /// `/admin/accounts/{uin}/cookie` for an account the store does not keep.
    #[error("no such stored account")]
    NoSuchAccount,
    /// `DELETE /admin/keys/{id}` for a key the store does not hold.
    #[error("no such caller key")]
    NoSuchKey,
}

/// middleware, which alone holds the envelope's stamp (time, pid, tips).
#[derive(Debug, Clone)]
pub struct PendingEnvelope {
    pub code: i32,
    pub message: String,
}

/// Formats an error with its whole chain of causes, for the log.
pub struct Chain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

/// A rotation the owner asked for, as `POST /admin/accounts/{uin}/refresh`
/// and `qmkeys accounts refresh` answer it: upstream failures as such, a
/// store that could not commit as the store's failure.
impl From<crate::accounts::RefreshFailure> for ApiError {
    fn from(failure: crate::accounts::RefreshFailure) -> Self {
        use crate::accounts::{RefreshFailure, StoreError};
        match failure {
            RefreshFailure::Dead(e) | RefreshFailure::Transient(e) => ApiError::Upstream(e),
            RefreshFailure::Store(e) => ApiError::StoreRead(StoreError::Backend(e.to_string())),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let parts = self.parts();
        if parts.status.is_server_error() {
            tracing::warn!(status = parts.status.as_u16(), code = parts.code, error = %Chain(&self), "request failed");
        } else {
            tracing::debug!(status = parts.status.as_u16(), code = parts.code, error = %Chain(&self), "request refused");
        }
        let mut response = parts.status.into_response();
        if let Some(secs) = parts.retry_after {
            response
                .headers_mut()
                .insert(RETRY_AFTER, HeaderValue::from(secs));
        }
        response.extensions_mut().insert(PendingEnvelope {
            code: parts.code,
            message: parts.message,
        });
        response
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every error the API can give, one of each kind, for tests that check them all.
    pub(crate) fn one_of_each() -> Vec<ApiError> {
        let mut all = vec![
            ApiError::Param(ParamError::new("uin", "x")),
            ApiError::BadBody,
            ApiError::NotFound,
            ApiError::MethodNotAllowed,
            ApiError::BodyTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::Upstream(UpstreamError::Timeout),
            ApiError::Upstream(UpstreamError::Connect),
            ApiError::Upstream(UpstreamError::Status(500)),
            ApiError::Upstream(UpstreamError::Unreadable("x")),
            ApiError::Upstream(UpstreamError::CircuitOpen),
            ApiError::Upstream(UpstreamError::Busy),
        ];
        for code in [
            1000, 20277, 20450, 20279, 20271, 20272, 20274, 104604, 2001, 20261, 2000,
        ] {
            all.push(ApiError::Upstream(UpstreamError::Rejected {
                call: "Login",
                code,
            }));
        }
        all.push(ApiError::Sign(SignError::NoAccount));
        all.push(ApiError::Sign(SignError::NoHealthyAccount));
        for code in [1000, 20277, 20450] {
            all.push(ApiError::Sign(SignError::Account(
                UpstreamError::Rejected {
                    call: "InitUpload",
                    code,
                },
            )));
        }
        all.push(ApiError::Sign(SignError::Store(std::sync::Arc::new(
            StoreError::Backend("x".into()),
        ))));
        all.push(ApiError::SaveFailed(StoreError::Backend("x".into())));
        all.push(ApiError::StoreRead(StoreError::Backend("x".into())));
        all.push(ApiError::SaveDisabled);
        all.push(ApiError::RateLimited { retry_after: 1 });
        all.push(ApiError::UrlTooLong);
        all.push(ApiError::RequestTimeout);
        all.push(ApiError::AdminUnauthorized);
        all.push(ApiError::Login(LoginError::Busy));
        all.push(ApiError::Login(LoginError::ClientBusy));
        all.push(ApiError::Login(LoginError::ClientKeyRefused));
        all.push(ApiError::NoSuchAccount);
        all.push(ApiError::NoSuchKey);
        all.push(ApiError::ApiKeyMissing);
        all.push(ApiError::ApiKeyRefused);
        all
    }

    #[test]
    fn codes_are_unique_per_meaning_and_agree_with_the_status() {
        let mut seen = std::collections::HashMap::new();
        for err in one_of_each() {
            let parts = err.parts();
            assert_eq!(
                parts.code / 100,
                i32::from(parts.status.as_u16()),
                "{err:?}"
            );
            if let Some(previous) = seen.insert(parts.code, parts.message.clone()) {
                assert_eq!(previous, parts.message, "code {} reused", parts.code);
            }
        }
    }

    /// The rows `| code | HTTP | ... |` of docs/api.md's error table.
    fn documented_codes() -> std::collections::BTreeMap<i32, u16> {
        include_str!("../../../../../docs/api.md")
            .lines()
            .filter_map(|line| {
                let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
                let code = cells.next()?.parse::<i32>().ok()?;
                let status = cells.next()?.parse::<u16>().ok()?;
                (code >= 10_000).then_some((code, status))
            })
            .collect()
    }

    #[test]
    fn every_code_is_answered_by_some_error_and_agrees_with_its_status() {
        let mut answered: std::collections::BTreeSet<ErrorCode> = one_of_each()
            .iter()
            .filter_map(|e| {
                let code = e.parts().code;
                ErrorCode::ALL.iter().copied().find(|c| c.get() == code)
            })
            .collect();
        // /readyz's own envelope, outside ApiError.
        answered.insert(ErrorCode::NotReady);
        let all: std::collections::BTreeSet<ErrorCode> = ErrorCode::ALL.iter().copied().collect();
        assert_eq!(
            answered, all,
            "an exemplar for every code, and no code unlisted"
        );
        for code in ErrorCode::ALL {
            assert_eq!(
                i32::from(code.status().as_u16()),
                code.get() / 100,
                "{code:?}"
            );
        }
    }

    #[test]
    fn the_api_manual_lists_every_code_with_its_status_and_nothing_else() {
        let documented = documented_codes();
        let all: std::collections::BTreeMap<i32, u16> = ErrorCode::ALL
            .iter()
            .map(|c| (c.get(), c.status().as_u16()))
            .collect();
        assert_eq!(documented, all, "docs/api.md's error table");
    }
}
