//! QQ's QR (docs/protocol.md section 9.1): ptqrshow's PNG and `qrsig`,
//! ptqrlogin polled every 1.5 s, then check_sig, authorize and `QQLogin`,
//! which desktop fast login shares.

use crate::domain::AccountKind;
use crate::login::parse::{self, PtStatus, SigTicket};
use crate::login::provider::{Ctx, Delivery, KindInfo, QrProvider, Seen};
use crate::login::secret::Secret;
use crate::login::LoginSettings;
use crate::login::{ptlogin, LoginError};
use crate::upstream::LoginGrant;
use tokio::time::Instant;

pub struct QqQr;

impl QrProvider for QqQr {
    const INFO: KindInfo = KindInfo {
        name: "qq",
        label_zh: "QQ",
        label_en: "QQ",
        mime: "image/png",
        account: Some(AccountKind::Qq),
        delivery: Delivery::Polled,
        login_type: 2,
    };
    type Handle = Secret;
    type Confirmed = SigTicket;

    fn new(_: &LoginSettings) -> Self {
        QqQr
    }

    async fn show(&self, ctx: &Ctx) -> Result<(Vec<u8>, Secret), LoginError> {
        ptlogin::qr_show(&ctx.hosts).await
    }

    async fn next_state(
        &self,
        ctx: &Ctx,
        qrsig: &mut Secret,
        _: Instant,
    ) -> Result<Seen<SigTicket>, LoginError> {
        Ok(match ptlogin::qr_poll(&ctx.hosts, qrsig).await? {
            PtStatus::Waiting => Seen::Waiting,
            PtStatus::Scanned => Seen::Scanned,
            PtStatus::Expired => Seen::Expired,
            PtStatus::Refused => Seen::Refused,
            PtStatus::Done(url) => Seen::Confirmed(parse::check_sig_url(&url).ok_or(
                LoginError::Protocol("ptqrlogin answered an unreadable check_sig URL"),
            )?),
            PtStatus::Other => {
                return Err(LoginError::Protocol("ptqrlogin answered an unknown code"))
            }
        })
    }

    async fn finish(&self, ctx: &Ctx, ticket: SigTicket) -> Result<LoginGrant, LoginError> {
        ctx.qq_ticket_login(&ticket).await
    }
}
