//! The simulator's clock: real time plus an offset that only the admin API moves.
//!
//! Key expiry and VIP flags read this clock, so tests can jump days ahead
//! without sleeping.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};

/// Format used for every wall-clock string on the wire (Beijing time).
pub const BEIJING_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

const BEIJING_OFFSET_SECS: i32 = 8 * 3600;

#[derive(Debug, Default)]
pub struct SimClock {
    offset_ms: AtomicI64,
}

impl SimClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Unix milliseconds on the simulated clock.
    pub fn now_ms(&self) -> i64 {
        real_now_ms().saturating_add(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Unix seconds on the simulated clock.
    pub fn now(&self) -> i64 {
        self.now_ms().div_euclid(1000)
    }

    /// Moves the clock forward; it never goes back, so issued keys never "un-expire".
    pub fn advance_secs(&self, secs: u64) {
        let ms = i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000);
        // fetch_update cannot fail here: the closure always returns Some.
        let _ = self
            .offset_ms
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(old.saturating_add(ms))
            });
    }
}

fn real_now_ms() -> i64 {
    match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        // A clock before 1970 is a broken host; treat it as the epoch.
        Err(_) => 0,
    }
}

fn beijing() -> Option<FixedOffset> {
    FixedOffset::east_opt(BEIJING_OFFSET_SECS)
}

/// `YYYY-MM-DD HH:MM:SS` in Beijing time for a unix second, or "" if out of range.
pub fn format_beijing(unix: i64) -> String {
    let Some(tz) = beijing() else {
        return String::new();
    };
    match DateTime::from_timestamp(unix, 0) {
        Some(utc) => utc.with_timezone(&tz).format(BEIJING_FORMAT).to_string(),
        None => String::new(),
    }
}

/// Parses a Beijing-time `YYYY-MM-DD HH:MM:SS` string into unix seconds.
pub fn parse_beijing(s: &str) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(s, BEIJING_FORMAT).ok()?;
    let local = beijing()?.from_local_datetime(&naive).single()?;
    Some(local.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beijing_strings_round_trip_at_utc_plus_eight() {
        // 2023-08-21 23:29:39 UTC is 2023-08-22 07:29:39 in Beijing.
        let unix = 1_692_660_579;
        assert_eq!(format_beijing(unix), "2023-08-22 07:29:39");
        assert_eq!(parse_beijing("2023-08-22 07:29:39"), Some(unix));
    }

    #[test]
    fn date_only_or_garbage_strings_are_rejected() {
        assert_eq!(parse_beijing("2023-08-22"), None);
        assert_eq!(parse_beijing("tomorrow"), None);
    }

    #[test]
    fn advancing_moves_now_forward_by_that_many_seconds() {
        let clock = SimClock::new();
        let before = clock.now();
        clock.advance_secs(86_400);
        let after = clock.now();
        assert!((86_400..86_400 + 5).contains(&(after - before)));
    }
}
