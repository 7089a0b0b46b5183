//! Access tokens that expire (Amazon LWA: one hour; eBay, Etsy, Walmart: OAuth), refreshed
//! ahead of expiry and **once** after a 401, then the `Auth` error goes to the daemon, which
//! alerts a person. One refresh at a time: concurrent callers wait for the same refresh instead
//! of each hitting the token endpoint (which has its own rate limit).

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::ChannelError;

/// A bearer token and when it stops working.
#[derive(Clone, Debug)]
pub struct AccessToken {
    pub token: SecretString,
    /// `None`: does not expire (static API tokens).
    pub expires_at: Option<Instant>,
}

/// Where fresh tokens come from (an OAuth refresh-token grant, a token exchange…).
#[async_trait]
pub trait TokenSource: Send + Sync {
    async fn fetch(&self) -> Result<AccessToken, ChannelError>;
}

/// Caches a token, refreshes it `margin` before expiry, and retries a call once with a fresh
/// token when the channel answers `Auth`.
pub struct TokenCache<S> {
    source: S,
    margin: Duration,
    current: Mutex<Option<AccessToken>>,
}

impl<S: TokenSource> TokenCache<S> {
    pub fn new(source: S, margin: Duration) -> Self {
        Self {
            source,
            margin,
            current: Mutex::new(None),
        }
    }

    /// A token valid for at least `margin`, fetching one if needed.
    pub async fn token(&self) -> Result<SecretString, ChannelError> {
        let mut cur = self.current.lock().await;
        if let Some(t) = cur.as_ref()
            && t.expires_at
                .is_none_or(|e| Instant::now() + self.margin < e)
        {
            return Ok(t.token.clone());
        }
        let fresh = self.source.fetch().await?;
        let token = fresh.token.clone();
        *cur = Some(fresh);
        Ok(token)
    }

    /// Forget `stale` (the token a call was refused with). If another caller already replaced
    /// it, nothing happens: one refresh serves everyone.
    pub async fn invalidate(&self, stale: &SecretString) {
        let mut cur = self.current.lock().await;
        if cur
            .as_ref()
            .is_some_and(|t| t.token.expose_secret() == stale.expose_secret())
        {
            *cur = None;
        }
    }

    /// Runs `call` with a token; on `Auth`, refreshes once and runs it again. A 401 means the
    /// request was not processed, so sending it again is safe even for a write.
    pub async fn with_token<T, F, Fut>(&self, mut call: F) -> Result<T, ChannelError>
    where
        F: FnMut(SecretString) -> Fut,
        Fut: Future<Output = Result<T, ChannelError>>,
    {
        let token = self.token().await?;
        match call(token.clone()).await {
            Err(ChannelError::Auth { .. }) => {
                self.invalidate(&token).await;
                let token = self.token().await?;
                call(token).await
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    struct Counting(Arc<AtomicU32>);

    #[async_trait]
    impl TokenSource for Counting {
        async fn fetch(&self) -> Result<AccessToken, ChannelError> {
            let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(AccessToken {
                token: SecretString::from(format!("tok{n}")),
                expires_at: Some(Instant::now() + Duration::from_secs(3600)),
            })
        }
    }

    fn cache() -> (Arc<TokenCache<Counting>>, Arc<AtomicU32>) {
        let n = Arc::new(AtomicU32::new(0));
        (
            Arc::new(TokenCache::new(
                Counting(n.clone()),
                Duration::from_secs(60),
            )),
            n,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn refreshes_before_expiry_and_only_once_for_concurrent_callers() {
        let (c, n) = cache();
        let mut hs = Vec::new();
        for _ in 0..10 {
            let c = c.clone();
            hs.push(tokio::spawn(async move {
                c.token().await.unwrap().expose_secret().to_string()
            }));
        }
        for h in hs {
            assert_eq!(h.await.unwrap(), "tok1");
        }
        assert_eq!(n.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(3600 - 61)).await;
        assert_eq!(c.token().await.unwrap().expose_secret(), "tok1");
        tokio::time::sleep(Duration::from_secs(2)).await;
        assert_eq!(
            c.token().await.unwrap().expose_secret(),
            "tok2",
            "refreshed within the margin"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_401_refreshes_once_then_gives_up() {
        let (c, n) = cache();
        // The channel accepts only tok2: one refresh fixes it.
        let r = c
            .with_token(|t| async move {
                if t.expose_secret() == "tok2" {
                    Ok(7)
                } else {
                    Err(ChannelError::Auth {
                        message: "401".into(),
                    })
                }
            })
            .await;
        assert_eq!(r.unwrap(), 7);
        assert_eq!(n.load(Ordering::SeqCst), 2);
        // Revoked for good: exactly one more refresh, then Auth comes back.
        let calls = AtomicU32::new(0);
        let r: Result<(), _> = c
            .with_token(|_| {
                calls.fetch_add(1, Ordering::SeqCst);
                async {
                    Err(ChannelError::Auth {
                        message: "revoked".into(),
                    })
                }
            })
            .await;
        assert!(matches!(r, Err(ChannelError::Auth { .. })));
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }
}
