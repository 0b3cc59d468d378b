//! `qmkeys healthcheck`: asks a running server's `/readyz` and exits 0 when it
//! answers 200, 1 otherwise. Container images have no shell or curl, so their
//! HEALTHCHECK runs this.

use super::exit;
use clap::Args;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

/// The whole check, connect included, gives up after this: a health probe
/// that hangs is worse than one that fails.
const TIMEOUT: Duration = Duration::from_secs(3);

#[derive(Debug, Args)]
pub struct HealthcheckArgs {
    /// URL to check. Default: `/readyz` on the address `QMKEYS_LISTEN` names
    /// (0.0.0.0 and [::] mean this host), else http://127.0.0.1:8080/readyz.
    #[arg(long)]
    pub url: Option<String>,
}

/// The URL to check when `--url` is not given, from `QMKEYS_LISTEN`'s value.
pub fn default_url(listen: Option<&str>) -> String {
    let addr = listen
        .and_then(|l| l.trim().parse::<SocketAddr>().ok())
        .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
    // A wildcard listen address is not one a client can connect to.
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => {
            std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST)
        }
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => {
            std::net::IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)
        }
        ip => ip,
    };
    format!("http://{}/readyz", SocketAddr::new(ip, addr.port()))
}

pub fn run(args: HealthcheckArgs) -> ExitCode {
    let url = args
        .url
        .unwrap_or_else(|| default_url(std::env::var("QMKEYS_LISTEN").ok().as_deref()));
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("qmkeys healthcheck: cannot start the async runtime: {err}");
            return ExitCode::from(exit::FAILED);
        }
    };
    runtime.block_on(async {
        let client = match reqwest::Client::builder().timeout(TIMEOUT).build() {
            Ok(c) => c,
            Err(err) => {
                eprintln!("qmkeys healthcheck: {err}");
                return ExitCode::from(exit::FAILED);
            }
        };
        match client.get(&url).send().await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                ExitCode::from(exit::OK)
            }
            Ok(response) => {
                eprintln!("qmkeys healthcheck: {url} answered {}", response.status());
                ExitCode::from(exit::FAILED)
            }
            Err(err) => {
                eprintln!("qmkeys healthcheck: {url}: {err}");
                ExitCode::from(exit::FAILED)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::default_url;

    #[test]
    fn the_default_url_follows_the_listen_address_and_maps_wildcards_to_loopback() {
        assert_eq!(default_url(None), "http://127.0.0.1:8080/readyz");
        assert_eq!(
            default_url(Some("0.0.0.0:9000")),
            "http://127.0.0.1:9000/readyz"
        );
        assert_eq!(default_url(Some("[::]:81")), "http://[::1]:81/readyz");
        assert_eq!(
            default_url(Some("10.0.0.5:8080")),
            "http://10.0.0.5:8080/readyz"
        );
        assert_eq!(
            default_url(Some("nonsense")),
            "http://127.0.0.1:8080/readyz"
        );
    }
}
