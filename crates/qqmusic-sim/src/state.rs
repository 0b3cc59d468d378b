//! Accounts, their keys and their refresh pairs: the part of the simulator
//! that a real QQ Music account store would hold.

use std::collections::{HashMap, HashSet};

use crate::codes;
use crate::ids;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// QQ account: `Q_H_L_` keys, comm `tmeLoginType "2"`.
    Qq,
    /// WeChat account: `W_X_` keys, comm `tmeLoginType "1"`.
    Wx,
}

impl Kind {
    /// The `loginType` / `tmeLoginType` number of this kind.
    pub fn login_type(self) -> u8 {
        match self {
            Kind::Qq => 2,
            Kind::Wx => 1,
        }
    }
}

#[derive(Debug)]
pub struct Account {
    pub uin: u64,
    pub kind: Kind,
    /// VIP / SVIP ends, unix seconds; None when the account never had one.
    pub vip_end: Option<i64>,
    pub svip_end: Option<i64>,
    pub openid: String,
    pub unionid: String,
    pub encrypt_uin: String,
    pub logged_out: bool,
    pub banned: bool,
    /// The login type it was last signed in with: its kind's (2 or 1), or 6
    /// after the app's QR (docs/protocol.md section 10.1).
    pub login_type: u8,
    /// Every (refresh_key, refresh_token) pair ever issued; all stay valid
    /// until logout, so two concurrent refreshes both succeed.
    refresh_pairs: HashSet<(String, String)>,
    /// Pairs of a session that a logout ended and a new login replaced:
    /// dead, but still listed by [`Accounts::secrets`].
    retired_pairs: Vec<(String, String)>,
    keys: Vec<String>,
    /// Every access token handed out, for [`Accounts::secrets`].
    access_tokens: Vec<String>,
}

#[derive(Debug)]
struct KeyRecord {
    uin: u64,
    expires_at: i64,
}

/// What a successful account creation or Login hands out.
#[derive(Debug, Clone)]
pub struct Grant {
    pub uin: u64,
    /// The account's login type (`loginType`).
    pub login_type: u8,
    pub musickey: String,
    pub refresh_key: String,
    pub refresh_token: String,
    pub access_token: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub openid: String,
    pub unionid: String,
    pub encrypt_uin: String,
}

/// A Login request, already checked for shape.
#[derive(Debug)]
pub struct LoginAttempt<'a> {
    pub kind: Kind,
    /// comm `tmeLoginType`: the kind's, or 6 for an app QR's account.
    pub login_type: u8,
    pub uin: u64,
    pub musickey: &'a str,
    pub refresh_key: &'a str,
    pub refresh_token: &'a str,
}

/// Snapshot of the account a key logs in as, so the lock is not held while
/// answering.
#[derive(Debug, Clone)]
pub struct VipView {
    pub uin: u64,
    pub vip_end: Option<i64>,
    pub svip_end: Option<i64>,
    /// Banned accounts still authenticate (VIP status answers for them);
    /// calls that act for the account refuse them with 20277.
    pub banned: bool,
}

#[derive(Debug, Default)]
pub struct Accounts {
    accounts: HashMap<u64, Account>,
    keys: HashMap<String, KeyRecord>,
}

impl Accounts {
    pub fn create(
        &mut self,
        kind: Kind,
        vip_end: Option<i64>,
        svip_end: Option<i64>,
        now: i64,
        lifetime: i64,
    ) -> Grant {
        let mut uin = ids::uin(kind);
        while self.accounts.contains_key(&uin) {
            uin = ids::uin(kind);
        }
        let (openid, unionid) = match kind {
            Kind::Qq => (String::new(), String::new()),
            Kind::Wx => (ids::openid(), ids::openid()),
        };
        let mut account = Account {
            uin,
            kind,
            vip_end,
            svip_end,
            openid,
            unionid,
            encrypt_uin: ids::encrypt_uin(),
            logged_out: false,
            banned: false,
            login_type: kind.login_type(),
            refresh_pairs: HashSet::new(),
            retired_pairs: Vec::new(),
            keys: Vec::new(),
            access_tokens: Vec::new(),
        };
        let grant = issue(&mut account, &mut self.keys, now, lifetime);
        self.accounts.insert(uin, account);
        grant
    }

