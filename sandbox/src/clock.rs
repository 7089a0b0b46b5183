//! A clock tests can drive: real time plus an offset, or frozen.
//!
//! Odoo stamps `write_date` with the transaction's start time (microseconds kept, seconds
//! sent). Cursor tests need records in different seconds; instead of sleeping they advance
//! this clock. Transaction times are strictly increasing (at least 1 µs apart) so two calls
//! never share a `write_date` unless they were one transaction, as on a real server.

use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Debug)]
struct Inner {
    /// Added to the real time (real mode), or the frozen instant's offset from `frozen_at`.
    offset_us: i64,
    frozen: Option<i64>,
    last_tx: i64,
}

/// Shared handle; cloning gives the same clock.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Mutex<Inner>>);

impl Default for Clock {
    fn default() -> Self {
        Clock::real()
    }
}

fn real_us() -> i64 {
    Timestamp::now().as_microsecond()
}

impl Clock {
    /// Real time.
    pub fn real() -> Clock {
        Clock(Arc::new(Mutex::new(Inner {
            offset_us: 0,
            frozen: None,
            last_tx: 0,
        })))
    }

    /// A clock stopped at `at`; it moves only when advanced.
    pub fn frozen(at: Timestamp) -> Clock {
        Clock(Arc::new(Mutex::new(Inner {
            offset_us: 0,
            frozen: Some(at.as_microsecond()),
            last_tx: 0,
        })))
    }

    /// Now, in microseconds since the epoch.
    pub fn now_us(&self) -> i64 {
        let g = self.0.lock();
        g.frozen.unwrap_or_else(|| real_us() + g.offset_us)
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_microsecond(self.now_us()).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Move time forward (or backward with a negative duration).
    pub fn advance(&self, d: std::time::Duration) {
        let us = i64::try_from(d.as_micros()).unwrap_or(i64::MAX / 4);
        let mut g = self.0.lock();
        match g.frozen.as_mut() {
            Some(f) => *f += us,
            None => g.offset_us += us,
        }
    }

    pub fn advance_secs_f64(&self, s: f64) {
        if s.is_finite() && s > 0.0 {
            self.advance(std::time::Duration::from_secs_f64(s));
        }
    }

    /// Jump to an instant (frozen clocks stay frozen there; real clocks keep ticking from it).
    pub fn set(&self, at: Timestamp) {
        let mut g = self.0.lock();
        let t = at.as_microsecond();
        match g.frozen.as_mut() {
            Some(f) => *f = t,
            None => g.offset_us = t - real_us(),
        }
    }

    pub fn freeze(&self) {
        let mut g = self.0.lock();
        if g.frozen.is_none() {
            g.frozen = Some(real_us() + g.offset_us);
        }
    }

    /// The start time of a new transaction: now, but strictly after the previous one.
    pub fn transaction_start(&self) -> i64 {
        let mut g = self.0.lock();
        let now = g.frozen.unwrap_or_else(|| real_us() + g.offset_us);
        let t = now.max(g.last_tx + 1);
        g.last_tx = t;
        t
    }

    pub fn duration_since(&self, earlier_us: i64) -> SignedDuration {
        SignedDuration::from_micros(self.now_us() - earlier_us)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_clock_moves_only_when_told_and_tx_times_increase() {
        let t0: Timestamp = "2026-11-22T22:54:38Z".parse().unwrap();
        let c = Clock::frozen(t0);
        assert_eq!(c.now(), t0);
        let a = c.transaction_start();
        let b = c.transaction_start();
        assert!(b > a);
        c.advance(std::time::Duration::from_millis(1200));
        assert_eq!(c.now_us() - t0.as_microsecond(), 1_200_000);
    }

    #[test]
    fn real_clock_takes_an_offset() {
        let c = Clock::real();
        let before = c.now_us();
        c.advance(std::time::Duration::from_secs(3600));
        assert!(c.now_us() - before >= 3_600_000_000);
    }
}
