//! QQ Music and the public API speak Beijing time (UTC+8, no daylight saving) as
//! `YYYY-MM-DD HH:MM:SS` strings.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

const FORMAT: &str = "%Y-%m-%d %H:%M:%S";

// Evaluated at compile time, so an out-of-range offset cannot reach run time.
const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// Formats a unix timestamp as Beijing wall time.
pub fn format_unix(ts: i64) -> String {
    match DateTime::from_timestamp(ts, 0) {
        Some(t) => format(t),
        None => String::new(),
    }
}

pub fn format(t: DateTime<Utc>) -> String {
    Time(t).to_string()
}

/// A time written as Beijing wall time when it is displayed or serialised:
/// an answer carries its dates without a `String` each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Time(pub DateTime<Utc>);

impl Time {
    /// A unix timestamp; `None` outside chrono's range.
    pub fn unix(ts: i64) -> Option<Self> {
        DateTime::from_timestamp(ts, 0).map(Self)
    }

    /// Its text, remembering the last second formatted on this thread: for
    /// "now", which every answer carries, that is once a second. (Other
    /// dates go straight to [`Time::fmt`]: they would only evict it.)
    pub fn with_text<R>(self, f: impl FnOnce(&str) -> R) -> R {
        thread_local! {
            static LAST: std::cell::Cell<(i64, [u8; 19])> = const { std::cell::Cell::new((i64::MIN, [0; 19])) };
        }
        let second = self.0.timestamp();
        let cached = LAST.with(|last| {
            let (at, text) = last.get();
            if at == second {
                return Some(text);
            }
            let text = digits(self.0)?;
            last.set((second, text));
            Some(text)
        });
        match cached.as_ref().and_then(|d| std::str::from_utf8(d).ok()) {
            Some(text) => f(text),
            None => f(&self.to_string()),
        }
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match digits(self.0) {
            Some(d) => f.write_str(std::str::from_utf8(&d).map_err(|_| std::fmt::Error)?),
            None => write!(f, "{}", self.0.with_timezone(&BEIJING).format(FORMAT)),
        }
    }
}

impl serde::Serialize for Time {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match digits(self.0) {
            Some(d) => serializer.serialize_str(std::str::from_utf8(&d).unwrap_or_default()),
            None => serializer.collect_str(self),
        }
    }
}

/// The time an answer is written, serialised as [`Time`] is, through the
/// per-thread memo of [`Time::with_text`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Now(pub DateTime<Utc>);

impl serde::Serialize for Now {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Time(self.0).with_text(|text| serializer.serialize_str(text))
    }
}

/// `YYYY-MM-DD HH:MM:SS` in Beijing time, for years 0-9999 (others take
/// chrono's path, so every output is as it always was). Written by hand:
/// chrono parses its format string on every call, and an answer has five dates.
fn digits(t: DateTime<Utc>) -> Option<[u8; 19]> {
    use chrono::{Datelike, Timelike};
    let local = t.with_timezone(&BEIJING);
    let year = u32::try_from(local.year()).ok().filter(|y| *y <= 9999)?;
    let mut out = *b"0000-00-00 00:00:00";
    let mut put = |at: usize, n: u32, width: usize| {
        let mut n = n;
        for i in (0..width).rev() {
            out[at + i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, year, 4);
    put(5, local.month(), 2);
    put(8, local.day(), 2);
    put(11, local.hour(), 2);
    put(14, local.minute(), 2);
    put(17, local.second(), 2);
    Some(out)
}

/// Parses `YYYY-MM-DD HH:MM:SS` or a bare `YYYY-MM-DD` (midnight) in Beijing time.
/// Empty or unreadable strings are `None`: upstream leaves end times blank for
/// accounts that never had the membership.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let naive = NaiveDateTime::parse_from_str(s, FORMAT).ok().or_else(|| {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()?
            .and_hms_opt(0, 0, 0)
    })?;
    BEIJING
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_example_round_trips() {
        // From the public API's documentation: musickeyCreateTimestamp
        // 1722693959 is "2024-08-03 22:05:59".
        assert_eq!(format_unix(1722693959), "2024-08-03 22:05:59");
        assert_eq!(
            parse("2024-08-03 22:05:59").map(|t| t.timestamp()),
            Some(1722693959)
        );
        // and the VIP end in that documentation: "2023-09-15 07:20:45" is 1694733645.
        assert_eq!(
            parse("2023-09-15 07:20:45").map(|t| t.timestamp()),
            Some(1694733645)
        );
    }

    #[test]
    fn the_hand_written_format_matches_chrono_from_year_0_to_past_10000() {
        let mut ts: i64 = -62_167_219_200 - 8 * 3600 - 86_400; // Beijing 0000-01-01 minus a day
        let end: i64 = 253_402_300_800 + 86_400 * 400; // past 10000-01-01
                                                       // A step that is not a divisor of a day visits every second, minute and hour.
        let step = 86_400 * 7 + 3_661;
        let mut checked = 0;
        while ts < end {
            if let Some(t) = DateTime::from_timestamp(ts, 0) {
                let chrono = t.with_timezone(&BEIJING).format(FORMAT).to_string();
                assert_eq!(format(t), chrono, "at {ts}");
                // Serialised, and as "now" through the per-thread memo twice: the same.
                let json = format!("\"{chrono}\"");
                for written in [
                    serde_json::to_string(&Time(t)),
                    serde_json::to_string(&Now(t)),
                    serde_json::to_string(&Now(t)),
                ] {
                    assert_eq!(written.ok().as_deref(), Some(&*json));
                }
                checked += 1;
            }
            ts += step;
        }
        assert!(checked > 500_000, "{checked}");
        assert_eq!(format_unix(0), "1970-01-01 08:00:00");
        assert_eq!(format_unix(-1), "1970-01-01 07:59:59");
    }

    #[test]
    fn date_only_means_beijing_midnight_and_blank_is_none() {
        assert_eq!(parse("2023-08-22").map(|t| t.timestamp()), Some(1692633600));
        assert_eq!(parse(""), None);
        assert_eq!(parse("soon"), None);
    }
}