    /// Expires every key of `uin` now. False for an unknown uin.
    pub fn expire_all(&mut self, uin: u64, now: i64) -> bool {
        let Some(account) = self.accounts.get(&uin) else {
            return false;
        };
        for key in &account.keys {
            if let Some(rec) = self.keys.get_mut(key) {
                rec.expires_at = rec.expires_at.min(now);
            }
        }
        true
    }

    /// Logs `uin` out: its keys stop working and nothing refreshes any more.
    pub fn logout(&mut self, uin: u64) -> bool {
        self.set_flag(uin, |a| a.logged_out = true)
    }

    pub fn ban(&mut self, uin: u64) -> bool {
        self.set_flag(uin, |a| a.banned = true)
    }

    fn set_flag(&mut self, uin: u64, f: impl FnOnce(&mut Account)) -> bool {
        match self.accounts.get_mut(&uin) {
            Some(a) => {
                f(a);
                true
            }
            None => false,
        }
    }

    /// The account a key logs in as right now: the key is known and unexpired,
    /// the account is not logged out, and it matches `uin` when one is given.
    pub fn authenticate(&self, key: &str, uin: Option<u64>, now: i64) -> Option<VipView> {
        let rec = self.keys.get(key)?;
        if now >= rec.expires_at || uin.is_some_and(|u| u != rec.uin) {
            return None;
        }
        let account = self.accounts.get(&rec.uin)?;
        if account.logged_out {
            return None;
        }
        Some(VipView {
            uin: account.uin,
            vip_end: account.vip_end,
            svip_end: account.svip_end,
            banned: account.banned,
        })
    }

    /// Marks `uin` as signed in through the app's QR (login type 6).
    pub fn set_login_type(&mut self, uin: u64, login_type: u8) {
        self.set_flag(uin, |a| a.login_type = login_type);
    }

    /// The kind of account `uin` is, if it exists.
    pub fn kind_of(&self, uin: u64) -> Option<Kind> {
        self.accounts.get(&uin).map(|a| a.kind)
    }

    /// A first key for `uin` after a QR or fast login (a code exchanged on
    /// the gateway). A logged-out account starts a new session: its old
    /// keys and refresh pairs stay dead.
    pub fn sign_in(&mut self, uin: u64, kind: Kind, now: i64, lifetime: i64) -> Result<Grant, i64> {
        let Self { accounts, keys } = self;
        let account = accounts.get_mut(&uin).ok_or(codes::LOGIN_REQUIRED)?;
        if account.kind != kind {
            return Err(codes::BAD_LOGIN_PARAMS);
        }
        if account.banned {
            return Err(codes::BANNED);
        }
        if account.logged_out {
            for key in &account.keys {
                if let Some(rec) = keys.get_mut(key) {
                    rec.expires_at = rec.expires_at.min(now);
                }
            }
            let old: Vec<_> = account.refresh_pairs.drain().collect();
            account.retired_pairs.extend(old);
            account.logged_out = false;
        }
        account.login_type = kind.login_type();
        Ok(issue(account, keys, now, lifetime))
    }

    /// Every secret ever handed out: musickeys, refresh keys and tokens,
    /// access tokens. Tests look for them where none may be (logs, Redis).
    pub fn secrets(&self) -> Vec<String> {
        let mut out: Vec<String> = self.keys.keys().cloned().collect();
        for account in self.accounts.values() {
            for (key, token) in account.refresh_pairs.iter().chain(&account.retired_pairs) {
                out.push(key.clone());
                out.push(token.clone());
            }
            out.extend(account.access_tokens.iter().cloned());
        }
        out
    }

    /// Login (docs/protocol.md section 3): refreshes a key into a new one, or says
    /// which result code refuses it.
    pub fn login(&mut self, at: &LoginAttempt<'_>, now: i64, lifetime: i64) -> Result<Grant, i64> {
        let rec = self.keys.get(at.musickey).ok_or(codes::LOGIN_REQUIRED)?;
        if rec.uin != at.uin {
            return Err(codes::LOGIN_REQUIRED);
        }
        let expired = now >= rec.expires_at;
        let account = self.accounts.get(&rec.uin).ok_or(codes::LOGIN_REQUIRED)?;
        if account.kind != at.kind {
            return Err(codes::BAD_LOGIN_PARAMS);
        }
        // Section 10.1: an app QR's account refreshes with its own type 6. A
        // type-6 refresh of any other account is refused; the kind's own
        // type still serves a type-6 account (a caller that does not know
        // how its key was issued).
        if at.login_type != at.kind.login_type() && at.login_type != account.login_type {
            return Err(codes::BAD_LOGIN_PARAMS);
        }
        if account.banned {
            return Err(codes::BANNED);
        }
        if account.logged_out {
            return Err(codes::LOGIN_REQUIRED);
        }
        if expired {
            let pair = (at.refresh_key.to_owned(), at.refresh_token.to_owned());
            if !account.refresh_pairs.contains(&pair) {
                return Err(codes::LOGIN_REQUIRED);
            }
        }
        let uin = account.uin;
        let account = self.accounts.get_mut(&uin).ok_or(codes::LOGIN_REQUIRED)?;
        Ok(issue(account, &mut self.keys, now, lifetime))
    }
}

