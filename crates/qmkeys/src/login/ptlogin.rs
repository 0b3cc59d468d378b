//! ptlogin2 (docs/protocol.md sections 9.1 steps 1-3 and 9.3 step 1).

use super::parse::{self, PtStatus, SigTicket};
use super::secret::{hash33, Secret};
use super::wire::{self, Hosts, PT_REFERER};
use super::LoginError;
use crate::domain::{ClientKey, Uin};
use rand::Rng;

pub(super) const APPID: &str = "716027609";
pub(super) const DAID: &str = "383";
pub(super) const PT_3RD_AID: &str = "100497308";
pub(super) const LOGIN_JUMP: &str = "https://graph.qq.com/oauth2.0/login_jump";

/// Step 1: the QR image (PNG) and its `qrsig`.
pub async fn qr_show(hosts: &Hosts) -> Result<(Vec<u8>, Secret), LoginError> {
    const STEP: &str = "ptqrshow";
    let mut url = Hosts::url(&hosts.ptlogin, "ptqrshow")?;
    let t = rand::thread_rng().gen::<f64>().to_string();
    url.query_pairs_mut().extend_pairs([
        ("appid", APPID),
        ("e", "2"),
        ("l", "M"),
        ("s", "3"),
        ("d", "72"),
        ("v", "4"),
        ("t", t.as_str()),
        ("daid", DAID),
        ("pt_3rd_aid", PT_3RD_AID),
    ]);
    let request = wire::with_referer(hosts.get(url), PT_REFERER);
    let response = wire::send(STEP, request).await?;
    wire::ok_status(STEP, &response)?;
    let cookies = wire::set_cookies(response.headers());
    let qrsig = wire::find_cookie(&cookies, "qrsig")
        .cloned()
        .ok_or(LoginError::Protocol("ptqrshow set no qrsig cookie"))?;
    let image = wire::body(STEP, response).await?;
    if !image.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Err(LoginError::Protocol("ptqrshow answered no PNG image"));
    }
    Ok((image, qrsig))
}

/// Step 2: one poll of the QR's state.
pub async fn qr_poll(hosts: &Hosts, qrsig: &Secret) -> Result<PtStatus, LoginError> {
    const STEP: &str = "ptqrlogin";
    let mut url = Hosts::url(&hosts.ptlogin, "ptqrlogin")?;
    let token = hash33(qrsig.expose(), 0).to_string();
    let action = format!("0-0-{}", wire::now_ms());
    url.query_pairs_mut().extend_pairs([
        ("u1", LOGIN_JUMP),
        ("ptqrtoken", token.as_str()),
        ("ptredirect", "0"),
        ("h", "1"),
        ("t", "1"),
        ("g", "1"),
        ("from_ui", "1"),
        ("ptlang", "2052"),
        ("action", action.as_str()),
        ("js_ver", "20102616"),
        ("js_type", "1"),
        ("pt_uistyle", "40"),
        ("aid", APPID),
        ("daid", DAID),
        ("pt_3rd_aid", PT_3RD_AID),
        ("has_onekey", "1"),
    ]);
    let cookie = wire::cookie_header([("qrsig", qrsig.expose())])?;
    let request = wire::with_cookie(wire::with_referer(hosts.get(url), PT_REFERER), cookie);
    let text = wire::text(STEP, wire::send(STEP, request).await?).await?;
    parse::ptqrlogin(&text).ok_or(LoginError::Protocol("ptqrlogin answered no ptuiCB call"))
}

/// Step 3: check_sig, rebuilt from the ticket's uin and ptsigx alone. Answers
/// the cookies it sets, `p_skey` among them.
pub async fn check_sig(
    hosts: &Hosts,
    ticket: &SigTicket,
) -> Result<Vec<(String, Secret)>, LoginError> {
    const STEP: &str = "check_sig";
    let mut url = Hosts::url(&hosts.ptlogin_graph, "check_sig")?;
    let uin = ticket.uin.to_string();
    url.query_pairs_mut().extend_pairs([
        ("uin", uin.as_str()),
        ("pttype", "1"),
        ("service", "ptqrlogin"),
        ("nodirect", "0"),
        ("ptsigx", ticket.ptsigx.expose()),
        ("s_url", LOGIN_JUMP),
        ("ptlang", "2052"),
        ("ptredirect", "100"),
        ("aid", APPID),
        ("daid", DAID),
        ("j_later", "0"),
        ("low_login_hour", "0"),
        ("regmaster", "0"),
        ("pt_login_type", "3"),
        ("pt_aid", "0"),
        ("pt_aaid", "16"),
        ("pt_light", "0"),
        ("pt_3rd_aid", PT_3RD_AID),
    ]);
    let request = wire::with_referer(hosts.get(url), PT_REFERER);
    let response = wire::send(STEP, request).await?;
    // The cookies come with a 302 that is never followed.
    if !response.status().is_redirection() {
        return Err(LoginError::HostStatus {
            step: STEP,
            status: response.status().as_u16(),
        });
    }
    let cookies = wire::set_cookies(response.headers());
    if wire::find_cookie(&cookies, "p_skey").is_none() {
        return Err(LoginError::Protocol("check_sig set no p_skey cookie"));
    }
    Ok(cookies)
}

/// Section 9.3 step 1: trades a desktop client key for a check_sig ticket.
pub async fn jump(hosts: &Hosts, uin: Uin, key: &ClientKey) -> Result<SigTicket, LoginError> {
    const STEP: &str = "jump";
    let mut url = Hosts::url(&hosts.ptlogin, "jump")?;
    let uin_text = uin.to_string();
    url.query_pairs_mut().extend_pairs([
        ("clientuin", uin_text.as_str()),
        ("keyindex", "9"),
        ("pt_aid", APPID),
        ("daid", DAID),
        ("u1", LOGIN_JUMP),
        ("pt_3rd_aid", PT_3RD_AID),
        ("ptopt", "1"),
        ("style", "40"),
    ]);
    let cookie = wire::cookie_header([
        ("clientuin", uin_text.as_str()),
        ("clientkey", key.expose()),
    ])?;
    let request = wire::with_cookie(wire::with_referer(hosts.get(url), PT_REFERER), cookie);
    let text = wire::text(STEP, wire::send(STEP, request).await?).await?;
    let url = parse::qlogin(&text)
        .ok_or(LoginError::Protocol("jump answered no ptui_qlogin_CB call"))?
        .ok_or(LoginError::ClientKeyRefused)?;
    let ticket = parse::check_sig_url(&url).ok_or(LoginError::Protocol(
        "jump answered an unreadable check_sig URL",
    ))?;
    if ticket.uin != uin {
        return Err(LoginError::Protocol("jump answered for another account"));
    }
    Ok(ticket)
}
