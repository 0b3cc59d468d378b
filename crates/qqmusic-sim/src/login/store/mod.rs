//! What the login hosts remember: QR logins and their states, and the
//! one-use or timed secrets each step hands to the next. The QQ and WeChat
//! polls, the app QR with its push host, and the desktop sign-ins each add
//! their part in a file of their own; the QR table and tickets live here.

mod desktop;
mod polls;
mod push;

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use tokio::sync::Notify;

use super::ids;
use crate::state::Kind;

use desktop::ClientSession;
pub use push::Redirect;

/// Login QRs remembered at most; the oldest are forgotten past this.
pub const QR_CAP: usize = 10_000;
/// A ptsigx lives this long (sim clock seconds) after it is issued.
pub const PTSIGX_LIFETIME: i64 = 120;
/// A p_skey lives this long.
pub const P_SKEY_LIFETIME: i64 = 86_400;
/// A QQ Connect or WeChat auth code lives this long, and serves once.
pub const CODE_LIFETIME: i64 = 600;

/// Where a login QR stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrState {
    Waiting,
    Scanned,
    Confirmed,
    Refused,
    Expired,
    /// The app QR only: the phone's login failed (`loginFailed`).
    Failed,
}

impl QrState {
    pub fn name(self) -> &'static str {
        match self {
            QrState::Waiting => "waiting",
            QrState::Scanned => "scanned",
            QrState::Confirmed => "confirmed",
            QrState::Refused => "refused",
            QrState::Expired => "expired",
            QrState::Failed => "failed",
        }
    }

    /// No action changes it any more.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            QrState::Confirmed | QrState::Refused | QrState::Expired | QrState::Failed
        )
    }
}

/// What the phone does to a QR (`POST /_sim/qr/{ident}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrAction {
    Scan,
    Confirm,
    Refuse,
    Expire,
    /// The app QR only: publishes `loginFailed`.
    Fail,
}

impl QrAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "scan" => QrAction::Scan,
            "confirm" => QrAction::Confirm,
            "refuse" => QrAction::Refuse,
            "expire" => QrAction::Expire,
            "fail" => QrAction::Fail,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            QrAction::Scan => "scan",
            QrAction::Confirm => "confirm",
            QrAction::Refuse => "refuse",
            QrAction::Expire => "expire",
            QrAction::Fail => "fail",
        }
    }
}

/// Which login host a QR belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrKind {
    Qq,
    Wx,
    /// The QQ Music app's own QR (section 10.1), pushed over MQTT.
    App,
}

impl QrKind {
    /// `/_sim/qr`'s `kind`.
    pub fn name(self) -> &'static str {
        match self {
            QrKind::Qq => "qq",
            QrKind::Wx => "wx",
            QrKind::App => "app",
        }
    }

    /// The kind of account a confirm logs in: the app logs QQ accounts in.
    pub fn account(self) -> Kind {
        match self {
            QrKind::Qq | QrKind::App => Kind::Qq,
            QrKind::Wx => Kind::Wx,
        }
    }
}

#[derive(Debug)]
pub struct QrLogin {
    pub ident: String,
    pub kind: QrKind,
    pub created: i64,
    expires_at: i64,
    state: QrState,
    /// QQ: the cookie that polls it. None for WeChat.
    qrsig: Option<String>,
    /// Set on confirm.
    pub uin: Option<u64>,
    /// Set on confirm: the ptsigx (QQ) or the auth code (WeChat).
    pub token: Option<String>,
    /// WeChat: the state the last long poll answered (a new QR counts as
    /// having answered "waiting", so the first poll holds).
    pub reported: Option<QrState>,
    /// Woken on every state change, for held long polls.
    pub notify: Arc<Notify>,
}

impl QrLogin {
    pub fn state(&self) -> QrState {
        self.state
    }
}

/// A secret that names an account until it expires; `used` once spent.
#[derive(Debug)]
struct Ticket {
    uin: u64,
    expires_at: i64,
    used: bool,
}

/// Why a ticket was not honoured; every case reads the same on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    Unknown,
    Used,
    Expired,
    WrongUin,
}

/// Why an admin action was not applied.
#[derive(Debug)]
pub enum ActionError {
    UnknownLogin,
    Invalid(String),
}

