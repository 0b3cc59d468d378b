//! The refresh endpoint's parameters: `Refresh::from_parts` (query string and
//! form body, exactly what the route's extractor does once it has the body);
//! and `Credential::parse` on raw strings, which reaches it faster.
//!
//! Beyond "never panics", it checks:
//! - an accepted credential holds only what can go into a Cookie header and a
//!   JSON body (visible ASCII without `;` `,` `"` `\`, at most 1024 bytes),
//!   its uin fits its kind, and it parses again to itself from its own parts;
//! - `Debug` of a credential does not depend on its secrets (so no log line
//!   that formats one can leak a key);
//! - every refusal maps to a 4xx envelope whose code is `status * 100 + n`.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use qmkeys::domain::{AccountKind, Credential, MusicKey, RefreshSecret};
use qmkeys::http::error::ApiError;
use qmkeys::http::params::Refresh;

#[derive(Arbitrary, Debug)]
enum ContentType {
    None,
    Form,
    FormWithCharset,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Input {
    Fields {
        uin: Option<String>,
        music_key: Option<String>,
        refresh_key: Option<String>,
        refresh_token: Option<String>,
    },
    Request {
        post: bool,
        query: Option<String>,
        content_type: ContentType,
        body: Vec<u8>,
    },
}

fuzz_target!(|input: Input| match input {
    Input::Fields {
        uin,
        music_key,
        refresh_key,
        refresh_token,
    } => check(
        uin.as_deref(),
        music_key.as_deref(),
        refresh_key.as_deref(),
        refresh_token.as_deref(),
    ),
    Input::Request {
        post,
        query,
        content_type,
        body,
    } => {
        let content_type = match content_type {
            ContentType::None => None,
            ContentType::Form => Some("application/x-www-form-urlencoded".to_owned()),
            ContentType::FormWithCharset => {
                Some("application/x-www-form-urlencoded; charset=utf-8".to_owned())
            }
            ContentType::Other(s) => Some(s),
        };
        let form = post.then_some((content_type.as_deref(), body.as_slice()));
        match Refresh::from_parts(query.as_deref(), form) {
            Ok(refresh) => {
                let cred = &refresh.cred;
                let uin = cred.uin.get().to_string();
                check(
                    Some(&uin),
                    Some(cred.key.expose()),
                    Some(cred.refresh_key_str()),
                    Some(cred.refresh_token_str()),
                )
            }
            Err(err) => assert_client_error(&err),
        }
    }
});

fn check(uin: Option<&str>, key: Option<&str>, rk: Option<&str>, rt: Option<&str>) {
    let cred = match Credential::parse(uin, key, rk, rt) {
        Ok(cred) => cred,
        Err(err) => {
            assert!(!err.message.is_empty());
            assert!(["uin", "music_key", "refresh_key", "refresh_token"].contains(&err.param));
            assert_client_error(&ApiError::Param(err));
            return;
        }
    };

    let key = cred.key.expose();
    assert!(safe_secret(key), "unsafe key accepted: {key:?}");
    assert!(key.starts_with(cred.kind().key_prefix()));
    assert!(key.len() > cred.kind().key_prefix().len());
    for secret in [cred.refresh_key_str(), cred.refresh_token_str()] {
        assert!(
            secret.is_empty() || safe_secret(secret),
            "unsafe secret: {secret:?}"
        );
    }
    let digits = cred.uin.get().to_string().len();
    assert_eq!(digits, cred.uin.digits());
    match cred.kind() {
        AccountKind::Qq => assert!((6..=11).contains(&digits), "QQ uin of {digits} digits"),
        AccountKind::WeChat => assert!((1..=19).contains(&digits)),
    }

    // Its own parts parse back to the same credential.
    let uin_text = cred.uin.get().to_string();
    let again = Credential::parse(
        Some(&uin_text),
        Some(key),
        Some(cred.refresh_key_str()),
        Some(cred.refresh_token_str()),
    )
    .expect("a parsed credential parses again");
    assert_eq!(again.uin, cred.uin);
    assert_eq!(again.key, cred.key);
    assert_eq!(again.refresh_key_str(), cred.refresh_key_str());
    assert_eq!(again.refresh_token_str(), cred.refresh_token_str());

    // Debug must not depend on the secrets: swap each for a dummy of the same
    // presence and compare.
    let dummy = |s: &str| (!s.is_empty()).then_some("x");
    let stand_in = Credential::new(
        cred.uin,
        MusicKey::parse(&format!("{}x", cred.kind().key_prefix())).expect("dummy key"),
        RefreshSecret::parse_optional("refresh_key", dummy(cred.refresh_key_str())).expect("dummy"),
        RefreshSecret::parse_optional("refresh_token", dummy(cred.refresh_token_str()))
            .expect("dummy"),
    )
    .expect("same uin and kind");
    assert_eq!(format!("{cred:?}"), format!("{stand_in:?}"));
}

fn safe_secret(s: &str) -> bool {
    s.len() <= 1024
        && s.bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'))
}

fn assert_client_error(err: &ApiError) {
    let parts = err.parts();
    assert!(parts.status.is_client_error(), "{err:?} -> {parts:?}");
    assert_eq!(i32::from(parts.status.as_u16()), parts.code / 100);
    assert!(!parts.message.is_empty());
}
