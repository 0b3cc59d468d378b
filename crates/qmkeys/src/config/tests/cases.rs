//! Every documented setting takes effect, from a file and from the
//! environment.

use super::super::*;
use super::docs::documented;
use figment::Jail;

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
            "accounts_events_keep" = "25",
            |s| s.accounts.events_keep.to_string(),
            "25"
        ),
        case!(
            "accounts_key_check_interval_ms" = "60000",
            |s| millis(s.accounts.key_check_interval()),
            "60000"
        ),
        case!(
            "require_api_key" = "true",
            |s| s.http.require_api_key.to_string(),
            "true"
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
            "xlogin_base" = "\"http://127.0.0.1:9006\"",
            |s| s.login.xlogin_base.to_string(),
            "http://127.0.0.1:9006/"
        ),
        case!(
            "app_qr_push_url" = "\"ws://127.0.0.1:9006/ws/handshake\"",
            |s| s.login.app_qr_push_url.to_string(),
            "ws://127.0.0.1:9006/ws/handshake"
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
