//! Client-side rate limiting: stay under each marketplace's limits instead of bouncing off them.
//!
//! Marketplaces meter per operation (Amazon: a token bucket per operation with rate + burst;
//! Shopify GraphQL: a leaky bucket of query-cost points). Hitting the limit costs more than
//! waiting: a 429 wastes a round trip and, on Amazon, repeated throttling lowers the quota. So
//! each (channel, operation) has its own bucket and a call waits for its tokens *before* it is
//! sent.
//!
//! Why our own bucket rather than `governor`: limits change at runtime (Amazon tells the real
//! rate in `x-amzn-RateLimit-Limit`, Shopify the bucket state in `extensions.cost`), costs vary
//! per call, and the server's view of what is left must be able to lower ours. See
//! [`TokenBucket`] for the guarantee. Time is `tokio::time`, so tests run on paused time.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::ChannelId;

/// A sustained rate and a burst (bucket size), in tokens (requests or cost points).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    pub rate_per_sec: f64,
    pub burst: f64,
}

impl Limit {
    pub fn new(rate_per_sec: f64, burst: f64) -> Self {
        // A zero or negative rate would never refill: clamp to something that does.
        Self {
            rate_per_sec: if rate_per_sec.is_finite() && rate_per_sec > 0.0 {
                rate_per_sec
            } else {
                1e-6
            },
            burst: if burst.is_finite() && burst >= 1.0 {
                burst
            } else {
                1.0
            },
        }
    }

    pub fn per_second(rate: f64) -> Self {
        Self::new(rate, rate.max(1.0))
    }
}

#[derive(Debug)]
struct BucketState {
    limit: Limit,
    /// Always within `0..=burst`, like the server's bucket.
    tokens: f64,
    last: Instant,
    /// Nobody is granted anything before this instant (after a 429 with `Retry-After`).
    blocked_until: Option<Instant>,
}

impl BucketState {
    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + dt * self.limit.rate_per_sec).min(self.limit.burst);
    }

    /// Grants `cost` now, or says how long to wait before asking again.
    fn try_take(&mut self, now: Instant, cost: f64) -> Result<(), Duration> {
        if let Some(until) = self.blocked_until {
            if now < until {
                return Err(until - now);
            }
            self.blocked_until = None;
            // The bucket restarts empty at the end of a penalty.
            self.last = until;
            self.tokens = 0.0;
        }
        self.refill(now);
        if self.tokens >= cost {
            self.tokens -= cost;
            Ok(())
        } else {
            let secs = (cost - self.tokens) / self.limit.rate_per_sec;
            Err(Duration::from_secs_f64(secs).max(Duration::from_millis(1)))
        }
    }
}

/// One token bucket. Starts full.
///
/// It behaves exactly like the server-side bucket it mirrors: tokens stay within
/// `0..=burst` and a call is granted only when its tokens are there at that instant, so over
/// any window of length `t` at most `burst + rate * t` tokens are granted, measured at the
/// instants the calls are actually released (timer lateness cannot bank extra tokens).
/// Waiters queue in arrival order (a fair async mutex), so an expensive call is not starved by
/// cheap ones; a cancelled waiter simply leaves the queue and takes nothing.
#[derive(Debug)]
pub struct TokenBucket {
    state: Mutex<BucketState>,
    queue: tokio::sync::Mutex<()>,
}

