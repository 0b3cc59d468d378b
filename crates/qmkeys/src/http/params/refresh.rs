//! `GET|POST /music/tencent/cookie/refresh`'s parameters.

use super::key::key_params;
use super::read::{form_ref, read, read_request};
use super::{allowed, parse_save, save_schema};
use crate::domain::Credential;
use crate::http::error::ApiError;
use crate::http::AppState;
use axum::extract::{FromRequest, Request};
use axum::http::header::AUTHORIZATION;
use serde::Deserialize;

key_params! {
    /// `GET|POST /music/tencent/cookie/refresh`'s parameters, as the OpenAPI
    /// document describes them. [`Refresh`] fills it and checks it.
    #[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
    #[into_params(parameter_in = Query)]
    pub struct RefreshParams {
        /// `Q_H_L_`（QQ）或 `W_X_`（微信）开头的 key / the musickey
        music_key,
        /// key 已过期时与 refresh_token 一起提供 / sent with refresh_token when the key has expired
        #[param(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
        #[schema(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
        pub refresh_key: Option<String>,
        /// 刷新令牌 / the refresh token
        #[param(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
        #[schema(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
        pub refresh_token: Option<String>,
        /// 刷新成功后把账号保存为上传账号（服务器需开启 `accounts_allow_save` 或带管理员令牌，否则 403）
        /// / keep the account for uploads (403 unless the server enables it or the request carries the admin token)
        #[param(schema_with = save_schema)]
        #[schema(schema_with = save_schema)]
        pub save: Option<String>,
    }
}

/// A refresh request, checked: the credential and whether to keep the account.
#[derive(Debug)]
pub struct Refresh {
    pub cred: Credential,
    pub save: bool,
}

impl RefreshParams {
    fn check(self) -> Result<Refresh, ApiError> {
        let cred = Credential::parse(
            Some(&self.uin),
            Some(&self.music_key),
            self.refresh_key.as_deref(),
            self.refresh_token.as_deref(),
        )?;
        let save = parse_save(self.save.as_deref())?;
        Ok(Refresh { cred, save })
    }
}

impl Refresh {
    /// The extractor's work once the body is read: the query, and a POST's
    /// body with its `Content-Type`. Pure, for tests and fuzzing.
    pub fn from_parts(
        query: Option<&str>,
        form: Option<(Option<&str>, &[u8])>,
    ) -> Result<Self, ApiError> {
        read::<RefreshParams>(query, form)?.check()
    }
}

impl FromRequest<AppState> for Refresh {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        // Only the owner's token is kept: it may allow save=true.
        let authorization = req.headers().get(AUTHORIZATION).cloned();
        let (uri, form) = read_request(req).await?;
        let request = Self::from_parts(uri.query(), form_ref(&form))?;
        allowed(request.save, authorization.as_ref(), state)?;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_is_exactly_one_of_the_documented_values() {
        let with = |save: Option<&str>| {
            RefreshParams {
                uin: "123456".into(),
                music_key: "Q_H_L_k".into(),
                refresh_key: None,
                refresh_token: None,
                save: save.map(str::to_owned),
            }
            .check()
        };
        assert!(matches!(with(None), Ok(Refresh { save: false, .. })));
        for (raw, want) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            assert!(
                matches!(with(Some(raw)), Ok(Refresh { save, .. }) if save == want),
                "{raw}"
            );
        }
        for raw in ["", " true", "TRUE", "yes"] {
            match with(Some(raw)) {
                Err(ApiError::Param(e)) => assert_eq!(e.param, "save", "{raw:?}"),
                other => panic!("{raw:?}: {other:?}"),
            }
        }
    }
}
