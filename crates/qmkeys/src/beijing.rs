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
    use chrono::{Datelike, Timelike};
    let local = t.with_timezone(&BEIJING);
    let year = local.year();
    // Written by hand: chrono parses the format string on every call, and
    // this runs four times in every refresh answer. Years outside 0-9999
    // take chrono's path, so every output is the same as before.
    if !(0..=9999).contains(&year) {
        return local.format(FORMAT).to_string();
    }
    let mut out = String::with_capacity(19);
    let mut push = |n: u32, width: u32, sep: Option<char>| {
        let mut div = 10u32.pow(width - 1);
        while div > 0 {
            out.push(char::from(b'0' + ((n / div) % 10) as u8));
            div /= 10;
        }
        if let Some(c) = sep {
            out.push(c);
        }
    };
    push(year.unsigned_abs(), 4, Some('-'));
    push(local.month(), 2, Some('-'));
    push(local.day(), 2, Some(' '));
    push(local.hour(), 2, Some(':'));
    push(local.minute(), 2, Some(':'));
    push(local.second(), 2, None);
    out
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
