//! The login hosts of `docs/protocol.md` section 9 (ptlogin2, check_sig,
//! QQ Connect OAuth, WeChat open platform), all on the simulator's one
//! port, and their `/_sim/qr` and `/_sim/clients` control routes. The crate
//! documentation describes every answer.

pub mod admin;
mod desktop;
mod fast;
mod ids;
mod push;
mod qq;
pub mod qr_image;
mod store;
mod wire;
mod wx;

use axum::routing::{get, post};
use axum::Router;

use crate::app::AppState;

pub use store::{Logins, QrAction, QrState};

/// ptlogin's appid of QQ Music's web login.
pub const PT_APPID: &str = "716027609";
/// QQ Music's QQ Connect client id (`pt_3rd_aid`, `client_id`).
pub const CONNECT_APPID: &str = "100497308";
/// QQ Music's WeChat open platform appid.
pub const WX_APPID: &str = "wx48db31d50e334801";
/// Where check_sig sends the browser, and ptlogin's `u1`.
pub const LOGIN_JUMP: &str = "https://graph.qq.com/oauth2.0/login_jump";

/// `hash33(s, seed)` of section 9: h = seed; h = h*33 + code point, per
/// char; the result masked to 31 bits. ptqrtoken uses seed 0, g_tk 5381.
pub fn hash33(s: &str, seed: u32) -> u32 {
    // Masking each step or only at the end gives the same low 31 bits.
    s.chars()
        .fold(seed, |h, c| h.wrapping_mul(33).wrapping_add(u32::from(c)))
        & 0x7fff_ffff
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ptqrshow", get(qq::ptqrshow))
        .route("/ptqrlogin", get(qq::ptqrlogin))
        .route("/check_sig", get(qq::check_sig))
        .route("/oauth2.0/authorize", post(qq::authorize))
        .route("/jump", get(fast::jump))
        .route("/cgi-bin/xlogin", get(desktop::xlogin))
        .route("/pt_get_uins", get(desktop::get_uins))
        .route("/pt_get_st", get(desktop::get_st))
        .route(
            "/_sim/desktop",
            get(admin::desktop_route).post(admin::set_desktop_route),
        )
        .route("/connect/qrconnect", get(wx::qrconnect))
        .route("/connect/qrcode/{uuid}", get(wx::qrcode))
        .route("/connect/l/qrconnect", get(wx::long_poll))
        .route("/ws/handshake", get(push::handshake))
        .route("/ws/handshake/{node}", get(push::handshake_node))
        .route("/_sim/push/redirect", post(admin::redirect_route))
        .route("/_sim/push/drop", post(admin::drop_route))
        .route("/_sim/qr", get(admin::list))
        .route("/_sim/qr/{ident}", post(admin::act))
        .route("/_sim/clients", post(admin::new_client_route))
        .route(
            "/_sim/clients/{uin}/expire",
            post(admin::expire_client_route),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash33_matches_the_section_9_checks() {
        assert_eq!(hash33("QRSIGvalue", 0), 1_377_046_915);
        assert_eq!(hash33("PSKEYxyz", 5381), 2_037_244_188);
        assert_eq!(hash33("", 5381), 5381);
        assert_eq!(hash33("abc", 5381), 193_485_963);
        assert_eq!(hash33("", 0), 0);
    }

    #[test]
    fn seed_5381_agrees_with_the_gateway_g_tk_on_ascii() {
        let key = "Q_H_L_5aGz9-xYw_0123456789abcdefghijABCDEFGHIJ";
        assert_eq!(hash33(key, 5381), crate::zzc::hash33(key));
    }
}
