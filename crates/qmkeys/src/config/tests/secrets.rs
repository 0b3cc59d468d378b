//! Settings that hold secrets never show them: in Debug, in errors, from a
//! file or from the environment.

use super::super::*;
use figment::Jail;

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
