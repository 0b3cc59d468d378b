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
    t.with_timezone(&BEIJING).format(FORMAT).to_string()
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
    fn seed_example_round_trips() {
        // From the seed: musickeyCreateTimestamp 1722693959 is "2024-08-03 22:05:59".
        assert_eq!(format_unix(1722693959), "2024-08-03 22:05:59");
        assert_eq!(
            parse("2024-08-03 22:05:59").map(|t| t.timestamp()),
            Some(1722693959)
        );
        // and the VIP end in the seed: "2023-09-15 07:20:45" is 1694733645.
        assert_eq!(
            parse("2023-09-15 07:20:45").map(|t| t.timestamp()),
            Some(1694733645)
        );
    }

    #[test]
    fn date_only_means_beijing_midnight_and_blank_is_none() {
        assert_eq!(parse("2023-08-22").map(|t| t.timestamp()), Some(1692633600));
        assert_eq!(parse(""), None);
        assert_eq!(parse("soon"), None);
    }
}
