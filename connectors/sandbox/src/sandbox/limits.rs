//! Server-side rate limits and fault injection.
//!
//! The limiter is deliberately a separate, naive implementation from the client's
//! (`channels_core::ratelimit`): if both shared one bucket a bug in it would be mirrored on
//! both sides and the tests would still pass. It refuses with 429 instead of waiting, and
//! counts every refusal so a test can fail when a connector exceeds a limit.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Rate (requests per second) and burst of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpLimit {
    pub rate: f64,
    pub burst: f64,
}

/// The operations the sandbox meters, with their default limits (modest, like a real
/// marketplace's per-app limits, but fast enough for tests).
pub fn default_limits() -> BTreeMap<String, OpLimit> {
    let l = |rate, burst| OpLimit { rate, burst };
    [
        ("orders.list", l(20.0, 40.0)),
        ("orders.get", l(20.0, 40.0)),
        ("inventory.read", l(20.0, 40.0)),
        ("inventory.write", l(10.0, 20.0)),
        ("prices.write", l(10.0, 20.0)),
        ("listings.write", l(10.0, 20.0)),
        ("shipments.create", l(10.0, 20.0)),
        ("orders.cancel", l(10.0, 20.0)),
        ("returns.list", l(10.0, 20.0)),
        ("settlements.list", l(5.0, 10.0)),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

struct Bucket {
    limit: OpLimit,
    tokens: f64,
    last: Instant,
}

pub(crate) struct Limits {
    buckets: HashMap<String, Bucket>,
}

/// The verdict for one request.
pub(crate) struct Verdict {
    pub allowed: bool,
    pub limit: OpLimit,
    pub remaining: f64,
    pub retry_after: Duration,
}

impl Limits {
    pub fn new(limits: &BTreeMap<String, OpLimit>) -> Self {
        let now = Instant::now();
        Self {
            buckets: limits
                .iter()
                .map(|(k, l)| {
                    (
                        k.clone(),
                        Bucket {
                            limit: *l,
                            tokens: l.burst,
                            last: now,
                        },
                    )
                })
                .collect(),
        }
    }

    pub fn set(&mut self, op: &str, limit: OpLimit) {
        self.buckets.insert(
            op.to_string(),
            Bucket {
                limit,
                tokens: limit.burst,
                last: Instant::now(),
            },
        );
    }

    /// `None` when the operation is not metered.
    pub fn check(&mut self, op: &str) -> Option<Verdict> {
        let b = self.buckets.get_mut(op)?;
        let now = Instant::now();
        let dt = now.duration_since(b.last).as_secs_f64();
        b.last = now;
        b.tokens = (b.tokens + dt * b.limit.rate).min(b.limit.burst);
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Some(Verdict {
                allowed: true,
                limit: b.limit,
                remaining: b.tokens,
                retry_after: Duration::ZERO,
            })
        } else {
            let wait = (1.0 - b.tokens) / b.limit.rate;
            Some(Verdict {
                allowed: false,
                limit: b.limit,
                remaining: b.tokens,
                retry_after: Duration::from_secs_f64(wait),
            })
        }
    }
}

/// A fault to inject into the next matching requests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status (500, 502, 503…) without doing anything.
    Status { status: u16 },
    /// Wait this long before handling the request.
    Latency { millis: u64 },
    /// Apply the write, then wait this long before answering (a client timeout makes the
    /// outcome ambiguous: the write *did* happen).
    ApplyThenStall { millis: u64 },
    /// Apply the write, then answer 502 (a gateway lost the answer).
    ApplyThen502,
}

#[derive(Default)]
pub(crate) struct Faults {
    /// (operation or "*", fault, remaining times)
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
