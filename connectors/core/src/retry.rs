//! Retry policy, classified per call.
//!
//! * **Reads** are retried with exponential backoff and jitter on `Transient` and
//!   `RateLimited`, honouring the channel's `retry_after` (never sooner than it asks).
//! * **Writes** are never retried blindly. The only write error retried here is `RateLimited`:
//!   a 429 is the channel saying it did *not* process the request, so sending it again cannot
//!   apply it twice. A `Transient` write goes back to the caller (it may choose to re-send after
//!   checking); an `Ambiguous` write always goes back (re-read, then act).
//! * A `retry_after` longer than `max_retry_after` is not waited for: the job gives up and
//!   resumes on its next run (as Odoo's Amazon connector does), rather than holding a worker.

use std::future::Future;
use std::time::Duration;

use backon::{BackoffBuilder, ExponentialBuilder};

use crate::ChannelError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallKind {
    Read,
    Write,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Total attempts including the first (1 = no retry).
    pub max_attempts: u32,
    pub min_delay: Duration,
    pub max_delay: Duration,
    /// The longest `retry_after` we are willing to sleep for inside one call.
    pub max_retry_after: Duration,
    pub jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            min_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(10),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Whether this error, for this kind of call, may be retried by this policy.
    pub fn should_retry(kind: CallKind, err: &ChannelError) -> bool {
        match kind {
            CallKind::Read => err.is_retryable(),
            CallKind::Write => matches!(err, ChannelError::RateLimited { .. }),
        }
    }

    /// Runs `call` (given the attempt number, from 1) until it succeeds, fails with an error
    /// that must not be retried, or attempts run out; returns the last result.
    pub async fn run<T, F, Fut>(&self, kind: CallKind, mut call: F) -> Result<T, ChannelError>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Result<T, ChannelError>>,
    {
        let mut builder = ExponentialBuilder::new()
            .with_min_delay(self.min_delay)
            .with_max_delay(self.max_delay)
            .with_max_times(self.max_attempts.saturating_sub(1) as usize);
        if self.jitter {
            builder = builder.with_jitter();
        }
        let mut delays = builder.build();
        let mut attempt = 1;
        loop {
            let err = match call(attempt).await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !Self::should_retry(kind, &err) {
                return Err(err);
            }
            let Some(mut delay) = delays.next() else {
                return Err(err);
            };
            if let ChannelError::RateLimited {
                retry_after: Some(ra),
            } = &err
            {
                if *ra > self.max_retry_after {
                    return Err(err);
                }
                delay = delay.max(*ra);
            }
            tracing::debug!(attempt, ?delay, error = %err, "retrying channel call");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};
    use tokio::time::Instant;

    fn transient() -> ChannelError {
        ChannelError::Transient {
            message: "503".into(),
        }
    }

    async fn failing_n(
        policy: &RetryPolicy,
        kind: CallKind,
        n: u32,
        err: fn() -> ChannelError,
    ) -> (Result<u32, ChannelError>, u32) {
        let calls = Arc::new(AtomicU32::new(0));
        let c = calls.clone();
        let r = policy
            .run(kind, move |attempt| {
                let c = c.clone();
                async move {
                    c.fetch_add(1, Ordering::SeqCst);
                    if attempt <= n {
                        Err(err())
                    } else {
                        Ok(attempt)
                    }
                }
            })
            .await;
        (r, calls.load(Ordering::SeqCst))
    }

    #[tokio::test(start_paused = true)]
    async fn reads_retry_transient_errors() {
        let p = RetryPolicy::default();
        let (r, calls) = failing_n(&p, CallKind::Read, 2, transient).await;
        assert_eq!(r.unwrap(), 3);
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn reads_give_up_after_max_attempts() {
        let p = RetryPolicy {
            max_attempts: 3,
            ..RetryPolicy::default()
        };
        let (r, calls) = failing_n(&p, CallKind::Read, 10, transient).await;
        assert!(matches!(r, Err(ChannelError::Transient { .. })));
        assert_eq!(calls, 3);
    }

    #[tokio::test(start_paused = true)]
    async fn writes_are_not_retried_on_transient_or_ambiguous() {
        let p = RetryPolicy::default();
        let (r, calls) = failing_n(&p, CallKind::Write, 1, transient).await;
        assert!(r.is_err());
        assert_eq!(calls, 1);
        let (r, calls) = failing_n(&p, CallKind::Write, 1, || ChannelError::Ambiguous {
            message: "timeout".into(),
        })
        .await;
        assert!(matches!(r, Err(ChannelError::Ambiguous { .. })));
        assert_eq!(calls, 1);
        let (r, calls) = failing_n(&p, CallKind::Read, 1, || ChannelError::rejected("bad")).await;
        assert!(r.is_err());
        assert_eq!(calls, 1, "validation errors are never retried");
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limited_honours_retry_after_for_reads_and_writes() {
        let p = RetryPolicy::default();
        for kind in [CallKind::Read, CallKind::Write] {
            let start = Instant::now();
            let (r, calls) = failing_n(&p, kind, 1, || ChannelError::RateLimited {
                retry_after: Some(Duration::from_secs(7)),
            })
            .await;
            assert_eq!(r.unwrap(), 2);
            assert_eq!(calls, 2);
            assert!(start.elapsed() >= Duration::from_secs(7));
        }
    }

    #[tokio::test(start_paused = true)]
    async fn long_retry_after_is_not_waited_for() {
        let p = RetryPolicy::default();
        let start = Instant::now();
        let (r, calls) = failing_n(&p, CallKind::Read, 1, || ChannelError::RateLimited {
            retry_after: Some(Duration::from_secs(3600)),
        })
        .await;
        assert!(matches!(r, Err(ChannelError::RateLimited { .. })));
        assert_eq!(calls, 1);
        assert!(start.elapsed() < Duration::from_secs(1));
    }
}
