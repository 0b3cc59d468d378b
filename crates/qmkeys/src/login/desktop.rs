//! Reading the client key on the desktop (docs/protocol.md section 9.5), for
//! `qmkeys login --desktop`: xlogin's `pt_local_token`, then desktop QQ's
//! local ptlogin service (`/pt_get_uins`, `/pt_get_st`) on this machine.
//! The key it hands over then goes to [`super::LoginService::fast_login`]
//! or a server's fastlogin route; it is never logged or shown.

use super::secret::Secret;
use super::wire::{self, Hosts, USER_AGENT};
use super::{LoginError, LoginSettings};
use crate::domain::{ClientKey, Uin};
use rand::Rng;
use reqwest::header::{HeaderValue, REFERER};
use serde::Deserialize;
use url::Url;

const XLOGIN_PATH: &str = "cgi-bin/xlogin";
/// The local service checks the Referer is the xlogin page on its real host,
/// whichever host `xlogin_base` names.
const REAL_XLOGIN: &str = "https://xui.ptlogin2.qq.com/cgi-bin/xlogin";
/// More accounts than anyone keeps logged in on one desktop.
const MAX_ACCOUNTS: usize = 64;
/// Nicknames are shown in a terminal: at most this many characters.
const MAX_NICKNAME: usize = 64;

/// Characters a nickname loses before it is printed: controls (escape
/// sequences) and the invisible marks that reorder or hide text.
fn unprintable(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

/// An account logged in on the desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesktopAccount {
    pub uin: Uin,
    /// Control characters and direction marks removed, so it is safe to print.
    pub nickname: String,
}

/// A desktop QQ's local service that answered, and the token it takes.
pub struct LocalClient {
    base: Url,
    token: Secret,
}

impl LocalClient {
    /// Where it answered.
    pub fn base(&self) -> &Url {
        &self.base
    }
}

/// What reads the desktop: the xlogin host and a client for the local one.
pub struct Desktop {
    hosts: Hosts,
    /// Never through a proxy: the local service is on this machine.
    local: reqwest::Client,
    xlogin: Url,
}

/// xlogin's query (section 9.5 step 1), the same on the page asked for and
/// in the Referer the local service checks.
fn xlogin_query(url: &mut Url) {
    url.query_pairs_mut().extend_pairs([
        ("appid", super::ptlogin::APPID),
        ("daid", super::ptlogin::DAID),
        ("style", "33"),
        ("login_text", "登录"),
        ("hide_title_bar", "1"),
        ("hide_border", "1"),
        ("target", "self"),
        ("s_url", super::ptlogin::LOGIN_JUMP),
        ("pt_3rd_aid", super::ptlogin::PT_3RD_AID),
        (
            "pt_feedback_link",
            "https://support.qq.com/products/77942?customInfo=.appid100497308",
        ),
        ("theme", "2"),
        ("verify_theme", ""),
    ]);
}

impl Desktop {
    pub fn new(settings: &LoginSettings) -> Result<Self, reqwest::Error> {
        let local = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .no_proxy()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            hosts: Hosts::new(settings)?,
            local,
            xlogin: settings.xlogin.clone(),
        })
    }

    /// Asks xlogin for a token, then each base in turn for the accounts
    /// logged in there; the first that answers is used. `Ok(None)`: none
    /// of them answered (nothing listens there: desktop QQ is not running).
    pub async fn find(
        &self,
        bases: &[Url],
    ) -> Result<Option<(LocalClient, Vec<DesktopAccount>)>, LoginError> {
        let token = self.local_token().await?;
        for base in bases {
            let mut url = Hosts::url(base, "pt_get_uins")?;
            let r = random();
            url.query_pairs_mut().extend_pairs([
                ("callback", "ptui_getuins_CB"),
                ("r", r.as_str()),
                ("pt_local_tk", token.expose()),
            ]);
            let Some(text) = self.local_text("pt_get_uins", url, &token).await? else {
                continue;
            };
            let accounts = uin_list(&text).ok_or(LoginError::Protocol(
                "pt_get_uins answered no var_sso_uin_list",
            ))?;
            let client = LocalClient {
                base: base.clone(),
                token,
            };
            return Ok(Some((client, accounts)));
        }
        Ok(None)
    }

    /// The client key of `uin` (step 3); `Ok(None)` when the local service
    /// set none (that account is not logged in there any more).
    pub async fn client_key(
        &self,
        client: &LocalClient,
        uin: Uin,
    ) -> Result<Option<ClientKey>, LoginError> {
        const STEP: &str = "pt_get_st";
        let mut url = Hosts::url(&client.base, STEP)?;
        let (uin_text, r) = (uin.to_string(), random());
        url.query_pairs_mut().extend_pairs([
            ("clientuin", uin_text.as_str()),
            ("r", r.as_str()),
            ("pt_local_tk", client.token.expose()),
            ("callback", "__jp0"),
        ]);
        let response = self
            .local_request(url, &client.token)?
            .send()
            .await
            .map_err(|e| LoginError::from_transport(STEP, e))?;
        wire::ok_status(STEP, &response)?;
        let cookies = wire::set_cookies(response.headers());
        let Some(key) = wire::find_cookie(&cookies, "clientkey") else {
            return Ok(None);
        };
        let named = wire::find_cookie(&cookies, "clientuin").map(Secret::expose);
        if named.and_then(|u| u.parse::<u64>().ok()) != Some(uin.get()) {
            return Err(LoginError::Protocol(
                "pt_get_st answered for another account",
            ));
        }
        ClientKey::parse(key.expose())
            .map(Some)
            .map_err(|_| LoginError::Protocol("pt_get_st set an unusable clientkey"))
    }

    /// Step 1: the xlogin page's `pt_local_token` cookie.
    async fn local_token(&self) -> Result<Secret, LoginError> {
        const STEP: &str = "xlogin";
        let mut url = Hosts::url(&self.xlogin, XLOGIN_PATH)?;
        xlogin_query(&mut url);
        let response = wire::send(STEP, self.hosts.get(url)).await?;
        wire::ok_status(STEP, &response)?;
        let cookies = wire::set_cookies(response.headers());
        wire::find_cookie(&cookies, "pt_local_token")
            .cloned()
            .ok_or(LoginError::Protocol("xlogin set no pt_local_token cookie"))
    }

    /// A request to the local service with the token's cookie and xlogin's
    /// Referer.
    fn local_request(
        &self,
        url: Url,
        token: &Secret,
    ) -> Result<reqwest::RequestBuilder, LoginError> {
        let cookie = wire::cookie_header([("pt_local_token", token.expose())])?;
        let referer = real_xlogin_url()
            .and_then(|u| HeaderValue::from_str(u.as_str()).ok())
            .ok_or(LoginError::Protocol("the xlogin Referer cannot be built"))?;
        Ok(wire::with_cookie(self.local.get(url), cookie).header(REFERER, referer))
    }

    /// The local service's answer as text; `Ok(None)` when nothing listens
    /// at that base (a connection refused, or a name that does not resolve).
    async fn local_text(
        &self,
        step: &'static str,
        url: Url,
        token: &Secret,
    ) -> Result<Option<String>, LoginError> {
        match self.local_request(url, token)?.send().await {
            Ok(response) => wire::text(step, response).await.map(Some),
            Err(e) if e.is_connect() => {
                tracing::debug!(step, error = %e.without_url(), "no local service there");
                Ok(None)
            }
            Err(e) => Err(LoginError::from_transport(step, e)),
        }
    }
}

