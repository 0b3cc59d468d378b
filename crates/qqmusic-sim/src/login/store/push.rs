//! The QQ Music app's QR and what its push host is told to do: tokens,
//! redirects and dropped connections.

use super::{spend, Logins, QrKind, Refused};
use crate::login::ids;

/// A CONNECT the push host will answer with a redirect (`/_sim/push/redirect`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// 0x9C (use another server) or 0x9D (server moved).
    pub reason: u8,
    /// The Server Reference it names.
    pub reference: String,
}

impl Logins {
    /// A new app QR (CreateQRCode): answers its qrcodeID.
    pub fn new_app(&mut self, now: i64, lifetime: i64) -> String {
        let mut id = ids::app_qrcode_id();
        while self.qr.contains_key(&id) {
            id = ids::app_qrcode_id();
        }
        self.insert(id.clone(), QrKind::App, None, now, lifetime);
        id
    }

    /// Spends the token an app QR's `cookies` message carried, for the
    /// QR `ident` and the account `uin` it was issued for.
    pub fn take_app_token(
        &mut self,
        ident: &str,
        token: &str,
        uin: u64,
        now: i64,
    ) -> Result<u64, Refused> {
        spend(
            &mut self.app_tokens,
            &format!("{ident}\n{token}"),
            Some(uin),
            now,
        )
    }

    /// Makes the next `count` CONNECTs answer `redirect`.
    pub fn push_redirects(&mut self, redirect: Redirect, count: usize) {
        self.redirects.clear();
        self.redirects.extend(std::iter::repeat_n(redirect, count));
    }

    /// Which `/_sim/push/drop` the push host is at.
    pub fn push_epoch(&self) -> u64 {
        self.push_epoch
    }

    /// Closes every push connection open now (they see it within 100 ms).
    pub fn drop_push_connections(&mut self) {
        self.push_epoch += 1;
    }

    /// The redirect the next CONNECT answers, if one is armed.
    pub fn take_redirect(&mut self) -> Option<Redirect> {
        self.redirects.pop_front()
    }
}