#[derive(Debug, Default)]
pub struct Logins {
    qr: HashMap<String, QrLogin>,
    /// Idents in creation order, oldest first.
    order: VecDeque<String>,
    qrsigs: HashMap<String, String>,
    ptsigx: HashMap<String, Ticket>,
    p_skeys: HashMap<String, Ticket>,
    qq_codes: HashMap<String, Ticket>,
    wx_codes: HashMap<String, Ticket>,
    /// App QR tokens, keyed by `<qrcodeID>\n<token>`: a token serves only
    /// with the QR it was issued for.
    app_tokens: HashMap<String, Ticket>,
    /// The next CONNECTs to answer with a redirect, first first.
    redirects: VecDeque<Redirect>,
    /// Bumped by `/_sim/push/drop`: push connections opened before it close.
    push_epoch: u64,
    clients: HashMap<u64, ClientSession>,
    /// The accounts logged in on the simulated desktop QQ, in its order,
    /// with their nicknames (`POST /_sim/desktop`).
    desktop: Vec<(u64, String)>,
    /// The `pt_local_token`s xlogin handed out, newest last.
    local_tokens: VecDeque<String>,
    /// Every login secret ever issued, for `GET /_sim/secrets`.
    issued: Vec<String>,
}

impl Logins {
    fn insert(
        &mut self,
        ident: String,
        kind: QrKind,
        qrsig: Option<String>,
        now: i64,
        lifetime: i64,
    ) {
        while self.order.len() >= QR_CAP {
            if let Some(old) = self.order.pop_front() {
                if let Some(gone) = self.qr.remove(&old) {
                    if let Some(sig) = gone.qrsig {
                        self.qrsigs.remove(&sig);
                    }
                }
            }
        }
        self.order.push_back(ident.clone());
        self.qr.insert(
            ident.clone(),
            QrLogin {
                ident,
                kind,
                created: now,
                expires_at: now.saturating_add(lifetime),
                state: QrState::Waiting,
                qrsig,
                uin: None,
                token: None,
                reported: Some(QrState::Waiting),
                notify: Arc::new(Notify::new()),
            },
        );
    }

    /// A login by ident, with its expiry applied first.
    pub fn get(&mut self, ident: &str, now: i64) -> Option<&mut QrLogin> {
        let login = self.qr.get_mut(ident)?;
        if !login.state.is_final() && now >= login.expires_at {
            login.state = QrState::Expired;
            login.notify.notify_waiters();
        }
        Some(login)
    }

    /// Every remembered login, newest first, expiry applied.
    pub fn list(&mut self, now: i64) -> Vec<(String, QrKind, QrState, i64)> {
        let idents: Vec<String> = self.order.iter().rev().cloned().collect();
        idents
            .iter()
            .filter_map(|ident| {
                let l = self.get(ident, now)?;
                Some((l.ident.clone(), l.kind, l.state, l.created))
            })
            .collect()
    }

    /// Checks that `action` may apply to `ident` now, without applying it.
    pub fn check_action(
        &mut self,
        ident: &str,
        action: QrAction,
        now: i64,
    ) -> Result<QrKind, ActionError> {
        let login = self.get(ident, now).ok_or(ActionError::UnknownLogin)?;
        if action == QrAction::Fail && login.kind != QrKind::App {
            return Err(ActionError::Invalid(
                "only an app QR can fail (loginFailed)".into(),
            ));
        }
        let allowed = match action {
            QrAction::Scan => login.state == QrState::Waiting,
            _ => matches!(login.state, QrState::Waiting | QrState::Scanned),
        };
        if !allowed {
            return Err(ActionError::Invalid(format!(
                "cannot {} a login that is {}",
                action.name(),
                login.state.name()
            )));
        }
        Ok(login.kind)
    }

    /// Applies a checked action; `uin` is the account a confirm logs in.
    pub fn apply_action(
        &mut self,
        ident: &str,
        action: QrAction,
        uin: Option<u64>,
        now: i64,
    ) -> Result<(), ActionError> {
        self.check_action(ident, action, now)?;
        let mut issued = None;
        let login = self.qr.get_mut(ident).ok_or(ActionError::UnknownLogin)?;
        login.state = match action {
            QrAction::Scan => QrState::Scanned,
            QrAction::Refuse => QrState::Refused,
            QrAction::Expire => QrState::Expired,
            QrAction::Fail => QrState::Failed,
            QrAction::Confirm => {
                let uin = uin.ok_or_else(|| ActionError::Invalid("confirm needs a uin".into()))?;
                let (token, lifetime) = match login.kind {
                    QrKind::Qq => (ids::ptsigx(), PTSIGX_LIFETIME),
                    QrKind::Wx => (ids::wx_code(), CODE_LIFETIME),
                    QrKind::App => (ids::app_token(), CODE_LIFETIME),
                };
                login.uin = Some(uin);
                login.token = Some(token.clone());
                issued = Some((login.kind, token, uin, now.saturating_add(lifetime)));
                QrState::Confirmed
            }
        };
        login.notify.notify_waiters();
        if let Some((kind, token, uin, expires_at)) = issued {
            let ticket = Ticket {
                uin,
                expires_at,
                used: false,
            };
            self.issued.push(token.clone());
            match kind {
                QrKind::Qq => self.ptsigx.insert(token, ticket),
                QrKind::Wx => self.wx_codes.insert(token, ticket),
                QrKind::App => self.app_tokens.insert(format!("{ident}\n{token}"), ticket),
            };
        }
        Ok(())
    }

