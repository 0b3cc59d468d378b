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

/// One row of a settings table in docs/configuration.md: the key, its
/// environment name (`None` for `—`) and the default cell.
#[derive(Debug)]
struct DocRow {
    key: String,
    env: Option<String>,
    default: String,
}

/// The settings tables of one language's half of docs/configuration.md:
/// rows whose first cell is a key in backticks and whose second names its
/// environment variable (or `—`, for a setting only the file can hold).
fn documented(chinese: bool) -> Vec<DocRow> {
    let doc = include_str!("../../../../docs/configuration.md");
    let (zh, en) = doc.split_once("\n## English").expect("an English half");
    let half = if chinese { zh } else { en };
    let ticked = |cell: &str| -> Option<String> {
        let inner = cell.strip_prefix('`')?;
        Some(inner[..inner.find('`')?].to_owned())
    };
    half.lines()
        .filter_map(|line| {
            let mut cells = line.trim().strip_prefix('|')?.split('|').map(str::trim);
            let key = ticked(cells.next()?)?;
            let env = match cells.next()? {
                "—" => None,
                cell => Some(ticked(cell)?),
            };
            let default = cells.next()?.to_owned();
            let key = match key.as_str() {
                "[[accounts]]" => "accounts".to_owned(),
                _ => key,
            };
            Some(DocRow { key, env, default })
        })
        .collect()
}

#[test]
fn the_documented_keys_are_exactly_the_keys_the_settings_read() {
    let read: std::collections::BTreeSet<&str> = Settings::keys().iter().copied().collect();
    assert_eq!(
        read.len(),
        Settings::keys().len(),
        "a key read by two groups"
    );
    for chinese in [true, false] {
        let rows = documented(chinese);
        let keys: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.key.as_str()).collect();
        assert_eq!(keys.len(), rows.len(), "a key documented twice");
        let undocumented: Vec<_> = read.difference(&keys).collect();
        let unknown: Vec<_> = keys.difference(&read).collect();
        assert!(
            undocumented.is_empty() && unknown.is_empty(),
            "docs/configuration.md (chinese: {chinese}): settings it does not document: \
             {undocumented:?}; keys it documents that no setting reads: {unknown:?}"
        );
        for row in &rows {
            let env = format!("{ENV_PREFIX}{}", row.key.to_uppercase());
            match &row.env {
                Some(documented) => assert_eq!(documented, &env, "{}", row.key),
                // A list of tables has no environment form.
                None => assert_eq!(row.key, "accounts"),
            }
        }
    }
    for key in SECRET_SETTINGS {
        assert!(read.contains(key), "{key} in SECRET_SETTINGS is no setting");
    }
}

