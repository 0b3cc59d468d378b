//! From a confirmed login to its result: check_sig, authorize and QQLogin
//! for QQ (docs/protocol.md section 9.1 steps 3-5), then the cookie and the
//! membership as a refresh gives them.

use super::{graph, parse, ptlogin, Inner, LoginError, LoginResult};
use crate::domain::{AccountKind, Uin};
use crate::refresh::Cookie;
use crate::upstream::{LoginGrant, UpstreamError};
use std::sync::Arc;

impl Inner {
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
    /// refresh's), and the account's membership with the new key.
    pub(super) async fn result(
        &self,
        kind: AccountKind,
        grant: LoginGrant,
    ) -> Result<LoginResult, LoginError> {
        let unreadable = |why| LoginError::Upstream(UpstreamError::Unreadable(why));
        let account = grant
            .account
            .ok_or_else(|| unreadable("login answer names no account"))?;
        if grant.key.kind() != kind {
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
        Ok(LoginResult { cookie, info })
    }
}