impl TokenBucket {
    pub fn new(limit: Limit) -> Self {
        let limit = Limit::new(limit.rate_per_sec, limit.burst);
        Self {
            state: Mutex::new(BucketState {
                limit,
                tokens: limit.burst,
                last: Instant::now(),
                blocked_until: None,
            }),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits until `cost` tokens are granted. A cost above the burst is clamped to the burst
    /// (the channel would refuse such a call anyway).
    pub async fn acquire(&self, cost: f64) {
        let _turn = self.queue.lock().await;
        loop {
            let wait = {
                let mut s = self.state.lock();
                let cost = cost.clamp(0.0, s.limit.burst);
                match s.try_take(Instant::now(), cost) {
                    Ok(()) => return,
                    Err(wait) => wait,
                }
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Takes `cost` tokens only if they are available now (and nobody is queued).
    pub fn try_acquire(&self, cost: f64) -> bool {
        let Ok(_turn) = self.queue.try_lock() else {
            return false;
        };
        self.state.lock().try_take(Instant::now(), cost).is_ok()
    }

    /// Tokens available now.
    pub fn available(&self) -> f64 {
        let mut s = self.state.lock();
        let now = Instant::now();
        if s.blocked_until.is_some_and(|u| now < u) {
            return 0.0;
        }
        s.refill(now);
        s.tokens
    }

    pub fn limit(&self) -> Limit {
        self.state.lock().limit
    }

    /// Change rate and burst (from configuration or response headers). Tokens above the new
    /// burst are dropped.
    pub fn set_limit(&self, limit: Limit) {
        let limit = Limit::new(limit.rate_per_sec, limit.burst);
        let mut s = self.state.lock();
        s.refill(Instant::now());
        s.limit = limit;
        s.tokens = s.tokens.min(limit.burst);
    }

    /// The server says it has `available` tokens left for us: never believe we have more.
    pub fn observe_available(&self, available: f64) {
        if !available.is_finite() {
            return;
        }
        let mut s = self.state.lock();
        s.refill(Instant::now());
        s.tokens = s.tokens.min(available.max(0.0));
    }

    /// Give back tokens taken but not consumed (Shopify refunds requested − actual cost).
    pub fn credit(&self, tokens: f64) {
        if !(tokens.is_finite() && tokens > 0.0) {
            return;
        }
        let mut s = self.state.lock();
        s.refill(Instant::now());
        s.tokens = (s.tokens + tokens).min(s.limit.burst);
    }

    /// We were throttled anyway (429): nobody is granted anything before `retry_after` has
    /// passed, and the bucket starts empty then.
    pub fn penalize(&self, retry_after: Duration) {
        let mut s = self.state.lock();
        let now = Instant::now();
        s.refill(now);
        s.tokens = 0.0;
        let until = now + retry_after;
        s.blocked_until = Some(s.blocked_until.map_or(until, |u| u.max(until)));
    }
}

/// Buckets keyed by (channel, operation). Cheap to clone; clones share buckets, so two
/// connector instances of one channel (or the daemon's status page) see the same state.
///
/// An operation without its own limit uses the channel's default (`"*"`) if one is set, in a
/// bucket of its own; with neither, calls are not limited.
#[derive(Clone, Debug, Default)]
pub struct RateLimiter {
    inner: Arc<Mutex<LimiterInner>>,
}

#[derive(Debug, Default)]
struct LimiterInner {
    limits: HashMap<(ChannelId, String), Limit>,
    buckets: HashMap<(ChannelId, String), Arc<TokenBucket>>,
}

/// The default-limit key.
pub const ANY_OPERATION: &str = "*";

impl RateLimiter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Set the limit of one operation (or `"*"` for the channel's default).
    pub fn configure(&self, channel: &ChannelId, op: &str, limit: Limit) {
        let mut inner = self.inner.lock();
        let key = (channel.clone(), op.to_string());
        inner.limits.insert(key.clone(), limit);
        if let Some(b) = inner.buckets.get(&key) {
            b.set_limit(limit);
        }
    }

    /// The bucket for (channel, op), created on first use; `None` when no limit applies.
    pub fn bucket(&self, channel: &ChannelId, op: &str) -> Option<Arc<TokenBucket>> {
        let mut inner = self.inner.lock();
        let key = (channel.clone(), op.to_string());
        if let Some(b) = inner.buckets.get(&key) {
            return Some(b.clone());
        }
        let limit = inner
            .limits
            .get(&key)
            .or_else(|| {
                inner
                    .limits
                    .get(&(channel.clone(), ANY_OPERATION.to_string()))
            })
            .copied()?;
        let b = Arc::new(TokenBucket::new(limit));
        inner.buckets.insert(key, b.clone());
        Some(b)
    }

    /// Wait until `cost` tokens of (channel, op) are granted.
    pub async fn acquire(&self, channel: &ChannelId, op: &str, cost: f64) {
        if let Some(b) = self.bucket(channel, op) {
            b.acquire(cost).await;
        }
    }

    pub fn penalize(&self, channel: &ChannelId, op: &str, retry_after: Duration) {
        if let Some(b) = self.bucket(channel, op) {
            b.penalize(retry_after);
        }
    }

    /// Adjust (channel, op) from response headers:
    /// * `x-amzn-RateLimit-Limit: <rate>` (Amazon SP-API): the real sustained rate;
    /// * `x-ratelimit-rate: <rate>`, `x-ratelimit-limit: <burst>`, `x-ratelimit-remaining: <n>`:
    ///   a token-bucket description (the sandbox marketplace, and channels that follow it).
    ///
    /// Unparseable values are ignored. Returns whether anything changed.
    pub fn update_from_headers(&self, channel: &ChannelId, op: &str, headers: &HeaderMap) -> bool {
        let num = |name: &str| -> Option<f64> {
            headers
                .get(name)?
                .to_str()
                .ok()?
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
        };
        let amzn = num("x-amzn-ratelimit-limit");
        let rate = num("x-ratelimit-rate").or(amzn);
        let burst = num("x-ratelimit-limit").filter(|_| amzn.is_none() || rate.is_some());
        let remaining = num("x-ratelimit-remaining");
        if rate.is_none() && burst.is_none() && remaining.is_none() {
            return false;
        }
        let bucket = {
            let mut inner = self.inner.lock();
            let key = (channel.clone(), op.to_string());
            let current = inner.buckets.get(&key).map(|b| b.limit()).or_else(|| {
                inner
                    .limits
                    .get(&key)
                    .or_else(|| {
                        inner
                            .limits
                            .get(&(channel.clone(), ANY_OPERATION.to_string()))
                    })
                    .copied()
            });
            let new_limit = match (current, rate, burst) {
                (_, Some(r), Some(b)) if r > 0.0 => Some(Limit::new(r, b)),
                (Some(c), Some(r), None) if r > 0.0 => Some(Limit::new(r, c.burst)),
                (Some(c), None, Some(b)) => Some(Limit::new(c.rate_per_sec, b)),
                (None, Some(r), None) if r > 0.0 => Some(Limit::new(r, 1.0)),
                _ => None,
            };
            if let Some(l) = new_limit {
                inner.limits.insert(key.clone(), l);
            }
            match (inner.buckets.get(&key).cloned(), new_limit) {
                (Some(b), Some(l)) => {
                    b.set_limit(l);
                    Some(b)
                }
                (Some(b), None) => Some(b),
                (None, Some(l)) => {
                    let b = Arc::new(TokenBucket::new(l));
                    inner.buckets.insert(key, b.clone());
                    Some(b)
                }
                (None, None) => None,
            }
        };
        if let (Some(b), Some(rem)) = (&bucket, remaining) {
            b.observe_available(rem);
        }
        bucket.is_some()
    }

    /// A view bound to one channel, which is what a connector holds.
    pub fn for_channel(&self, channel: ChannelId) -> ChannelLimiter {
        ChannelLimiter {
            limiter: self.clone(),
            channel,
        }
    }
}

/// A [`RateLimiter`] bound to one channel.
#[derive(Clone, Debug)]
pub struct ChannelLimiter {
    limiter: RateLimiter,
    channel: ChannelId,
}

impl ChannelLimiter {
    pub fn configure(&self, op: &str, limit: Limit) {
        self.limiter.configure(&self.channel, op, limit)
    }
    pub async fn acquire(&self, op: &str, cost: f64) {
        self.limiter.acquire(&self.channel, op, cost).await
    }
    pub fn penalize(&self, op: &str, retry_after: Duration) {
        self.limiter.penalize(&self.channel, op, retry_after)
    }
    pub fn update_from_headers(&self, op: &str, headers: &HeaderMap) -> bool {
        self.limiter.update_from_headers(&self.channel, op, headers)
    }
    pub fn bucket(&self, op: &str) -> Option<Arc<TokenBucket>> {
        self.limiter.bucket(&self.channel, op)
    }
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }
}

/// Shopify GraphQL's `extensions.cost.throttleStatus`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ThrottleStatus {
    pub maximum_available: f64,
    pub currently_available: f64,
    pub restore_rate: f64,
}

/// Shopify GraphQL's `extensions.cost`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryCost {
    pub requested_query_cost: f64,
    pub actual_query_cost: Option<f64>,
    pub throttle_status: ThrottleStatus,
}

impl QueryCost {
    /// Reads `extensions.cost` from a GraphQL response body; `None` if absent or malformed.
    pub fn from_response(body: &serde_json::Value) -> Option<Self> {
        serde_json::from_value(body.get("extensions")?.get("cost")?.clone()).ok()
    }
}

/// A cost-based leaky bucket (Shopify GraphQL): wait before sending a query whose requested
/// cost exceeds what is available, then correct from what the server reports.
#[derive(Debug)]
pub struct CostBucket {
    bucket: TokenBucket,
}

impl CostBucket {
    /// `maximum_available` points, restored at `restore_rate` per second (100/1000 on
    /// Standard/Plus plans: take them from the first response rather than hard-coding).
    pub fn new(maximum_available: f64, restore_rate: f64) -> Self {
        Self {
            bucket: TokenBucket::new(Limit::new(restore_rate, maximum_available)),
        }
    }

    /// Wait until `requested_cost` points are available and reserve them.
    pub async fn acquire(&self, requested_cost: f64) {
        self.bucket.acquire(requested_cost).await
    }

    /// Correct the bucket from a response: refund what the query did not cost, adopt the
    /// server's maximum and restore rate, and never believe more is available than it says.
    pub fn observe(&self, cost: &QueryCost) {
        let ts = cost.throttle_status;
        if ts.restore_rate > 0.0 && ts.maximum_available > 0.0 {
            self.bucket
                .set_limit(Limit::new(ts.restore_rate, ts.maximum_available));
        }
        if let Some(actual) = cost.actual_query_cost {
            self.bucket.credit(cost.requested_query_cost - actual);
        }
        self.bucket.observe_available(ts.currently_available);
    }

    /// A THROTTLED error: wait until `needed` points are restored before anyone sends.
    pub fn throttled(&self, status: &ThrottleStatus, needed: f64) {
        self.bucket.observe_available(status.currently_available);
        let missing = (needed - status.currently_available).max(0.0);
        if status.restore_rate > 0.0 {
            self.bucket
                .penalize(Duration::from_secs_f64(missing / status.restore_rate));
        }
    }

    pub fn available(&self) -> f64 {
        self.bucket.available()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn paused_rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .start_paused(true)
            .build()
            .unwrap()
    }

    /// Checks that over every window [t_i, t_j] the granted cost is within burst + rate*dt.
    fn assert_within_limit(grants: &[(Duration, f64)], limit: Limit) {
        for i in 0..grants.len() {
            let mut sum = 0.0;
            for j in i..grants.len() {
                sum += grants[j].1;
                let dt = (grants[j].0 - grants[i].0).as_secs_f64();
                let allowed = limit.burst + limit.rate_per_sec * dt + 1e-6;
                assert!(
                    sum <= allowed,
                    "window {i}..={j}: granted {sum} > allowed {allowed} (dt {dt})"
                );
            }
        }
    }

    #[tokio::test(start_paused = true)]
    async fn burst_then_steady_rate() {
        let b = TokenBucket::new(Limit::new(2.0, 5.0));
        let start = Instant::now();
        for _ in 0..5 {
            b.acquire(1.0).await;
        }
        assert_eq!(start.elapsed(), Duration::ZERO, "the burst is free");
        b.acquire(1.0).await;
        assert_eq!(start.elapsed(), Duration::from_millis(500));
        b.acquire(1.0).await;
        assert_eq!(start.elapsed(), Duration::from_millis(1000));
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_never_exceed_rate() {
        let limit = Limit::new(5.0, 3.0);
        let b = Arc::new(TokenBucket::new(limit));
        let start = Instant::now();
        let grants = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let b = b.clone();
            let grants = grants.clone();
            tasks.push(tokio::spawn(async move {
                b.acquire(1.0).await;
                grants.lock().push((start.elapsed(), 1.0));
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut g = grants.lock().clone();
        g.sort_by_key(|a| a.0);
        assert_eq!(g.len(), 40);
        assert_within_limit(&g, limit);
        // 40 tokens, 3 free, 37 at 5/s.
        let last = g.last().unwrap().0.as_secs_f64();
        // 3 free, 37 at 5/s; each wait may round up to the next millisecond tick.
        assert!(
            (37.0 / 5.0..37.0 / 5.0 + 0.05).contains(&last),
            "last grant at {last}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn runtime_adjustment_and_penalty() {
        let b = TokenBucket::new(Limit::new(10.0, 1.0));
        let start = Instant::now();
        b.acquire(1.0).await;
        b.set_limit(Limit::new(1.0, 1.0));
        b.acquire(1.0).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        b.penalize(Duration::from_secs(5));
        let t = Instant::now();
        b.acquire(1.0).await;
        assert!(t.elapsed() >= Duration::from_secs(5), "{:?}", t.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn keyed_limiter_separates_operations_and_channels() {
        let l = RateLimiter::new();
        let a = ChannelId::new("a").unwrap();
        let b = ChannelId::new("b").unwrap();
        l.configure(&a, "orders", Limit::new(1.0, 1.0));
        l.configure(&a, ANY_OPERATION, Limit::new(1.0, 1.0));
        let start = Instant::now();
        l.acquire(&a, "orders", 1.0).await;
        l.acquire(&a, "stock", 1.0).await; // its own bucket from the default
        l.acquire(&b, "orders", 1.0).await; // channel b: unlimited
        l.acquire(&b, "orders", 1.0).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        l.acquire(&a, "orders", 1.0).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn headers_adjust_the_bucket() {
        let l = RateLimiter::new();
        let c = ChannelId::new("amz").unwrap();
        l.configure(&c, "getOrders", Limit::new(10.0, 20.0));
        let mut h = HeaderMap::new();
        h.insert("x-amzn-RateLimit-Limit", "0.5".parse().unwrap());
        assert!(l.update_from_headers(&c, "getOrders", &h));
        assert_eq!(
            l.bucket(&c, "getOrders").unwrap().limit(),
            Limit::new(0.5, 20.0)
        );
        let mut h = HeaderMap::new();
        h.insert("x-ratelimit-rate", "4".parse().unwrap());
        h.insert("x-ratelimit-limit", "8".parse().unwrap());
        h.insert("x-ratelimit-remaining", "0".parse().unwrap());
        assert!(l.update_from_headers(&c, "getOrders", &h));
        let b = l.bucket(&c, "getOrders").unwrap();
        assert_eq!(b.limit(), Limit::new(4.0, 8.0));
        let start = Instant::now();
        b.acquire(1.0).await;
        assert_eq!(
            start.elapsed(),
            Duration::from_millis(250),
            "remaining=0 was believed"
        );
        let mut junk = HeaderMap::new();
        junk.insert("x-ratelimit-rate", "NaN-ish".parse().unwrap());
        assert!(!l.update_from_headers(&c, "getOrders", &junk));
    }

    #[tokio::test(start_paused = true)]
    async fn cost_bucket_waits_for_expensive_queries() {
        let b = CostBucket::new(100.0, 50.0);
        let start = Instant::now();
        b.acquire(80.0).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        // Server: the query really cost 10, 90 left.
        b.observe(&QueryCost {
            requested_query_cost: 80.0,
            actual_query_cost: Some(10.0),
            throttle_status: ThrottleStatus {
                maximum_available: 100.0,
                currently_available: 90.0,
                restore_rate: 50.0,
            },
        });
        assert!((b.available() - 90.0).abs() < 1e-9);
        b.acquire(90.0).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
        b.acquire(50.0).await;
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        let body = serde_json::json!({"data": {}, "extensions": {"cost": {
            "requestedQueryCost": 12, "actualQueryCost": 8,
            "throttleStatus": {"maximumAvailable": 2000.0, "currentlyAvailable": 1990, "restoreRate": 100.0}}}});
        let qc = QueryCost::from_response(&body).unwrap();
        assert_eq!(qc.throttle_status.maximum_available, 2000.0);
        assert!(QueryCost::from_response(&serde_json::json!({"data": {}})).is_none());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]
        /// Concurrent callers with random costs, arrival gaps and a server-side correction
        /// (`observe_available`) still never exceed the limit together.
        #[test]
        fn concurrent_callers_never_exceed_the_rate(
            rate in 1.0f64..30.0,
            burst in 1.0f64..10.0,
            tasks in proptest::collection::vec(
                proptest::collection::vec((1u32..3, 0u64..200), 1..15), 1..6),
            observe_at in 0u64..500,
        ) {
            let limit = Limit::new(rate, burst);
            let grants = paused_rt().block_on(async move {
                let b = Arc::new(TokenBucket::new(limit));
                let start = Instant::now();
                let grants = Arc::new(Mutex::new(Vec::new()));
                let mut hs = Vec::new();
                for calls in tasks {
                    let (b, grants) = (b.clone(), grants.clone());
                    hs.push(tokio::spawn(async move {
                        for (cost, gap) in calls {
                            tokio::time::sleep(Duration::from_millis(gap)).await;
                            let cost = f64::from(cost).min(limit.burst);
                            b.acquire(cost).await;
                            grants.lock().push((start.elapsed(), cost));
                        }
                    }));
                }
                let b2 = b.clone();
                hs.push(tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(observe_at)).await;
                    b2.observe_available(0.0);
                }));
                for h in hs {
                    h.await.unwrap();
                }
                let mut g = grants.lock().clone();
                g.sort_by_key(|x| x.0);
                g
            });
            assert_within_limit(&grants, limit);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the costs, gaps and runtime limit changes, grants stay within the limit in
        /// force (checked against the strictest limit used).
        #[test]
        fn never_exceeds_the_configured_rate(
            rate in 0.5f64..50.0,
            burst in 1.0f64..20.0,
            calls in proptest::collection::vec((1u32..4, 0u64..300), 1..60),
        ) {
            let limit = Limit::new(rate, burst);
            let grants = paused_rt().block_on(async move {
                let b = TokenBucket::new(limit);
                let start = Instant::now();
                let mut grants = Vec::new();
                for (cost, gap_ms) in calls {
                    tokio::time::sleep(Duration::from_millis(gap_ms)).await;
                    let cost = f64::from(cost).min(limit.burst);
                    b.acquire(cost).await;
                    grants.push((start.elapsed(), cost));
                }
                grants
            });
            assert_within_limit(&grants, limit);
        }
    }
}
