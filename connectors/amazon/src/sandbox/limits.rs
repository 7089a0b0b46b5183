//! Server-side usage plans and fault injection.
//!
//! One token bucket per operationId, from the published table (`data/operations.json`) times
//! `rate_scale` (a seller whose plan is higher: the tests run the same buckets faster, and the
//! scaled rate is what `x-amzn-RateLimit-Limit` says). Deliberately a separate, naive
//! implementation from the client's (`channels_core::ratelimit`): a bug in one cannot be
//! mirrored in the other. It refuses with 429 `QuotaExceeded` instead of waiting and counts
//! every refusal, so a test fails when the connector exceeds a limit.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Rate (requests per second) and burst of one operation.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpLimit {
    pub rate: f64,
    pub burst: f64,
}

/// The published plans of the operations the sandbox serves.
pub fn published() -> BTreeMap<String, OpLimit> {
    crate::config::operations()
        .iter()
        .map(|o| {
            (
                o.operation_id.clone(),
                OpLimit {
                    rate: o.rate_per_second,
                    burst: o.burst,
                },
            )
        })
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

    pub fn limit(&self, op: &str) -> Option<OpLimit> {
        self.buckets.get(op).map(|b| b.limit)
    }

    /// `None` when the operation is not metered.
    pub fn check(&mut self, op: &str) -> Option<Verdict> {
        let b = self.buckets.get_mut(op)?;
        let now = Instant::now();
        let dt = now.duration_since(b.last).as_secs_f64();
        b.last = now;
        b.tokens = (b.tokens + dt * b.limit.rate).min(b.limit.burst);
        // A hair of tolerance for float rounding, none for timing.
        if b.tokens >= 1.0 - 1e-9 {
            b.tokens = (b.tokens - 1.0).max(0.0);
            Some(Verdict {
                allowed: true,
                limit: b.limit,
            })
        } else {
            Some(Verdict {
                allowed: false,
                limit: b.limit,
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
    /// A 429 `QuotaExceeded` although the bucket had tokens (Amazon throttles on its own
    /// schedule too). Counted apart from real violations.
    QuotaExceeded,
    /// Wait this long before handling the request.
    Latency { millis: u64 },
    /// Apply the write, then answer 502 (a gateway lost the answer).
    ApplyThen502,
    /// Apply the write, then wait this long before answering (a client timeout).
    ApplyThenStall { millis: u64 },
    /// Feeds only: the next processed feed ends `FATAL`.
    FeedFatal,
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

/// How long a stalled or slow answer waits.
pub(crate) fn millis(m: u64) -> Duration {
    Duration::from_millis(m)
}
