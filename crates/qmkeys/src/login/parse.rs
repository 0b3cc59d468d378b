//! Readers for the login hosts' answers (docs/protocol.md section 9). Every
//! input here comes from outside: nothing panics, nothing is followed, and
//! only the fields named are taken.

use super::secret::Secret;
use crate::domain::Uin;
use url::Url;

/// Longest answer text worth reading as a callback; real ones are < 1 KiB.
const MAX_CALLBACK_LEN: usize = 16 * 1024;

/// The single-quoted arguments of a JavaScript call such as
/// `ptuiCB('66','0','','0','二维码未失效。', '')`, when `text` is one call of
/// `name`. A backslash keeps the next character as it is.
pub fn callback_args(text: &str, name: &str) -> Option<Vec<String>> {
    if text.len() > MAX_CALLBACK_LEN {
        return None;
    }
    let rest = text.trim().strip_prefix(name)?.trim_start();
    let mut chars = rest.strip_prefix('(')?.chars();
    let mut args = Vec::new();
    loop {
        match chars.by_ref().find(|c| !c.is_whitespace())? {
            '\'' => {}
            ')' if args.is_empty() => break,
            _ => return None,
        }
        let mut arg = String::new();
        loop {
            match chars.next()? {
                '\'' => break,
                '\\' => arg.push(chars.next()?),
                c => arg.push(c),
            }
        }
        args.push(arg);
        match chars.by_ref().find(|c| !c.is_whitespace())? {
            ',' => {}
            ')' => break,
            _ => return None,
        }
    }
    let tail = chars.as_str().trim();
    (tail.is_empty() || tail == ";").then_some(args)
}

/// What ptqrlogin says about a QR (section 9.1 step 2).
#[derive(Debug, PartialEq, Eq)]
pub enum PtStatus {
    Waiting,
    Scanned,
    Expired,
    Refused,
    /// Confirmed; the check_sig URL it names, not yet read.
    Done(String),
    /// A code section 9 does not list.
    Other,
}

pub fn ptqrlogin(text: &str) -> Option<PtStatus> {
    let args = callback_args(text, "ptuiCB")?;
    let code = args.first()?;
    Some(match code.as_str() {
        "66" => PtStatus::Waiting,
        "67" => PtStatus::Scanned,
        "65" => PtStatus::Expired,
        "68" => PtStatus::Refused,
        "0" => PtStatus::Done(args.get(2)?.clone()),
        _ => PtStatus::Other,
    })
}

/// `ptui_qlogin_CB('0', '<check_sig url>', '')` (section 9.3): `Some(url)`
/// when the key was taken, `None` inside when refused; `None` outside when
/// the text is not that callback at all.
pub fn qlogin(text: &str) -> Option<Option<String>> {
    let args = callback_args(text, "ptui_qlogin_CB")?;
    match args.first()?.as_str() {
        "0" => Some(Some(args.get(1)?.clone())),
        _ => Some(None),
    }
}

/// The two things qmkeys takes from a check_sig URL that came from outside.
#[derive(Debug)]
pub struct SigTicket {
    pub uin: Uin,
    pub ptsigx: Secret,
}

/// Reads `uin` (a QQ number) and `ptsigx` out of a check_sig URL, and nothing
/// else: the URL itself is never requested.
pub fn check_sig_url(url: &str) -> Option<SigTicket> {
    let url = Url::parse(url).ok()?;
    let mut uin = None;
    let mut ptsigx = None;
    for (name, value) in url.query_pairs() {
        match name.as_ref() {
            // A repeated field is ambiguous: refuse rather than pick one.
            "uin" if uin.is_none() => uin = Some(value.into_owned()),
            "ptsigx" if ptsigx.is_none() => ptsigx = Some(value.into_owned()),
            "uin" | "ptsigx" => return None,
            _ => {}
        }
    }
    let uin = uin?;
    if !(6..=11).contains(&uin.len()) {
        return None;
    }
    let uin = Uin::parse(&uin).ok()?;
    let ptsigx = ptsigx?;
    let sig_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'*');
    if !(1..=512).contains(&ptsigx.len()) || !ptsigx.bytes().all(sig_char) {
        return None;
    }
    Some(SigTicket {
        uin,
        ptsigx: Secret::new(ptsigx),
    })
}

