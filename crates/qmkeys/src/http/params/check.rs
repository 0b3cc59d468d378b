//! `GET|POST /music/tencent/cookie/check`'s parameters: a refresh's `uin`
//! and `music_key`, read and checked the same way; nothing else is needed.

use super::key::key_params;
use super::read::{form_ref, read, read_request};
use crate::domain::{Credential, MusicKey, Uin};
use crate::http::error::ApiError;
use crate::http::AppState;
use axum::extract::{FromRequest, Request};
use serde::Deserialize;

key_params! {
    /// The check's parameters, as the OpenAPI document describes them: the
    /// first two of [`RefreshParams`](super::RefreshParams), with the same rules.
    #[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
    #[into_params(parameter_in = Query)]
    pub struct CheckParams {
        /// 要检查的 key（不会被轮换）/ the musickey to check (it is not rotated)
        music_key,
    }
}

/// A check request, checked: the account and its key.
#[derive(Debug)]
pub struct Check {
    pub uin: Uin,
    pub key: MusicKey,
}

impl CheckParams {
    fn check(self) -> Result<Check, ApiError> {
        // The refresh's rules, the kind pairing included; no refresh pair.
        let cred = Credential::parse(Some(&self.uin), Some(&self.music_key), None, None)?;
        Ok(Check {
            uin: cred.uin,
            key: cred.key,
        })
    }
}

impl Check {
    /// The extractor's work once the body is read. Pure, for tests.
    pub fn from_parts(
        query: Option<&str>,
        form: Option<(Option<&str>, &[u8])>,
    ) -> Result<Self, ApiError> {
        read::<CheckParams>(query, form)?.check()
    }
}

impl FromRequest<AppState> for Check {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &AppState) -> Result<Self, ApiError> {
        let (uri, form) = read_request(req).await?;
        Self::from_parts(uri.query(), form_ref(&form))
    }
}
