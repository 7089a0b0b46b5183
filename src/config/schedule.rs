//! When a channel's job runs: on every change, at a fixed pace, or on a cron expression.
//!
//! Marketplaces differ in how fresh they need stock to be (a merchant's own Shopify store wants
//! it at once, a regional marketplace is fine every 30 minutes), so each channel carries its own
//! schedule. The text forms are:
//!
//! * `"realtime"`: run on every relevant change (webhooks in, Odoo changes out), with the
//!   periodic reconciliation still running as a safety net;
//! * `"every 5m"` or just `"5m"` (units `s`, `m`, `h`, `d`, combinable: `"1h30m"`);
//! * a cron expression (5 fields, or 6 with seconds first; `@hourly` etc.), evaluated in UTC.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A parsed schedule. See the module documentation for the accepted text.
#[derive(Clone)]
pub enum Schedule {
    Realtime,
    Every(Duration),
    /// Boxed: a parsed cron pattern is ~300 bytes, the other variants 16.
    Cron(Box<croner::Cron>),
}

impl Schedule {
    /// The next instant strictly after `after` at which a periodic run is due, or `None` for
    /// [`Schedule::Realtime`] (event driven) and for a cron expression with no future match.
    pub fn next_after(&self, after: jiff::Timestamp) -> Option<jiff::Timestamp> {
        match self {
            Schedule::Realtime => None,
            Schedule::Every(d) => after.checked_add(*d).ok(),
            Schedule::Cron(cron) => {
                let start = chrono::DateTime::<chrono::Utc>::from_timestamp(
                    after.as_second(),
                    after.subsec_nanosecond().max(0) as u32,
                )?;
                let next = cron.find_next_occurrence(&start, false).ok()?;
                jiff::Timestamp::new(next.timestamp(), next.timestamp_subsec_nanos() as i32).ok()
            }
        }
    }

    pub fn is_realtime(&self) -> bool {
        matches!(self, Schedule::Realtime)
    }
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Schedule::Realtime, Schedule::Realtime) => true,
            (Schedule::Every(a), Schedule::Every(b)) => a == b,
            (Schedule::Cron(a), Schedule::Cron(b)) => a.pattern.as_str() == b.pattern.as_str(),
            _ => false,
        }
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Schedule({self})")
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Schedule::Realtime => f.write_str("realtime"),
            Schedule::Every(d) => write!(f, "every {}", format_duration(*d)),
            Schedule::Cron(c) => write!(f, "cron {}", c.pattern.as_str()),
        }
    }
}

/// Why a schedule did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(String);

impl FromStr for Schedule {
    type Err = ScheduleError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.is_empty() {
            return Err(ScheduleError(
                "empty schedule: use \"realtime\", \"every 5m\" or a cron expression".into(),
            ));
        }
        if t.eq_ignore_ascii_case("realtime") {
            return Ok(Schedule::Realtime);
        }
        let every = t
            .strip_prefix("every ")
            .or_else(|| t.strip_prefix("every\t"));
        if let Some(rest) = every {
            let d =
                parse_duration(rest.trim()).map_err(|e| ScheduleError(format!("`{t}`: {e}")))?;
            return Ok(Schedule::Every(d));
        }
        if looks_like_duration(t) {
            return parse_duration(t)
                .map(Schedule::Every)
                .map_err(ScheduleError);
        }
        croner::Cron::from_str(t)
            .map(|c| Schedule::Cron(Box::new(c))).map_err(|e| {
            ScheduleError(format!(
                "`{t}` is neither \"realtime\", an interval like \"every 5m\", nor a valid cron expression ({e})"
            ))
        })
    }
}

fn looks_like_duration(s: &str) -> bool {
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_digit())
        && !s.contains(char::is_whitespace)
        && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Parse `"90s"`, `"5m"`, `"1h30m"`, `"2d"`: at least one second, units required.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut saw_unit = false;
    for c in s.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let mult = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => {
                return Err(format!(
                    "invalid duration `{s}`: unknown unit `{c}` (use s, m, h or d, e.g. \"5m\")"
                ));
            }
        };
        if digits.is_empty() {
            return Err(format!(
                "invalid duration `{s}`: a number must precede `{c}`"
            ));
        }
        let n: u64 = digits
            .parse()
            .map_err(|_| format!("invalid duration `{s}`: number too large"))?;
        total = n
            .checked_mul(mult)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(|| format!("invalid duration `{s}`: too large"))?;
        digits.clear();
        saw_unit = true;
    }
    if !digits.is_empty() || !saw_unit {
        return Err(format!(
            "invalid duration `{s}`: a unit is required (s, m, h or d, e.g. \"5m\")"
        ));
    }
    if total == 0 {
        return Err(format!("invalid duration `{s}`: must be at least 1s"));
    }
    Ok(Duration::from_secs(total))
}

/// The shortest text [`parse_duration`] reads back as `d` (whole seconds).
pub fn format_duration(d: Duration) -> String {
    let mut secs = d.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_realtime_intervals_and_cron() {
        assert_eq!("realtime".parse::<Schedule>().unwrap(), Schedule::Realtime);
        assert_eq!(
            "every 5m".parse::<Schedule>().unwrap(),
            Schedule::Every(Duration::from_secs(300))
        );
        assert_eq!(
            "5m".parse::<Schedule>().unwrap(),
            Schedule::Every(Duration::from_secs(300))
        );
        assert_eq!(
            "1h30m".parse::<Schedule>().unwrap(),
            Schedule::Every(Duration::from_secs(5400))
        );
        assert!(matches!(
            "*/10 * * * *".parse::<Schedule>().unwrap(),
            Schedule::Cron(_)
        ));
        assert!(matches!(
            "0 */5 * * * *".parse::<Schedule>().unwrap(),
            Schedule::Cron(_)
        ));
        assert!(matches!(
            "@hourly".parse::<Schedule>().unwrap(),
            Schedule::Cron(_)
        ));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "every",
            "every 0s",
            "5",
            "5x",
            "every five minutes",
            "* * *",
            "m5",
            "0m",
        ] {
            assert!(bad.parse::<Schedule>().is_err(), "{bad:?} should not parse");
        }
        let e = "every 5y".parse::<Schedule>().unwrap_err().to_string();
        assert!(e.contains("unknown unit `y`"), "{e}");
    }

    #[test]
    fn next_after() {
        let t: jiff::Timestamp = "2025-03-01T10:07:30Z".parse().unwrap();
        assert_eq!(Schedule::Realtime.next_after(t), None);
        assert_eq!(
            Schedule::Every(Duration::from_secs(300)).next_after(t),
            Some("2025-03-01T10:12:30Z".parse().unwrap())
        );
        let cron: Schedule = "*/10 * * * *".parse().unwrap();
        assert_eq!(
            cron.next_after(t),
            Some("2025-03-01T10:10:00Z".parse().unwrap())
        );
        // strictly after
        let on: jiff::Timestamp = "2025-03-01T10:10:00Z".parse().unwrap();
        assert_eq!(
            cron.next_after(on),
            Some("2025-03-01T10:20:00Z".parse().unwrap())
        );
    }

    #[test]
    fn durations_round_trip() {
        for s in ["1s", "5m", "1h30m", "2d", "1d1h1m1s"] {
            assert_eq!(format_duration(parse_duration(s).unwrap()), s);
        }
        assert_eq!(
            Schedule::Every(Duration::from_secs(600)).to_string(),
            "every 10m"
        );
    }
}