#[test]
fn the_documented_defaults_are_the_defaults() {
    let defaults = format!("{:?}", Settings::default());
    for chinese in [true, false] {
        for row in documented(chinese) {
            // `none` / `无`: no value, so nothing to write down.
            let Some(value) = row
                .default
                .strip_prefix('`')
                .and_then(|v| v.split('`').next())
            else {
                continue;
            };
            let literal = value.starts_with('[')
                || value == "true"
                || value == "false"
                || value.parse::<f64>().is_ok();
            let line = if literal {
                format!("{} = {value}", row.key)
            } else {
                format!("{} = \"{value}\"", row.key)
            };
            let parsed = Settings::from_toml(&line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(
                format!("{parsed:?}"),
                defaults,
                "{line} (chinese: {chinese})"
            );
        }
    }
}

#[test]
fn the_example_file_names_every_setting() {
    let example = include_str!("../../../../qmkeys.example.toml");
    for key in Settings::keys() {
        let named = example.lines().any(|line| {
            let line = line.trim_start_matches(['#', ' ']);
            line.starts_with(&format!("{key} =")) || line == format!("[[{key}]]")
        });
        assert!(named, "qmkeys.example.toml does not show `{key}`");
    }
}

/// A documented setting given a valid value other than its default, and how
/// to read it back.
struct Case {
    key: &'static str,
    /// As TOML writes it.
    toml: &'static str,
    /// Other settings it cannot be set without, as TOML writes them.
    needs: &'static [(&'static str, &'static str)],
    read: fn(&Settings) -> String,
    want: &'static str,
}

fn shown<T: std::fmt::Display>(value: Option<&T>) -> String {
    value.map(ToString::to_string).unwrap_or_default()
}

fn exposed(secret: Option<&SecretString>) -> String {
    secret
        .map(|s| s.expose_secret().to_owned())
        .unwrap_or_default()
}

fn millis(duration: std::time::Duration) -> String {
    duration.as_millis().to_string()
}

/// Every documented setting: the `_ms` ones are read through their
/// `Duration` getters, so those are shown to work too.
fn cases() -> Vec<Case> {
    const KEY: &[(&str, &str)] = &[("secret_key", "\"0123456789abcdef-key\"")];
    macro_rules! case {
        ($key:literal = $toml:literal needs $needs:expr, |$s:ident| $read:expr, $want:literal) => {
            Case {
                key: $key,
                toml: $toml,
                needs: $needs,
                read: |$s: &Settings| $read,
                want: $want,
            }
        };
        ($key:literal = $toml:literal, |$s:ident| $read:expr, $want:literal) => {
            case!($key = $toml needs &[], |$s| $read, $want)
        };
    }
    vec![
        case!(
            "listen" = "\"127.0.0.1:9999\"",
            |s| s.http.listen.to_string(),
            "127.0.0.1:9999"
        ),
        case!("tips" = "\"hello\"", |s| s.http.tips.clone(), "hello"),
        case!(
            "metrics_listen" = "\"127.0.0.1:9100\"",
            |s| shown(s.http.metrics_listen.as_ref()),
            "127.0.0.1:9100"
        ),
        case!(
            "shutdown_grace_ms" = "2500",
            |s| millis(s.http.shutdown_grace()),
            "2500"
        ),
        case!(
            "cache_max_entries" = "1000",
            |s| s.cache.max_entries.to_string(),
            "1000"
        ),
        case!(
            "upstream" = "\"http://127.0.0.1:9000\"",
            |s| s.upstream.base.to_string(),
            "http://127.0.0.1:9000/"
        ),
        case!(
            "upstream_timeout_ms" = "2500",
            |s| millis(s.upstream.timeout()),
            "2500"
        ),
        case!(
            "upstream_connect_timeout_ms" = "1500",
            |s| millis(s.upstream.connect_timeout()),
            "1500"
        ),
        case!(
            "upstream_max_in_flight" = "8",
            |s| s.upstream.max_in_flight.to_string(),
            "8"
        ),
        case!(
            "upstream_breaker_failures" = "9",
            |s| s.upstream.breaker_failures.to_string(),
            "9"
        ),
        case!(
            "upstream_breaker_cooldown_ms" = "2500",
            |s| millis(s.upstream.breaker_cooldown()),
            "2500"
        ),
        case!(
            "upstream_retries" = "4",
            |s| s.upstream.retries.to_string(),
            "4"
        ),
        case!(
            "rate_limit_per_second" = "7",
            |s| s.http.rate_limit_per_second.to_string(),
            "7"
        ),
        case!(
            "rate_limit_burst" = "9",
            |s| s.http.rate_limit_burst.to_string(),
            "9"
        ),
        case!(
            "trusted_proxies" = "[\"10.0.0.0/8\", \"192.168.1.1\"]",
            |s| s
                .http
                .trusted_proxies
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            "10.0.0.0/8,192.168.1.1/32"
        ),
        case!(
            "request_timeout_ms" = "2500",
            |s| millis(s.http.request_timeout()),
            "2500"
        ),
        case!(
            "ipv6_client_prefix" = "48",
            |s| s.http.ipv6_client_prefix.to_string(),
            "48"
        ),
        case!(
            "header_timeout_ms" = "2500",
            |s| millis(s.http.header_timeout()),
            "2500"
        ),
        case!(
            "idle_timeout_ms" = "2500",
            |s| millis(s.http.idle_timeout()),
            "2500"
        ),
        case!(
            "max_header_bytes" = "32768",
            |s| s.http.max_header_bytes.to_string(),
            "32768"
        ),
        case!(
            "max_connections" = "100",
            |s| s.http.max_connections.to_string(),
            "100"
        ),
        case!(
            "max_connections_per_client" = "8",
            |s| s.http.max_connections_per_client.to_string(),
            "8"
        ),
        case!(
            "tls_cert" = "\"/etc/q/cert.pem\"" needs &[("tls_key", "\"/etc/q/key.pem\"")],
            |s| s.http.tls_cert.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            "/etc/q/cert.pem"
        ),
        case!(
            "tls_key" = "\"/etc/q/key.pem\"" needs &[("tls_cert", "\"/etc/q/cert.pem\"")],
            |s| s.http.tls_key.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
            "/etc/q/key.pem"
        ),
        case!(
            "log_format" = "\"json\"",
            |s| format!("{:?}", s.log.format),
            "Json"
        ),
        case!(
            "log_level" = "\"qmkeys=debug\"",
            |s| s.log.level.clone(),
            "qmkeys=debug"
        ),
        case!(
            "cos_endpoint" = "\"http://127.0.0.1:9000/cos/{bucket}\"",
            |s| s.cos.endpoint.clone(),
            "http://127.0.0.1:9000/cos/{bucket}"
        ),
        case!(
            "cdn_base" = "\"https://cdn.example.com\"",
            |s| s.cos.cdn_base.to_string(),
            "https://cdn.example.com/"
        ),
        case!(
            "cos_max_upload_bytes" = "1000",
            |s| s.cos.max_upload_bytes.to_string(),
            "1000"
        ),
        case!(
            "accounts" = "[{ uin = 123456789, musickey = \"Q_H_L_case\" }]",
            |s| s
                .accounts
                .credentials()
                .map(|c| c
                    .iter()
                    .map(|c| c.uin.to_string())
                    .collect::<Vec<_>>()
                    .join(","))
                .unwrap_or_default(),
            "123456789"
        ),
        case!(
            "db" = "\"other.db\"",
            |s| s.accounts.db.display().to_string(),
            "other.db"
        ),
        case!(
            "secret_key" = "\"0123456789abcdef-key\"",
            |s| exposed(s.accounts.secret_key.as_ref()),
            "0123456789abcdef-key"
        ),
        case!(
            "accounts_refresh_share" = "0.5",
            |s| s.accounts.refresh_share.to_string(),
            "0.5"
        ),
        case!(
            "accounts_check_interval_ms" = "2500",
            |s| millis(s.accounts.check_interval()),
            "2500"
        ),
        case!(
            "accounts_allow_save" = "true",
            |s| s.accounts.allow_save.to_string(),
            "true"
        ),
        case!(
            "admin_token" = "\"0123456789abcdef-admin\"",
            |s| exposed(s.http.admin_token.as_ref()),
            "0123456789abcdef-admin"
        ),
        case!(
            "webhook_url" = "\"https://hooks.example.com/in?token=t\"",
            |s| s
                .webhook
                .url
                .as_ref()
                .map(|u| u.expose().to_string())
                .unwrap_or_default(),
            "https://hooks.example.com/in?token=t"
        ),
        case!(
            "webhook_secret" = "\"0123456789abcdef-hook\"",
            |s| exposed(s.webhook.secret.as_ref()),
            "0123456789abcdef-hook"
        ),
        case!(
            "cors_allowed_origins" = "[\"https://a.example\", \"http://127.0.0.1:3000\"]",
            |s| s.http.cors_allowed_origins.as_slice().join(","),
            "https://a.example,http://127.0.0.1:3000"
        ),
        case!(
            "ptlogin_base" = "\"http://127.0.0.1:9001\"",
            |s| s.login.ptlogin_base.to_string(),
            "http://127.0.0.1:9001/"
        ),
        case!(
            "ptlogin_graph_base" = "\"http://127.0.0.1:9002\"",
            |s| s.login.ptlogin_graph_base.to_string(),
            "http://127.0.0.1:9002/"
        ),
        case!(
            "graph_base" = "\"http://127.0.0.1:9003\"",
            |s| s.login.graph_base.to_string(),
            "http://127.0.0.1:9003/"
        ),
        case!(
            "wx_open_base" = "\"http://127.0.0.1:9004\"",
            |s| s.login.wx_open_base.to_string(),
            "http://127.0.0.1:9004/"
        ),
        case!(
            "wx_lp_base" = "\"http://127.0.0.1:9005\"",
            |s| s.login.wx_lp_base.to_string(),
            "http://127.0.0.1:9005/"
        ),
        case!(
            "login_max_sessions" = "7",
            |s| s.login.max_sessions.to_string(),
            "7"
        ),
        case!(
            "login_max_per_client" = "3",
            |s| s.login.max_per_client.to_string(),
            "3"
        ),
        case!(
            "login_polls_per_second" = "5",
            |s| s.login.polls_per_second.to_string(),
            "5"
        ),
        case!(
            "redis_url" = "\"redis://127.0.0.1:6379/\"" needs KEY,
            |s| exposed(s.redis.url.as_ref()),
            "redis://127.0.0.1:6379/"
        ),
        case!(
            "redis_timeout_ms" = "500",
            |s| millis(s.redis.timeout()),
            "500"
        ),
    ]
}

/// A TOML value as one environment variable writes it: text without its
/// quotes, a list as one comma-separated string.
fn env_text(toml: &str) -> String {
    let unquote = |v: &str| v.trim().trim_matches('"').to_owned();
    match toml.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        Some(items) => items.split(',').map(unquote).collect::<Vec<_>>().join(","),
        None => unquote(toml),
    }
}

