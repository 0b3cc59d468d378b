//! Settings tests: loading, validation and the accounts. The documentation's
//! tables, the secret settings and every documented setting have files of
//! their own.

mod cases;
mod docs;
mod secrets;

use super::*;
use figment::Jail;

#[test]
fn the_example_file_parses_and_states_the_defaults() {
    let example = include_str!("../../../../../qmkeys.example.toml");
    let from_example = Settings::from_toml(example).expect("example parses");
    let defaults = Settings::default();
    assert_eq!(format!("{from_example:?}"), format!("{defaults:?}"));
}

#[test]
fn defaults_match_the_documented_ones() {
    let s = Settings::from_toml("").expect("defaults");
    assert_eq!(s.http.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(s.upstream.base.as_str(), "https://u.y.qq.com/");
    assert_eq!(s.upstream.timeout_ms, 10_000);
}

// figment's Jail fixes the closure's error type; its size is not ours to choose.
#[allow(clippy::result_large_err)]
#[test]
fn environment_overrides_the_file() {
    Jail::expect_with(|jail| {
        jail.create_file(
            "q.toml",
            "listen = \"127.0.0.1:9000\"\ntips = \"from file\"\n",
        )?;
        jail.set_env("QMKEYS_TIPS", "123");
        jail.set_env("QMKEYS_UPSTREAM_TIMEOUT_MS", "2500");
        jail.set_env("QMKEYS_PTLOGIN_BASE", "http://127.0.0.1:9000");
        jail.set_env("QMKEYS_LOGIN_MAX_SESSIONS", "7");
        let s = Settings::load(Some(Path::new("q.toml"))).map_err(|e| e.to_string())?;
        assert_eq!(s.login.ptlogin_base.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(s.login.max_sessions, 7);
        assert_eq!(s.http.listen.port(), 9000);
        assert_eq!(s.http.tips, "123");
        assert_eq!(s.upstream.timeout_ms, 2500);
        Ok(())
    });
}

#[allow(clippy::result_large_err)]
#[test]
fn unknown_keys_are_refused_naming_the_key() {
    let err = Settings::from_toml("listen_adress = \"x\"")
        .expect_err("unknown")
        .to_string();
    assert!(err.contains("listen_adress"), "{err}");
    Jail::expect_with(|jail| {
        jail.set_env("QMKEYS_UPSTREM", "http://x");
        let err = Settings::load(None).expect_err("unknown env").to_string();
        assert!(err.contains("upstrem"), "{err}");
        Ok(())
    });
}

#[test]
fn bad_values_are_refused_naming_the_key() {
    for (toml, key) in [
        ("listen = \"nowhere\"", "listen"),
        ("upstream = \"ftp://x\"", "upstream"),
        ("upstream_timeout_ms = 0", "upstream_timeout_ms"),
        ("upstream_timeout_ms = \"soon\"", "upstream_timeout_ms"),
        ("log_format = \"xml\"", "log_format"),
        ("ptlogin_base = \"ftp://x\"", "ptlogin_base"),
        ("graph_base = \"https://graph.qq.com/oauth\"", "graph_base"),
        ("wx_lp_base = \"http://h/?q=1\"", "wx_lp_base"),
        (
            "app_qr_push_url = \"https://mu.y.qq.com/ws\"",
            "app_qr_push_url",
        ),
        (
            "app_qr_push_url = \"wss://mu.y.qq.com/ws?x=1\"",
            "app_qr_push_url",
        ),
        ("login_max_sessions = 0", "login_max_sessions"),
        ("login_max_sessions = 100001", "login_max_sessions"),
    ] {
        let err = Settings::from_toml(toml).expect_err(toml).to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[test]
fn accounts_are_read_from_tables_and_wechat_ids_may_be_strings() {
    let s = Settings::from_toml(
        "[[accounts]]\nuin = 123456789\nmusickey = \"Q_H_L_a\"\nrefresh_key = \"rk\"\n\n\
         [[accounts]]\nuin = \"9999999999999999999\"\nmusickey = \"W_X_b\"\n",
    )
    .expect("valid");
    let creds = s.accounts.credentials().expect("valid");
    assert_eq!(creds.len(), 2);
    assert_eq!(creds[0].refresh_key_str(), "rk");
    assert_eq!(creds[1].uin.get(), 9_999_999_999_999_999_999);
    assert!(
        !format!("{s:?}").contains("Q_H_L_a"),
        "Debug hides account keys"
    );
}

#[test]
fn bad_accounts_are_refused_naming_the_entry_and_field() {
    for (toml, expect) in [
        ("[[accounts]]\nuin = 1\nmusickey = \"Q_H_L_a\"", "accounts[0]"),
        ("[[accounts]]\nuin = 123456\nmusickey = \"nope\"", "musickey"),
        ("[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\nmusic_key = \"x\"", "music_key"),
        (
            "[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\n[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_b\"",
            "twice",
        ),
        ("cos_endpoint = \"ftp://{bucket}\"", "cos_endpoint"),
        ("cos_max_upload_bytes = 0", "cos_max_upload_bytes"),
    ] {
        let err = Settings::from_toml(toml).expect_err(toml).to_string();
        assert!(err.contains(expect), "{toml}: {err}");
    }
}

#[test]
fn a_missing_config_file_is_an_error() {
    let err = Settings::load(Some(Path::new("/nonexistent/qmkeys.toml"))).expect_err("missing");
    assert!(matches!(err, ConfigError::MissingFile(_)));
}
