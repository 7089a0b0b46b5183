//! The server-side leaky bucket (by query cost) and fault injection.
//!
//! Deliberately a separate, naive implementation from the client's (`channels_core::ratelimit`):
//! if both shared one bucket a bug in it would be mirrored on both sides and the tests would
//! still pass. It refuses with `THROTTLED` instead of waiting, and counts every refusal so a
//! test fails when a connector exceeds the shop's rate.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The shop's plan limits.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ThrottleConfig {
    /// Bucket size in cost points.
    pub maximum_available: f64,
    /// Points restored per second.
    pub restore_rate: f64,
    /// Largest requested cost of one query.
    pub max_query_cost: u64,
}

impl ThrottleConfig {
    /// Standard plan: 100 points/s (shopify.dev, "GraphQL Admin API rate limits"), a bucket
    /// of 20 seconds' worth, single queries up to 1,000.
    pub const STANDARD: ThrottleConfig = ThrottleConfig {
        maximum_available: 2000.0,
        restore_rate: 100.0,
        max_query_cost: 1000,
    };
    /// Shopify Plus: 1,000 points/s.
    pub const PLUS: ThrottleConfig = ThrottleConfig {
        maximum_available: 20000.0,
        restore_rate: 1000.0,
        max_query_cost: 1000,
    };
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self::STANDARD
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Status {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

pub(crate) struct Bucket {
    pub cfg: ThrottleConfig,
    available: f64,
    last: Instant,
}

impl Bucket {
    pub fn new(cfg: ThrottleConfig) -> Self {
        Self {
            cfg,
            available: cfg.maximum_available,
            last: Instant::now(),
        }
    }

    fn refill(&mut self) {
        let now = Instant::now();
        let dt = now.duration_since(self.last).as_secs_f64();
        self.last = now;
        self.available =
            (self.available + dt * self.cfg.restore_rate).min(self.cfg.maximum_available);
    }

    /// Takes `cost` points if the bucket holds them now.
    pub fn take(&mut self, cost: f64) -> bool {
        self.refill();
        if self.available >= cost {
            self.available -= cost;
            true
        } else {
            false
        }
    }

    pub fn refund(&mut self, points: f64) {
        self.refill();
        if points > 0.0 {
            self.available = (self.available + points).min(self.cfg.maximum_available);
        }
    }

    pub fn status(&mut self) -> Status {
        self.refill();
        Status {
            maximum_available: self.cfg.maximum_available,
            currently_available: (self.available * 10.0).floor() / 10.0,
            restore_rate: self.cfg.restore_rate,
        }
    }

    pub fn set(&mut self, cfg: ThrottleConfig) {
        self.refill();
        self.cfg = cfg;
        self.available = self.available.min(cfg.maximum_available);
    }
}

/// A fault to inject into the next matching requests (by operation name, or `"*"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this HTTP status without doing anything.
    Status { status: u16 },
    /// Wait before handling the request.
    Latency { millis: u64 },
    /// Execute, then answer 502 (a proxy lost the answer: the write *did* happen).
    ApplyThen502,
    /// Execute, then wait this long before answering (a client timeout: ambiguous).
    ApplyThenStall { millis: u64 },
    /// Answer 200 with a GraphQL `INTERNAL_SERVER_ERROR` without executing.
    InternalError,
}

impl Fault {
    pub fn latency(&self) -> Option<Duration> {
        match self {
            Fault::Latency { millis } => Some(Duration::from_millis(*millis)),
            _ => None,
        }
    }
}

#[derive(Default)]
pub(crate) struct Faults {
    queue: VecDeque<(String, Fault, u32)>,
}

impl Faults {
    pub fn push(&mut self, op: &str, fault: Fault, times: u32) {
        if times > 0 {
            self.queue.push_back((op.to_string(), fault, times));
        }
    }

    pub fn take(&mut self, op: &str) -> Option<Fault> {
        let i = self
            .queue
            .iter()
            .position(|(o, _, _)| o == op || o == "*")?;
        let entry = &mut self.queue[i];
        entry.2 -= 1;
        let f = entry.1.clone();
        if entry.2 == 0 {
            self.queue.remove(i);
        }
        Some(f)
    }

    pub fn clear(&mut self) {
        self.queue.clear();
    }
}