/// WeChat's long poll answer `window.wx_errcode=<n>;window.wx_code='<code>';`
/// (section 9.2 step 3): the number and the code, empty when none.
pub fn wx_poll(text: &str) -> Option<(u16, String)> {
    if text.len() > MAX_CALLBACK_LEN {
        return None;
    }
    let after = text.split_once("wx_errcode=")?.1;
    let digits: String = after.chars().take_while(char::is_ascii_digit).collect();
    let errcode = digits.parse().ok()?;
    let code = match text.split_once("wx_code='") {
        Some((_, rest)) => rest.split_once('\'')?.0.to_owned(),
        None => String::new(),
    };
    Some((errcode, code))
}

/// The uuid in WeChat's qrconnect page: the first match of `uuid=(.+?)"`.
/// It goes into a URL path, so only letters, digits, `-` and `_` pass.
pub fn wx_uuid(html: &str) -> Option<String> {
    let rest = html.split_once("uuid=")?.1;
    let uuid = rest.split_once('"')?.0;
    let ok = (1..=64).contains(&uuid.len())
        && uuid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'));
    ok.then(|| uuid.to_owned())
}

/// The `code` of authorize's redirect `Location` (section 9.1 step 4).
pub fn authorize_code(location: &str) -> Option<Secret> {
    let url = Url::parse(location).ok()?;
    let mut codes = url.query_pairs().filter(|(k, _)| k == "code");
    let code = codes.next()?.1;
    if codes.next().is_some() {
        return None;
    }
    Secret::code(&code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ptuicb_states() {
        let cb = |code: &str, url: &str| format!("ptuiCB('{code}','0','{url}','0','消息', '')");
        assert_eq!(ptqrlogin(&cb("66", "")), Some(PtStatus::Waiting));
        assert_eq!(ptqrlogin(&cb("67", "")), Some(PtStatus::Scanned));
        assert_eq!(ptqrlogin(&cb("65", "")), Some(PtStatus::Expired));
        assert_eq!(ptqrlogin(&cb("68", "")), Some(PtStatus::Refused));
        assert_eq!(ptqrlogin(&cb("403", "")), Some(PtStatus::Other));
        assert_eq!(
            ptqrlogin(&cb("0", "https://x/check_sig?uin=1")),
            Some(PtStatus::Done("https://x/check_sig?uin=1".into()))
        );
        assert_eq!(ptqrlogin("ptuiCB('0')"), None, "done without a URL");
    }

    #[test]
    fn callbacks_refuse_what_is_not_one_call() {
        for bad in [
            "",
            "ptuiCB",
            "ptuiCB(",
            "ptuiCB('66'",
            "ptuiCB('66',",
            "ptuiCB(66)",
            "ptuiCB('66') + evil()",
            "xptuiCB('66')",
            "ptuiCB('6\\",
        ] {
            assert_eq!(callback_args(bad, "ptuiCB"), None, "{bad}");
        }
        assert_eq!(
            callback_args(" ptuiCB( 'a\\'b' , '' ) ; ", "ptuiCB"),
            Some(vec!["a'b".to_owned(), String::new()])
        );
        assert_eq!(callback_args("ptuiCB()", "ptuiCB"), Some(vec![]));
    }

    #[test]
    fn qlogin_takes_the_url_only_on_zero() {
        assert_eq!(
            qlogin("ptui_qlogin_CB('0', 'https://h/check_sig?a=1', '')"),
            Some(Some("https://h/check_sig?a=1".into()))
        );
        assert_eq!(qlogin("ptui_qlogin_CB('-1', '', '')"), Some(None));
        assert_eq!(qlogin("ptuiCB('0', 'u', '')"), None);
    }

    #[test]
    fn check_sig_url_gives_only_uin_and_ptsigx() {
        let t = check_sig_url(
            "http://evil.example/check_sig?pttype=1&uin=123456789&service=ptqrlogin&ptsigx=ab12cd&s_url=https%3A%2F%2Fevil",
        )
        .expect("ticket");
        assert_eq!(t.uin.get(), 123456789);
        assert_eq!(t.ptsigx.expose(), "ab12cd");
        for bad in [
            "not a url",
            "https://h/check_sig?uin=123456789",
            "https://h/check_sig?ptsigx=ab",
            "https://h/check_sig?uin=12345&ptsigx=ab",
            "https://h/check_sig?uin=123456789012&ptsigx=ab",
            "https://h/check_sig?uin=12345678a&ptsigx=ab",
            "https://h/check_sig?uin=123456789&ptsigx=a%3Bb",
            "https://h/check_sig?uin=123456789&ptsigx=",
            "https://h/check_sig?uin=123456789&ptsigx=ab&uin=987654321",
        ] {
            assert!(check_sig_url(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn wx_poll_reads_code_and_errcode() {
        assert_eq!(
            wx_poll("window.wx_errcode=405;window.wx_code='0abc';"),
            Some((405, "0abc".into()))
        );
        assert_eq!(
            wx_poll("window.wx_errcode=408;window.wx_code='';"),
            Some((408, String::new()))
        );
        assert_eq!(
            wx_poll("window.wx_errcode=408;"),
            Some((408, String::new()))
        );
        for bad in [
            "",
            "window.wx_errcode=;",
            "wx_errcode=99999999",
            "window.wx_errcode=405;window.wx_code='x",
        ] {
            assert_eq!(wx_poll(bad), None, "{bad}");
        }
    }

    #[test]
    fn wx_uuid_is_the_first_match_and_path_safe() {
        assert_eq!(
            wx_uuid(r#"<img src="/connect/qrcode/x"> <a href="?uuid=AbC123xyz0123456">"#),
            Some("AbC123xyz0123456".into())
        );
        assert_eq!(wx_uuid(r#"uuid=../../x""#), None);
        assert_eq!(wx_uuid(r#"uuid=""#), None);
        assert_eq!(wx_uuid("no uuid here"), None);
    }

    #[test]
    fn authorize_code_is_read_from_the_location() {
        let loc = "https://y.qq.com/portal/wx_redirect.html?login_type=1&surl=https://y.qq.com/&code=ABCDEF0123&state=state";
        assert_eq!(
            authorize_code(loc).map(|c| c.expose().to_owned()),
            Some("ABCDEF0123".into())
        );
        assert!(authorize_code("https://y.qq.com/?state=state").is_none());
        assert!(authorize_code("https://y.qq.com/?code=a&code=b").is_none());
        assert!(authorize_code("https://y.qq.com/?code=a%20b").is_none());
        assert!(authorize_code("/relative?code=a").is_none());
    }

    proptest! {
        #[test]
        fn hostile_answers_never_panic(text in ".{0,300}") {
            let _ = ptqrlogin(&text);
            let _ = qlogin(&text);
            let _ = wx_poll(&text);
            let _ = wx_uuid(&text);
            let _ = check_sig_url(&text);
            let _ = authorize_code(&text);
        }

        #[test]
        fn near_callbacks_never_panic(args in proptest::collection::vec("[^']{0,20}", 0..8), junk in "[(),'\\\\ ]{0,10}") {
            let text = format!("ptuiCB('{}'{junk}", args.join("','"));
            let _ = ptqrlogin(&text);
            let text = format!("ptui_qlogin_CB('{}'{junk}", args.join("', '"));
            let _ = qlogin(&text);
        }

        #[test]
        fn any_ptsigx_taken_is_in_the_charset(uin in "[1-9][0-9]{5,10}", sig in ".{0,40}") {
            let url = format!("https://h/check_sig?uin={uin}&ptsigx={}",
                percent_encoding::utf8_percent_encode(&sig, percent_encoding::NON_ALPHANUMERIC));
            if let Some(t) = check_sig_url(&url) {
                prop_assert!(t.ptsigx.expose().bytes().all(|b| b.is_ascii_alphanumeric() || b"-_*".contains(&b)));
                prop_assert_eq!(t.uin.to_string(), uin);
            }
        }
    }
}
