//! When an account's key is next due for refresh.

use super::StoredAccount;
use crate::backoff::Backoff;
use rand::Rng;
use std::time::Duration;

/// The usual key lifetime, for records whose creation time is unknown.
const DEFAULT_LIFETIME: i64 = 259_200;
/// Backoff after a transient failure: 30 s doubling up to an hour, plus up to a fifth more.
const BACKOFF: Backoff = Backoff {
    first: Duration::from_secs(30),
    factor: 2,
    max: Duration::from_secs(3600),
    jitter: 0.2,
};

#[derive(Debug, Clone)]
pub(super) struct Schedule {
    /// Seconds taken off the due time, drawn once per key so accounts that were
    /// created together do not all refresh at the same moment.
    jitter: f64,
    failures: u32,
    retry_not_before: i64,
}

impl Schedule {
    /// A new key's schedule: no failures, its own jitter.
    pub(super) fn fresh() -> Self {
        Self {
            jitter: rand::thread_rng().gen_range(0.0..1.0),
            failures: 0,
            retry_not_before: 0,
        }
    }

    /// Due when less than `share` of the key's lifetime is left (brought
    /// forward by up to a fifth of that share, at random), or at once when the
    /// expiry is unknown, as for a key fresh from the config file.
    pub(super) fn is_due(&self, record: &StoredAccount, now: i64, share: f64) -> bool {
        if now < self.retry_not_before {
            return false;
        }
        let Some(expires) = record.expires_at else {
            return true;
        };
        let lifetime = record
            .created_at
            .map(|c| expires - c)
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_LIFETIME) as f64;
        let window = lifetime * share;
        let due_at = expires as f64 - window - window * 0.2 * self.jitter;
        now as f64 >= due_at
    }

    /// The first second at which [`Schedule::is_due`] holds (the past when
    /// it already does), for the owner's console.
    pub(super) fn due_at(&self, record: &StoredAccount, share: f64) -> i64 {
        let Some(expires) = record.expires_at else {
            return self.retry_not_before;
        };
        let lifetime = record
            .created_at
            .map(|c| expires - c)
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_LIFETIME) as f64;
        let window = lifetime * share;
        let due_at = (expires as f64 - window - window * 0.2 * self.jitter).ceil() as i64;
        due_at.max(self.retry_not_before)
    }

    pub(super) fn failed(&mut self, now: i64) {
        self.failures = self.failures.saturating_add(1);
        let pause = BACKOFF.pause(self.failures).as_secs();
        self.retry_not_before = now.saturating_add(i64::try_from(pause).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Credential;

    fn record(created: Option<i64>, expires: Option<i64>) -> StoredAccount {
        let mut r = StoredAccount::new(
            Credential::parse(Some("123456"), Some("Q_H_L_k"), None, None).expect("valid"),
        );
        r.created_at = created;
        r.expires_at = expires;
        r
    }

    #[test]
    fn due_in_the_last_share_of_the_lifetime_never_later() {
        let r = record(Some(0), Some(300));
        let s = Schedule {
            jitter: 0.0,
            failures: 0,
            retry_not_before: 0,
        };
        assert!(!s.is_due(&r, 199, 1.0 / 3.0));
        assert!(s.is_due(&r, 200, 1.0 / 3.0));
        let early = Schedule { jitter: 1.0, ..s };
        assert!(
            early.is_due(&r, 180, 1.0 / 3.0),
            "jitter only brings it forward"
        );
        assert!(!early.is_due(&r, 179, 1.0 / 3.0));
    }

    #[test]
    fn the_due_time_is_the_first_second_that_is_due() {
        let r = record(Some(0), Some(300));
        for jitter in [0.0, 0.5, 1.0] {
            let s = Schedule {
                jitter,
                failures: 0,
                retry_not_before: 0,
            };
            let at = s.due_at(&r, 1.0 / 3.0);
            assert!(s.is_due(&r, at, 1.0 / 3.0) && !s.is_due(&r, at - 1, 1.0 / 3.0));
        }
        let backed_off = Schedule {
            jitter: 0.0,
            failures: 1,
            retry_not_before: 250,
        };
        assert_eq!(backed_off.due_at(&r, 1.0 / 3.0), 250);
    }

    #[test]
    fn unknown_expiry_is_due_at_once() {
        let s = Schedule::fresh();
        assert!(s.is_due(&record(None, None), 0, 1.0 / 3.0));
    }

    #[test]
    fn failures_back_off_exponentially_up_to_an_hour() {
        let r = record(None, None);
        let mut s = Schedule::fresh();
        s.failed(1000);
        assert!(!s.is_due(&r, 1029, 0.3));
        assert!(s.is_due(&r, 1000 + 30 + 6, 0.3));
        for _ in 0..20 {
            s.failed(1000);
        }
        assert!(s.retry_not_before <= 1000 + 3600 + 720);
        assert!(s.retry_not_before >= 1000 + 3600);
    }
}
