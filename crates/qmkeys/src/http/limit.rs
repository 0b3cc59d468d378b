//! A per-client rate limit on the API routes. The client is the TCP peer,
//! unless the peer is a trusted proxy: then it is the nearest address in
//! `X-Forwarded-For` that is not itself a trusted proxy.

use super::error::ApiError;
use super::AppState;
use axum::extract::{ConnectInfo, Request};
use axum::http::HeaderMap;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

/// Routes that reach upstream or the store; pages, assets and health checks
/// are not limited.
pub struct ClientLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    trusted: Vec<IpNet>,
    checks: AtomicU64,
}

impl ClientLimiter {
    /// `None` when `per_second` is 0 (no limit).
    pub fn new(per_second: u32, burst: u32, trusted: Vec<IpNet>) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            trusted,
            checks: AtomicU64::new(0),
        })
    }

    fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.iter().any(|net| net.contains(&ip))
    }

    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.is_trusted(peer) {
            return peer;
        }
        let hops = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        let mut client = peer;
        for hop in hops.iter().rev() {
            match hop.parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !self.is_trusted(ip) {
                        break;
                    }
                }
                // A hop we cannot read ends what we can trust.
                Err(_) => break,
            }
        }
        client
    }

    /// `Err(seconds to wait)` when the client is over its limit.
    pub fn check(&self, client: IpAddr) -> Result<(), u32> {
        // Forget idle clients now and then, so memory stays bounded.
        if self.checks.fetch_add(1, Ordering::Relaxed) % 4096 == 4095 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            u32::try_from(wait.as_secs())
                .unwrap_or(u32::MAX)
                .saturating_add(1)
        })
    }
}

/// Refuses a request of a client over its limit, on the limited routes.
pub fn check(state: &AppState, req: &Request) -> Result<(), ApiError> {
    let Some(limiter) = &state.limiter else {
        return Ok(());
    };
    let limited = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .is_some_and(|route| super::limited_routes().contains(route.as_str()));
    if !limited {
        return Ok(());
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::LOCALHOST), |c| c.0.ip());
    limiter
        .check(limiter.client(peer, req.headers()))
        .map_err(|retry_after| ApiError::RateLimited { retry_after })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(trusted: &[&str]) -> ClientLimiter {
        let trusted = trusted.iter().map(|t| t.parse().expect("net")).collect();
        ClientLimiter::new(1, 2, trusted).expect("limited")
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().expect("value"));
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_trusted_proxies() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let l = limiter(&["10.0.0.0/8"]);
        assert_eq!(
            l.client(ip("203.0.113.9"), &xff("1.2.3.4")),
            ip("203.0.113.9"),
            "untrusted peer"
        );
        assert_eq!(l.client(ip("10.0.0.1"), &xff("1.2.3.4")), ip("1.2.3.4"));
        assert_eq!(
            l.client(ip("10.0.0.1"), &xff("6.6.6.6, 1.2.3.4, 10.0.0.2")),
            ip("1.2.3.4"),
            "a forged left end is ignored"
        );
        assert_eq!(l.client(ip("10.0.0.1"), &xff("junk")), ip("10.0.0.1"));
    }

    #[test]
    fn the_burst_is_allowed_then_the_client_waits() {
        let l = limiter(&[]);
        let a: IpAddr = "192.0.2.1".parse().expect("ip");
        assert!(l.check(a).is_ok() && l.check(a).is_ok());
        assert_eq!(l.check(a), Err(1));
        assert!(
            l.check("192.0.2.2".parse().expect("ip")).is_ok(),
            "per client"
        );
        assert!(ClientLimiter::new(0, 0, vec![]).is_none(), "0 turns it off");
    }
}
