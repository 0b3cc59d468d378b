//! Upstream discipline: a cap on calls in flight, and a circuit breaker that
//! stops hammering a failing upstream and answers at once until a probe
//! succeeds.

use super::UpstreamError;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, SemaphorePermit};

#[derive(Debug, Clone, Copy)]
pub struct GuardSettings {
    /// Calls to upstream at once; more wait for a place.
    pub max_in_flight: usize,
    /// Consecutive failures that open the breaker.
    pub failure_threshold: u32,
    /// How long the breaker stays open before letting one probe through.
    pub cooldown: Duration,
}

#[derive(Debug)]
enum State {
    Closed {
        failures: u32,
    },
    Open {
        until: Instant,
    },
    /// One probe is out; everyone else is refused until it answers.
    HalfOpen,
}

#[derive(Debug)]
pub struct Guard {
    slots: Semaphore,
    state: Mutex<State>,
    settings: GuardSettings,
}

/// Holds a place in flight; tells the breaker how the call went.
pub struct Pass<'a> {
    guard: &'a Guard,
    _slot: SemaphorePermit<'a>,
}

impl Guard {
    pub fn new(settings: GuardSettings) -> Self {
        Self {
            slots: Semaphore::new(settings.max_in_flight.max(1)),
            state: Mutex::new(State::Closed { failures: 0 }),
            settings,
        }
    }

    /// Waits (at most `wait`) for a place in flight, unless the breaker is open.
    pub async fn enter(&self, wait: Duration) -> Result<Pass<'_>, UpstreamError> {
        self.admit()?;
        let slot = tokio::time::timeout(wait, self.slots.acquire())
            .await
            .map_err(|_| UpstreamError::Busy)?
            .map_err(|_| UpstreamError::Busy)?;
        Ok(Pass {
            guard: self,
            _slot: slot,
        })
    }

    fn admit(&self) -> Result<(), UpstreamError> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        match *state {
            State::Closed { .. } => Ok(()),
            State::Open { until } if Instant::now() >= until => {
                tracing::info!("upstream breaker half-open: sending one probe");
                *state = State::HalfOpen;
                Ok(())
            }
            State::Open { .. } | State::HalfOpen => Err(UpstreamError::CircuitOpen),
        }
    }

    fn record(&self, healthy: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let next = match (&*state, healthy) {
            (State::HalfOpen, true) | (State::Open { .. }, true) => {
                tracing::info!("upstream answered again: breaker closed");
                State::Closed { failures: 0 }
            }
            (State::Closed { .. }, true) => State::Closed { failures: 0 },
            (State::Closed { failures }, false)
                if failures + 1 < self.settings.failure_threshold =>
            {
                State::Closed {
                    failures: failures + 1,
                }
            }
            (State::Closed { .. }, false) | (State::HalfOpen, false) => {
                tracing::warn!(cooldown = ?self.settings.cooldown, "upstream keeps failing: breaker open");
                State::Open {
                    until: Instant::now() + self.settings.cooldown,
                }
            }
            (State::Open { until }, false) => State::Open { until: *until },
        };
        *state = next;
    }
}

impl Pass<'_> {
    /// Reports the call's result: failures of upstream itself (not its refusals
    /// of a credential) count towards opening the breaker.
    pub fn finish<T>(self, result: &Result<T, UpstreamError>) {
        let healthy = !matches!(result, Err(e) if e.is_upstream_failure());
        self.guard.record(healthy);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard(cooldown_ms: u64) -> Guard {
        Guard::new(GuardSettings {
            max_in_flight: 2,
            failure_threshold: 3,
            cooldown: Duration::from_millis(cooldown_ms),
        })
    }

    async fn fail(g: &Guard) {
        let pass = g.enter(Duration::from_secs(1)).await.expect("admitted");
        pass.finish::<()>(&Err(UpstreamError::Status(500)));
    }

    #[tokio::test]
    async fn opens_after_the_threshold_and_closes_after_a_good_probe() {
        let g = guard(50);
        for _ in 0..3 {
            fail(&g).await;
        }
        assert!(matches!(
            g.enter(Duration::from_secs(1)).await,
            Err(UpstreamError::CircuitOpen)
        ));
        tokio::time::sleep(Duration::from_millis(60)).await;
        let probe = g
            .enter(Duration::from_secs(1))
            .await
            .expect("probe admitted");
        assert!(
            matches!(
                g.enter(Duration::from_secs(1)).await,
                Err(UpstreamError::CircuitOpen)
            ),
            "one probe at a time"
        );
        probe.finish::<()>(&Ok(()));
        assert!(g.enter(Duration::from_secs(1)).await.is_ok());
    }

    #[tokio::test]
    async fn refusals_of_a_credential_do_not_count_as_failures() {
        let g = guard(50);
        for _ in 0..10 {
            let pass = g.enter(Duration::from_secs(1)).await.expect("admitted");
            pass.finish::<()>(&Err(UpstreamError::Rejected {
                call: "Login",
                code: 1000,
            }));
        }
        assert!(g.enter(Duration::from_secs(1)).await.is_ok());
    }

    #[tokio::test]
    async fn calls_beyond_the_cap_wait_and_then_give_up() {
        let g = guard(50);
        let _a = g.enter(Duration::from_secs(1)).await.expect("first");
        let _b = g.enter(Duration::from_secs(1)).await.expect("second");
        assert!(matches!(
            g.enter(Duration::from_millis(20)).await,
            Err(UpstreamError::Busy)
        ));
    }
}
