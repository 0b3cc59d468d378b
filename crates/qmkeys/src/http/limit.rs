//! A per-client rate limit on the API routes; who the client is comes from
//! `client.rs`.

use super::error::ApiError;
use super::AppState;
use crate::domain::ClientId;
use axum::extract::Request;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};

/// Routes that reach upstream or the store; pages, assets and health checks
/// are not limited.
pub struct ClientLimiter {
    limiter: DefaultKeyedRateLimiter<ClientId>,
    checks: AtomicU64,
}

impl ClientLimiter {
    /// `None` when `per_second` is 0 (no limit).
    pub fn new(per_second: u32, burst: u32) -> Option<Self> {
        let rate = NonZeroU32::new(per_second)?;
        let burst = NonZeroU32::new(burst).unwrap_or(rate);
        Some(Self {
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
            checks: AtomicU64::new(0),
        })
    }

    /// `Err(seconds to wait)` when the client is over its limit.
    pub fn check(&self, client: ClientId) -> Result<(), u32> {
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

/// Refuses a request of a client over its limit, on a `limited` route.
pub fn check(state: &AppState, limited: bool, req: &Request) -> Result<(), ApiError> {
    let Some(limiter) = &state.limiter else {
        return Ok(());
    };
    if !limited {
        return Ok(());
    }
    let client = super::client::of(state, req.extensions(), req.headers());
    limiter
        .check(client)
        .map_err(|retry_after| ApiError::RateLimited { retry_after })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn id(s: &str) -> ClientId {
        ClientId::of(s.parse::<IpAddr>().expect("ip"), 64)
    }

    #[test]
    fn the_burst_is_allowed_then_the_client_waits() {
        let l = ClientLimiter::new(1, 2).expect("limited");
        let a = id("192.0.2.1");
        assert!(l.check(a).is_ok() && l.check(a).is_ok());
        assert_eq!(l.check(a), Err(1));
        assert!(l.check(id("192.0.2.2")).is_ok(), "per client");
        assert!(ClientLimiter::new(0, 0).is_none(), "0 turns it off");
    }

    #[test]
    fn one_ipv6_64_shares_one_bucket() {
        let l = ClientLimiter::new(1, 1).expect("limited");
        assert!(l.check(id("2001:db8:7:7::1")).is_ok());
        assert_eq!(l.check(id("2001:db8:7:7::2")), Err(1), "same /64");
        assert!(l.check(id("2001:db8:7:8::1")).is_ok(), "another /64");
    }
}
