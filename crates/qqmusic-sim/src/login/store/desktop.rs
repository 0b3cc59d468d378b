//! The desktop sign-ins: client sessions, pt_local_tokens, who is logged
//! in on the simulated desktop QQ, and the ptsigx of a fast login.

use super::{ticket, Logins, PTSIGX_LIFETIME, QR_CAP};
use crate::login::ids;

#[derive(Debug)]
pub(super) struct ClientSession {
    pub(super) key: String,
    pub(super) expires_at: i64,
}

impl Logins {
    /// A fresh ptsigx for `uin` (desktop fast login).
    pub fn issue_ptsigx(&mut self, uin: u64, now: i64) -> String {
        let sig = ids::ptsigx();
        self.issued.push(sig.clone());
        self.ptsigx
            .insert(sig.clone(), ticket(uin, now, PTSIGX_LIFETIME));
        sig
    }

    /// A new desktop session for `uin`, replacing any older one: its client key.
    pub fn new_client(&mut self, uin: u64, now: i64, lifetime: i64) -> String {
        let key = ids::client_key();
        self.issued.push(key.clone());
        self.clients.insert(
            uin,
            ClientSession {
                key: key.clone(),
                expires_at: now.saturating_add(lifetime),
            },
        );
        key
    }

    /// Ends the desktop session of `uin`; false when it has none.
    pub fn end_client(&mut self, uin: u64, now: i64) -> bool {
        match self.clients.get_mut(&uin) {
            Some(s) => {
                s.expires_at = s.expires_at.min(now);
                true
            }
            None => false,
        }
    }

    /// Whether `key` is the live client key of `uin`.
    pub fn client_key_live(&self, uin: u64, key: &str, now: i64) -> bool {
        self.clients
            .get(&uin)
            .is_some_and(|s| s.key == key && now < s.expires_at)
    }

    /// A new `pt_local_token`, remembered among the newest [`QR_CAP`].
    pub fn issue_local_token(&mut self) -> String {
        let token = ids::local_token();
        self.issued.push(token.clone());
        if self.local_tokens.len() >= QR_CAP {
            self.local_tokens.pop_front();
        }
        self.local_tokens.push_back(token.clone());
        token
    }

    pub fn local_token_known(&self, token: &str) -> bool {
        self.local_tokens.iter().any(|t| t == token)
    }

    /// Who is logged in on the desktop from now on.
    pub fn set_desktop(&mut self, accounts: Vec<(u64, String)>) {
        self.desktop = accounts;
    }

    pub fn desktop(&self) -> &[(u64, String)] {
        &self.desktop
    }
}
