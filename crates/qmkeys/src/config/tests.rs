use super::*;
use figment::Jail;

#[test]
fn the_example_file_parses_and_states_the_defaults() {
    let example = include_str!("../../../../qmkeys.example.toml");
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
fn secrets_in_settings_never_show_in_debug_output() {
    let s = Settings::from_toml(
        "secret_key = \"0123456789abcdef-secret\"\nadmin_token = \"0123456789abcdef-admin\"",
    )
    .expect("valid");
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("-secret") && !shown.contains("-admin"),
        "{shown}"
    );
    let short = Settings::from_toml("secret_key = \"short\"").expect_err("short key");
    assert!(short.to_string().contains("secret_key"));
}

#[test]
fn webhook_settings_are_checked_and_their_secrets_never_shown() {
    let s = Settings::from_toml(
        "webhook_url = \"https://hooks.example.com/in?token=tok-in-query\"\n\
         webhook_secret = \"0123456789abcdef-hook\"",
    )
    .expect("valid");
    let shown = format!("{s:?}");
    assert!(
        !shown.contains("tok-in-query") && !shown.contains("-hook"),
        "{shown}"
    );
    assert!(shown.contains("hooks.example.com"), "{shown}");
    for (toml, key) in [
        ("webhook_url = \"ftp://example.com/\"", "webhook_url"),
        ("webhook_url = \"not a url\"", "webhook_url"),
        ("webhook_secret = \"short\"", "webhook_secret"),
    ] {
        let err = Settings::from_toml(toml).expect_err(toml).to_string();
        assert!(err.contains(key), "{toml}: {err}");
    }
}

#[test]
fn a_bad_secret_setting_is_refused_naming_the_key_but_never_its_value() {
    for (toml, key, secret) in [
        ("admin_token = 123456789012", "admin_token", "123456789012"),
        ("admin_token = abcdefSECRET", "admin_token", "abcdefSECRET"),
        ("admin_token = \"abc\" SECRETTAIL", "admin_token", "SECRETTAIL"),
        ("secret_key = true\nadmin_token = 4445556667778889", "admin_token", "4445556667778889"),
        ("secret_key = 987654321098765", "secret_key", "987654321098765"),
        ("webhook_secret = 5556667778889990", "webhook_secret", "5556667778889990"),
        ("webhook_url = \"https//hooks.slack.com/services/T0SECRET\"", "webhook_url", "T0SECRET"),
        ("webhook_url = \"https://[::1/services/T0SECRET\"", "webhook_url", "T0SECRET"),
        ("webhook_url = \"ftp://hooks.example.com/T0SECRET\"", "webhook_url", "T0SECRET"),
        ("redis_url = 6379123456", "redis_url", "6379123456"),
        (
            "secret_key = \"0123456789abcdef-key\"\nredis_url = \"redis://:SECRETPW@[bad/\"",
            "redis_url",
            "SECRETPW",
        ),
        (
            "secret_key = \"0123456789abcdef-key\"\nredis_url = \"rediss://:SECRETPW@host:notaport\"",
            "redis_url",
            "SECRETPW",
        ),
        ("accounts = \"Q_H_L_SECRETKEY\"", "accounts", "SECRETKEY"),
        ("[[accounts]]\nuin = 123456\nmusickey = 998877665544", "accounts", "998877665544"),
        ("[[accounts]]\nuin = 123456\nmusickey = Q_H_L_SECRETKEY", "accounts", "SECRETKEY"),
        (
            "[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\nrefresh_key = [\"SECRETRK\"]",
            "accounts",
            "SECRETRK",
        ),
    ] {
        let err = Settings::from_toml(toml).expect_err(toml).to_string();
        assert!(err.contains(key), "{toml}: {err}");
        assert!(!err.contains(secret), "{toml}: {err}");
    }
}

#[allow(clippy::result_large_err)]
#[test]
fn a_bad_secret_setting_in_the_environment_or_a_file_is_refused_without_its_value() {
    Jail::expect_with(|jail| {
        jail.set_env("QMKEYS_WEBHOOK_URL", "hooks.slack.com/services/T0SECRET");
        let err = Settings::load(None).expect_err("relative").to_string();
        assert!(
            err.contains("webhook_url") && err.contains("QMKEYS_WEBHOOK_URL"),
            "{err}"
        );
        assert!(!err.contains("T0SECRET"), "{err}");
        jail.clear_env();
        jail.set_env("QMKEYS_ACCOUNTS", "Q_H_L_SECRETKEY");
        let err = Settings::load(None).expect_err("not a list").to_string();
        assert!(
            err.contains("accounts") && !err.contains("SECRETKEY"),
            "{err}"
        );
        jail.clear_env();
        jail.create_file("q.toml", "tips = \"ok\"\n\nadmin_token = abcdefSECRET\n")?;
        let err = Settings::load(Some(Path::new("q.toml")))
            .expect_err("syntax")
            .to_string();
        assert!(err.contains("q.toml") && err.contains("line 3"), "{err}");
        assert!(
            err.contains("`admin_token`") && !err.contains("SECRET"),
            "{err}"
        );
        Ok(())
    });
}

#[test]
fn a_syntax_error_elsewhere_keeps_tomls_message_but_never_quotes_the_line() {
    let err = Settings::from_toml("tips = \"a\"\nlisten = 127.0.0.1:80x\n")
        .expect_err("syntax")
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("`listen`") && err.contains("expected"),
        "{err}"
    );
    assert!(!err.contains("127.0.0.1"), "{err}");
    // A line with no key of its own is named by number alone.
    let err = Settings::from_toml("trusted_proxies = [\n  \"10.0.0.1\",\n  oops\n]")
        .expect_err("syntax")
        .to_string();
    assert!(err.contains("line 3") && !err.contains("oops"), "{err}");
}

#[test]
fn a_bad_value_of_an_ordinary_setting_still_says_what_was_given() {
    let err = Settings::from_toml("upstream_timeout_ms = \"soon\"")
        .expect_err("text")
        .to_string();
    assert!(
        err.contains("soon") && err.contains("upstream_timeout_ms"),
        "{err}"
    );
    let err = Settings::from_toml(
        "[[accounts]]\nuin = 123456\nmusickey = \"Q_H_L_a\"\nmusic_key = \"x\"",
    )
    .expect_err("unknown field")
    .to_string();
    assert!(err.contains("music_key"), "{err}");
}

#[test]
fn a_missing_config_file_is_an_error() {
    let err = Settings::load(Some(Path::new("/nonexistent/qmkeys.toml"))).expect_err("missing");
    assert!(matches!(err, ConfigError::MissingFile(_)));
}