/// Issues a new key and refresh pair to `account`.
fn issue(
    account: &mut Account,
    keys: &mut HashMap<String, KeyRecord>,
    now: i64,
    lifetime: i64,
) -> Grant {
    let mut musickey = ids::musickey(account.kind);
    while keys.contains_key(&musickey) {
        musickey = ids::musickey(account.kind);
    }
    let expires_at = now.saturating_add(lifetime);
    let (refresh_key, refresh_token) = (ids::refresh_key(), ids::refresh_token());
    account
        .refresh_pairs
        .insert((refresh_key.clone(), refresh_token.clone()));
    account.keys.push(musickey.clone());
    let access_token = ids::access_token();
    account.access_tokens.push(access_token.clone());
    keys.insert(
        musickey.clone(),
        KeyRecord {
            uin: account.uin,
            expires_at,
        },
    );
    Grant {
        uin: account.uin,
        login_type: account.login_type,
        musickey,
        refresh_key,
        refresh_token,
        access_token,
        created_at: now,
        expires_at,
        openid: account.openid.clone(),
        unionid: account.unionid.clone(),
        encrypt_uin: account.encrypt_uin.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFE: i64 = 259_200;

    fn attempt<'a>(g: &'a Grant, key: &'a str, rk: &'a str, rt: &'a str) -> LoginAttempt<'a> {
        let kind = if g.musickey.starts_with("W_X_") {
            Kind::Wx
        } else {
            Kind::Qq
        };
        LoginAttempt {
            kind,
            login_type: kind.login_type(),
            uin: g.uin,
            musickey: key,
            refresh_key: rk,
            refresh_token: rt,
        }
    }

    #[test]
    fn old_keys_keep_working_until_their_own_expiry_after_a_rotation() {
        let mut s = Accounts::default();
        let g = s.create(Kind::Qq, None, None, 1_000, LIFE);
        let new = s.login(&attempt(&g, &g.musickey, "", ""), 2_000, LIFE);
        let new = new.unwrap_or_else(|c| panic!("login refused with {c}"));
        assert_ne!(new.musickey, g.musickey);
        assert!(s.authenticate(&g.musickey, Some(g.uin), 2_000).is_some());
        assert!(s
            .authenticate(&g.musickey, Some(g.uin), 1_000 + LIFE)
            .is_none());
        assert!(s
            .authenticate(&new.musickey, Some(g.uin), 1_000 + LIFE)
            .is_some());
    }

    #[test]
    fn a_key_presented_with_another_uin_does_not_authenticate() {
        let mut s = Accounts::default();
        let g = s.create(Kind::Wx, None, None, 1_000, LIFE);
        assert!(s
            .authenticate(&g.musickey, Some(g.uin + 1), 1_000)
            .is_none());
        assert!(s.authenticate(&g.musickey, None, 1_000).is_some());
    }

    #[test]
    fn a_mismatched_refresh_pair_does_not_revive_an_expired_key() {
        let mut s = Accounts::default();
        let g = s.create(Kind::Qq, None, None, 1_000, LIFE);
        let g2 = s.create(Kind::Qq, None, None, 1_000, LIFE);
        assert!(s.expire_all(g.uin, 1_000));
        let crossed = attempt(&g, &g.musickey, &g.refresh_key, &g2.refresh_token);
        assert_eq!(
            s.login(&crossed, 1_001, LIFE).err(),
            Some(codes::LOGIN_REQUIRED)
        );
        let right = attempt(&g, &g.musickey, &g.refresh_key, &g.refresh_token);
        assert!(s.login(&right, 1_001, LIFE).is_ok());
    }
}
