//! From a confirmed login to its result: check_sig, authorize and QQLogin
//! for QQ's QR and desktop fast login (docs/protocol.md section 9.1 steps
//! 3-5), then, for every kind, the cookie and the membership as a refresh
//! gives them.

use super::provider::Ctx;
use super::{graph, parse, ptlogin, LoginError, LoginResult};
use crate::domain::Cookie;
use crate::domain::{AccountKind, Uin};
use crate::upstream::{LoginGrant, UpstreamError};
use std::sync::Arc;

impl Ctx {
    /// check_sig, authorize and QQLogin, from a ticket's uin and ptsigx.
    pub(super) async fn qq_ticket_login(
        &self,
        ticket: &parse::SigTicket,
    ) -> Result<LoginGrant, LoginError> {
        let cookies = ptlogin::check_sig(&self.hosts, ticket).await?;
        let code = graph::authorize(&self.hosts, &cookies).await?;
        Ok(self.upstream.qq_connect_login(code.expose()).await?)
    }

    /// The cookie a first login gives (as `Cookie::from_grant` builds a
    /// refresh's), and the account's membership with the new key. The key
    /// must be for `expected`, when the login kind says which.
    pub(super) async fn result(
        &self,
        expected: Option<AccountKind>,
        grant: LoginGrant,
        login_type: u8,
    ) -> Result<LoginResult, LoginError> {
        let unreadable = |why| LoginError::Upstream(UpstreamError::Unreadable(why));
        let account = grant
            .account
            .ok_or_else(|| unreadable("login answer names no account"))?;
        let kind = grant.key.kind();
        if expected.is_some_and(|expected| expected != kind) {
            return Err(unreadable("login answered a key of another account kind"));
        }
        let uin = Uin::from(account);
        if kind == AccountKind::Qq && !(6..=11).contains(&uin.digits()) {
            return Err(unreadable("login answered a QQ number of the wrong length"));
        }
        let cookie = Arc::new(Cookie {
            uin,
            key: grant.key,
            refresh_key: grant.refresh_key,
            refresh_token: grant.refresh_token,
            created_at: grant
                .created_at
                .unwrap_or_else(|| chrono::Utc::now().timestamp()),
            expires_in: grant.expires_in,
        });
        let info = match self.upstream.vip_status(uin, &cookie.key).await {
            Ok(info) => Some(info),
            Err(e) => {
                tracing::warn!(error = %e, "VIP status unavailable after a login; answering without info");
                None
            }
        };
        Ok(LoginResult {
            cookie,
            login_type,
            info,
        })
    }
}