fn real_xlogin_url() -> Option<Url> {
    let mut url = Url::parse(REAL_XLOGIN).ok()?;
    xlogin_query(&mut url);
    Some(url)
}

/// `r`: a random number in 0..1, as the page's script sends.
fn random() -> String {
    rand::thread_rng().gen::<f64>().to_string()
}

#[derive(Deserialize)]
struct RawAccount {
    #[serde(default)]
    uin: serde_json::Value,
    #[serde(default)]
    nickname: String,
}

/// The accounts of `var var_sso_uin_list=[...];` (step 2). Entries whose uin
/// is not a QQ number are left out; nicknames lose what [`unprintable`] names.
pub fn uin_list(text: &str) -> Option<Vec<DesktopAccount>> {
    let (_, rest) = text.split_once("var_sso_uin_list")?;
    let rest = rest.trim_start().strip_prefix('=')?;
    // One JSON value, whatever follows it (`;ptui_getuins_CB(...)`).
    let raw: Vec<RawAccount> = serde_json::Deserializer::from_str(rest)
        .into_iter()
        .next()?
        .ok()?;
    let mut accounts: Vec<DesktopAccount> = Vec::new();
    for entry in raw {
        let uin = match &entry.uin {
            serde_json::Value::Number(n) => n.as_u64().map(Uin::from),
            serde_json::Value::String(s) => Uin::parse(s).ok(),
            _ => None,
        };
        let Some(uin) = uin.filter(|u| (5..=11).contains(&u.digits())) else {
            continue;
        };
        if accounts.iter().any(|a| a.uin == uin) || accounts.len() >= MAX_ACCOUNTS {
            continue;
        }
        let nickname = entry
            .nickname
            .chars()
            .filter(|c| !unprintable(*c))
            .take(MAX_NICKNAME)
            .collect();
        accounts.push(DesktopAccount { uin, nickname });
    }
    Some(accounts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uin_list_is_read_from_the_javascript_the_local_service_answers() {
        let text = r#"var var_sso_uin_list=[{"uin":123456789,"face_index":-1,"gender":0,"nickname":"小明 \"Q\"\u001b[2J\u202e","client_type":65793,"uin_flag":8388608,"account":"123456789"},{"uin":"2345678901","nickname":"b"}];ptui_getuins_CB(var_sso_uin_list);"#;
        let list = uin_list(text).expect("a list");
        assert_eq!(
            list,
            [
                DesktopAccount {
                    uin: Uin::from(123_456_789),
                    nickname: "小明 \"Q\"[2J".into()
                },
                DesktopAccount {
                    uin: Uin::from(2_345_678_901),
                    nickname: "b".into()
                },
            ]
        );
        assert_eq!(
            uin_list("var var_sso_uin_list=[];ptui_getuins_CB(var_sso_uin_list);"),
            Some(vec![])
        );
    }

    #[test]
    fn odd_entries_are_left_out_and_an_answer_without_the_list_is_none() {
        let text = r#"var var_sso_uin_list = [{"uin":1},{"uin":"x"},{"nickname":"no uin"},{"uin":123456,"nickname":"ok"},{"uin":123456}];"#;
        let list = uin_list(text).expect("a list");
        assert_eq!(list.len(), 1, "{list:?}");
        assert_eq!(list[0].uin.get(), 123_456);
        for bad in [
            "",
            "ptui_getuins_CB([]);",
            "var var_sso_uin_list=[{",
            "var var_sso_uin_list={}",
        ] {
            assert_eq!(uin_list(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_referer_is_the_xlogin_page_on_its_real_host() {
        let url = real_xlogin_url().expect("url");
        assert!(url.as_str().starts_with(
            "https://xui.ptlogin2.qq.com/cgi-bin/xlogin?appid=716027609&daid=383&style=33"
        ));
        assert!(url.as_str().ends_with("&theme=2&verify_theme="), "{url}");
    }
}
