//! Odoo's datetime and date strings.
//!
//! Odoo stores datetimes as naive UTC and prints them as `YYYY-MM-DD HH:MM:SS` in every
//! protocol (XML-RPC never uses `dateTime.iso8601`). Dates are `YYYY-MM-DD`. Microseconds are
//! stored but never sent, which is why cursors must compare by whole second (see
//! ARCHITECTURE.md, "write_date cursors").

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::TimeZone;

/// The one format Odoo uses for datetimes on the wire.
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";
/// The one format Odoo uses for dates on the wire.
pub const DATE_FORMAT: &str = "%Y-%m-%d";

/// Print a timestamp the way Odoo does: naive UTC, whole seconds (truncated, not rounded).
pub fn format_datetime(ts: Timestamp) -> String {
    ts.to_zoned(TimeZone::UTC)
        .datetime()
        .strftime(DATETIME_FORMAT)
        .to_string()
}

/// Print a civil date the way Odoo does.
pub fn format_date(d: Date) -> String {
    d.strftime(DATE_FORMAT).to_string()
}

/// Parse `YYYY-MM-DD HH:MM:SS` (optionally with `.ffffff`) as naive UTC.
pub fn parse_datetime(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    let dt: DateTime = if s.len() > 19 && s.as_bytes().get(19) == Some(&b'.') {
        DateTime::strptime("%Y-%m-%d %H:%M:%S%.f", s).ok()?
    } else {
        DateTime::strptime(DATETIME_FORMAT, s).ok()?
    };
    dt.to_zoned(TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// Parse `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<Date> {
    Date::strptime(DATE_FORMAT, s.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_whole_seconds() {
        let ts = parse_datetime("2026-11-22 22:54:40").unwrap();
        assert_eq!(format_datetime(ts), "2026-11-22 22:54:40");
    }

    #[test]
    fn truncates_microseconds_like_odoo() {
        let ts = parse_datetime("2026-11-22 22:54:40.999999").unwrap();
        assert_eq!(format_datetime(ts), "2026-11-22 22:54:40");
    }

    #[test]
    fn rejects_iso_t_and_garbage() {
        assert!(parse_datetime("2026-11-22T22:54:40Z").is_none());
        assert!(parse_datetime("false").is_none());
        assert!(parse_date("2026-13-01").is_none());
    }
}
