//! The QQ (ptqrlogin) and WeChat (long poll) QRs, and the secrets their
//! confirms hand on: ptsigx, p_skey, QQ Connect and WeChat codes.

use sha1::{Digest, Sha1};

use super::{spend, ticket, Logins, QrKind, QrLogin, Refused, CODE_LIFETIME, P_SKEY_LIFETIME};
use crate::login::ids;
use crate::state::Kind;

/// The public QR ident of a qrsig: derived, so the QR text never holds the
/// qrsig itself.
fn qq_ident(qrsig: &str) -> String {
    let digest = Sha1::digest(format!("ptqr:{qrsig}").as_bytes());
    hex::encode(digest)[..32].to_owned()
}

impl Logins {
    /// A new QQ QR: answers (ident, qrsig).
    pub fn new_qq(&mut self, now: i64, lifetime: i64) -> (String, String) {
        let mut qrsig = ids::qrsig();
        while self.qrsigs.contains_key(&qrsig) {
            qrsig = ids::qrsig();
        }
        let ident = qq_ident(&qrsig);
        self.issued.push(qrsig.clone());
        self.qrsigs.insert(qrsig.clone(), ident.clone());
        self.insert(
            ident.clone(),
            QrKind::Qq,
            Some(qrsig.clone()),
            now,
            lifetime,
        );
        (ident, qrsig)
    }

    /// A new WeChat QR: answers its uuid (the ident).
    pub fn new_wx(&mut self, now: i64, lifetime: i64) -> String {
        let mut uuid = ids::wx_uuid();
        while self.qr.contains_key(&uuid) {
            uuid = ids::wx_uuid();
        }
        self.insert(uuid.clone(), QrKind::Wx, None, now, lifetime);
        uuid
    }

    /// The login a qrsig polls, its expiry applied.
    pub fn by_qrsig(&mut self, qrsig: &str, now: i64) -> Option<&mut QrLogin> {
        let ident = self.qrsigs.get(qrsig)?.clone();
        self.get(&ident, now)
    }

    /// Spends a ptsigx issued for `uin`.
    pub fn take_ptsigx(&mut self, sig: &str, uin: u64, now: i64) -> Result<u64, Refused> {
        spend(&mut self.ptsigx, sig, Some(uin), now)
    }

    /// A p_skey for `uin`, with the pt4_token that rides along: (p_skey, pt4_token).
    pub fn issue_p_skey(&mut self, uin: u64, now: i64) -> (String, String) {
        let p_skey = ids::p_skey();
        let pt4 = ids::p_skey();
        self.issued.push(p_skey.clone());
        self.issued.push(pt4.clone());
        self.p_skeys
            .insert(p_skey.clone(), ticket(uin, now, P_SKEY_LIFETIME));
        (p_skey, pt4)
    }

    /// The uin a live p_skey belongs to (it serves many times).
    pub fn p_skey_uin(&self, p_skey: &str, now: i64) -> Option<u64> {
        self.p_skeys
            .get(p_skey)
            .filter(|t| now < t.expires_at)
            .map(|t| t.uin)
    }

    /// A QQ Connect auth code for `uin`.
    pub fn issue_qq_code(&mut self, uin: u64, now: i64) -> String {
        let code = ids::qq_code();
        self.issued.push(code.clone());
        self.qq_codes
            .insert(code.clone(), ticket(uin, now, CODE_LIFETIME));
        code
    }

    /// Spends a QQ Connect (`Kind::Qq`) or WeChat (`Kind::Wx`) code.
    pub fn take_code(&mut self, kind: Kind, code: &str, now: i64) -> Result<u64, Refused> {
        let codes = match kind {
            Kind::Qq => &mut self.qq_codes,
            Kind::Wx => &mut self.wx_codes,
        };
        spend(codes, code, None, now)
    }
}
