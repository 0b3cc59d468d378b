//! The one backoff: a first pause, growing by a factor on each retry up to a
//! cap, plus a random share on top so that many callers (or instances) do not
//! retry in step. Each caller keeps its own parameters: upstream's
//! repeat-safe calls (`upstream/mod.rs`), webhook deliveries
//! (`webhook/deliver.rs`) and an upload account's failed refreshes
//! (`accounts/schedule.rs`).

use rand::Rng;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The pause before the first retry.
    pub first: Duration,
    /// Each further retry waits this many times longer.
    pub factor: u32,
    /// No pause (before its jitter) is longer.
    pub max: Duration,
    /// Up to this share of the pause is added at random (0.25: up to a quarter more).
    pub jitter: f64,
}

impl Backoff {
    /// The pause before retry `attempt`, counted from 1: `first × factor^(attempt − 1)`,
    /// at most `max`, without jitter.
    pub fn base(&self, attempt: u32) -> Duration {
        let growth = self
            .factor
            .checked_pow(attempt.saturating_sub(1))
            .unwrap_or(u32::MAX);
        self.first.saturating_mul(growth).min(self.max)
    }

    /// The pause before retry `attempt` (from 1), with its jitter: at least
    /// [`Backoff::base`], less than `base × (1 + jitter)`.
    pub fn pause(&self, attempt: u32) -> Duration {
        let base = self.base(attempt);
        if self.jitter <= 0.0 {
            return base;
        }
        let extra = rand::thread_rng().gen_range(0.0..self.jitter);
        base.saturating_add(base.mul_f64(extra))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_by_its_factor_up_to_the_cap() {
        let b = Backoff {
            first: Duration::from_secs(30),
            factor: 2,
            max: Duration::from_secs(3600),
            jitter: 0.0,
        };
        let secs: Vec<u64> = (1..=9).map(|a| b.base(a).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(b.base(0), Duration::from_secs(30), "0 reads as the first");
        assert_eq!(b.base(u32::MAX), Duration::from_secs(3600), "no overflow");
        assert_eq!(b.pause(3), b.base(3), "no jitter asked, none given");
    }

    #[test]
    fn jitter_adds_less_than_its_share() {
        let b = Backoff {
            first: Duration::from_secs(1),
            factor: 4,
            max: Duration::MAX,
            jitter: 0.25,
        };
        for attempt in 1..=4 {
            for _ in 0..50 {
                let base = b.base(attempt).as_secs_f64();
                let pause = b.pause(attempt).as_secs_f64();
                assert!(pause >= base && pause < base * 1.25, "{attempt}: {pause}");
            }
        }
        let huge = b.pause(u32::MAX);
        assert!(huge >= b.base(u32::MAX), "saturates, never panics");
    }
}