    pub fn secrets(&self) -> Vec<String> {
        self.issued.clone()
    }
}

fn ticket(uin: u64, now: i64, lifetime: i64) -> Ticket {
    Ticket {
        uin,
        expires_at: now.saturating_add(lifetime),
        used: false,
    }
}

fn spend(
    map: &mut HashMap<String, Ticket>,
    secret: &str,
    uin: Option<u64>,
    now: i64,
) -> Result<u64, Refused> {
    let t = map.get_mut(secret).ok_or(Refused::Unknown)?;
    if t.used {
        return Err(Refused::Used);
    }
    if now >= t.expires_at {
        return Err(Refused::Expired);
    }
    if uin.is_some_and(|u| u != t.uin) {
        return Err(Refused::WrongUin);
    }
    t.used = true;
    Ok(t.uin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_qr_expires_on_the_clock_and_then_takes_no_action() {
        let mut l = Logins::default();
        let (ident, qrsig) = l.new_qq(1_000, 120);
        assert_ne!(ident, qrsig);
        assert!(!ident.contains(&qrsig));
        let state = |l: &mut Logins, now| l.get(&ident, now).map(|q| q.state());
        assert_eq!(state(&mut l, 1_119), Some(QrState::Waiting));
        assert_eq!(state(&mut l, 1_120), Some(QrState::Expired));
        assert!(matches!(
            l.check_action(&ident, QrAction::Confirm, 1_121),
            Err(ActionError::Invalid(_))
        ));
    }

    #[test]
    fn a_confirmed_wechat_login_issues_a_code_that_serves_once() {
        let mut l = Logins::default();
        let uuid = l.new_wx(1_000, 120);
        assert!(l.apply_action(&uuid, QrAction::Scan, None, 1_001).is_ok());
        assert!(l
            .apply_action(&uuid, QrAction::Confirm, Some(42), 1_002)
            .is_ok());
        let code = l
            .get(&uuid, 1_003)
            .and_then(|q| q.token.clone())
            .unwrap_or_default();
        assert_eq!(l.take_code(Kind::Wx, &code, 1_003), Ok(42));
        assert_eq!(l.take_code(Kind::Wx, &code, 1_003), Err(Refused::Used));
        assert_eq!(l.take_code(Kind::Qq, &code, 1_003), Err(Refused::Unknown));
        assert!(l.secrets().contains(&code));
    }

    #[test]
    fn only_an_app_qr_fails_and_its_token_serves_only_its_own_qr_and_account() {
        let mut l = Logins::default();
        let wx = l.new_wx(1_000, 120);
        assert!(matches!(
            l.check_action(&wx, QrAction::Fail, 1_001),
            Err(ActionError::Invalid(_))
        ));
        let app = l.new_app(1_000, 120);
        let other = l.new_app(1_000, 120);
        assert!(l
            .apply_action(&app, QrAction::Confirm, Some(42), 1_001)
            .is_ok());
        let token = l
            .get(&app, 1_002)
            .and_then(|q| q.token.clone())
            .unwrap_or_default();
        assert_eq!(
            l.take_app_token(&other, &token, 42, 1_002),
            Err(Refused::Unknown)
        );
        assert_eq!(
            l.take_app_token(&app, &token, 43, 1_002),
            Err(Refused::WrongUin)
        );
        assert_eq!(l.take_app_token(&app, &token, 42, 1_002), Ok(42));
        assert_eq!(
            l.take_app_token(&app, &token, 42, 1_002),
            Err(Refused::Used)
        );
        assert!(l.apply_action(&other, QrAction::Fail, None, 1_003).is_ok());
        assert_eq!(
            l.get(&other, 1_003).map(|q| q.state()),
            Some(QrState::Failed)
        );
    }

    #[test]
    fn a_ptsigx_serves_only_the_uin_it_was_issued_for() {
        let mut l = Logins::default();
        let sig = l.issue_ptsigx(7, 1_000);
        assert_eq!(l.take_ptsigx(&sig, 8, 1_000), Err(Refused::WrongUin));
        assert_eq!(
            l.take_ptsigx(&sig, 7, 1_000 + PTSIGX_LIFETIME),
            Err(Refused::Expired)
        );
        assert_eq!(l.take_ptsigx(&sig, 7, 1_001), Ok(7));
    }

    #[test]
    fn the_oldest_qrs_are_forgotten_past_the_cap() {
        let mut l = Logins::default();
        let (first, sig) = l.new_qq(0, 120);
        for _ in 0..QR_CAP {
            l.new_wx(0, 120);
        }
        assert!(l.get(&first, 0).is_none());
        assert!(l.by_qrsig(&sig, 0).is_none());
        assert_eq!(l.list(0).len(), QR_CAP);
    }
}