// figment's Jail fixes the closure's error type; its size is not ours to choose.
#[allow(clippy::result_large_err)]
#[test]
fn every_documented_setting_takes_effect_from_the_file_and_from_the_environment() {
    let cases = cases();
    let covered: std::collections::BTreeSet<&str> = cases.iter().map(|c| c.key).collect();
    let rows = documented(false);
    assert_eq!(
        covered,
        rows.iter().map(|r| r.key.as_str()).collect(),
        "a case for every documented setting"
    );
    let file_only: Vec<&str> = rows
        .iter()
        .filter(|r| r.env.is_none())
        .map(|r| r.key.as_str())
        .collect();
    for case in &cases {
        let defaults = Settings::default();
        assert_ne!(
            (case.read)(&defaults),
            case.want,
            "{}: not its default",
            case.key
        );
        let mut lines = vec![format!("{} = {}", case.key, case.toml)];
        lines.extend(case.needs.iter().map(|(k, v)| format!("{k} = {v}")));
        Jail::expect_with(|jail| {
            jail.create_file("q.toml", &lines.join("\n"))?;
            let from_file = Settings::load(Some(Path::new("q.toml")))
                .map_err(|e| format!("{}: {e}", case.key))?;
            assert_eq!(
                (case.read)(&from_file),
                case.want,
                "{} from the file",
                case.key
            );
            if file_only.contains(&case.key) {
                return Ok(());
            }
            for (key, toml) in
                std::iter::once((case.key, case.toml)).chain(case.needs.iter().copied())
            {
                jail.set_env(
                    format!("{ENV_PREFIX}{}", key.to_uppercase()),
                    env_text(toml),
                );
            }
            let from_env = Settings::load(None).map_err(|e| format!("{}: {e}", case.key))?;
            assert_eq!(
                (case.read)(&from_env),
                case.want,
                "{} from the environment",
                case.key
            );
            Ok(())
        });
    }
}
