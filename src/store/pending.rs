//! Outbox rows a channel accepted but has not applied yet.
//!
//! Feed-based channels (Amazon's `JSON_LISTINGS_FEED`) answer a push with "accepted, look
//! again later" and a handle. Such a row stays `sending` — so no newer version of its key goes
//! on the wire before the channel has settled this one — with the handle beside it and a
//! longer lease: feeds take minutes. If the handle is never settled (the daemon lost it, the
//! feed is stuck), the lease expiry in `claim_batch` sends the value again, which is safe:
//! quantities and prices are absolute.

use jiff::Timestamp;

use super::{Pool, PushKind, Result, Store, on_pool, ts};

/// One in-flight row waiting on its channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InFlight {
    pub id: i64,
    pub sku: String,
    pub version: i64,
    pub attempts: i64,
    pub handle: String,
}

impl Store {
    /// Row `id` was accepted under `handle`: keep it in flight until `until`. False when the
    /// row is no longer in flight (superseded, or its lease expired and it went back).
    pub async fn mark_pending(&self, id: i64, handle: &str, until: Timestamp) -> Result<bool> {
        let now = ts(self.now());
        let done = on_pool!(self, p => {
            sqlx::query(
                "UPDATE outbox SET pending_handle = $2, lease_until = $3, updated_at = $4, last_error = NULL \
                 WHERE id = $1 AND state = 'sending'",
            )
            .bind(id)
            .bind(handle)
            .bind(ts(until))
            .bind(&now)
            .execute(p)
            .await?
            .rows_affected()
        });
        Ok(done == 1)
    }

    /// The in-flight rows of `(channel, kind)` that wait on a handle, oldest first.
    pub async fn in_flight(&self, channel: &str, kind: PushKind) -> Result<Vec<InFlight>> {
        let rows: Vec<(i64, String, i64, i64, String)> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, sku, version, attempts, pending_handle FROM outbox \
                 WHERE channel = $1 AND kind = $2 AND state = 'sending' AND pending_handle IS NOT NULL \
                 ORDER BY id",
            )
            .bind(channel)
            .bind(kind.as_str())
            .fetch_all(p)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, sku, version, attempts, handle)| InFlight {
                id,
                sku,
                version,
                attempts,
                handle,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use rust_decimal::Decimal;

    use super::super::tests::Harness;
    use super::*;

    /// An accepted row stays in flight past the ordinary lease, blocks the newer value of its
    /// key until it is settled, and comes back only when its own, longer lease runs out.
    #[tokio::test]
    async fn an_accepted_row_waits_on_its_handle_and_holds_back_newer_values() {
        let h = Harness::sqlite().await;
        let s = &h.store;
        s.enqueue(&h.ch, PushKind::Stock, "A", Decimal::from(5), 1)
            .await
            .unwrap();
        let c = s
            .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap();
        let until = h.now().checked_add(Duration::from_secs(3600)).unwrap();
        assert!(s.mark_pending(c[0].id, "feed-1/A/1", until).await.unwrap());
        s.enqueue(&h.ch, PushKind::Stock, "A", Decimal::from(3), 2)
            .await
            .unwrap();

        // Well past the 60 s ordinary lease: still in flight, and version 2 is not handed out.
        h.advance(600);
        let again = s
            .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap();
        assert!(again.is_empty(), "{again:?}");
        let waiting = s.in_flight(&h.ch, PushKind::Stock).await.unwrap();
        assert_eq!(waiting.len(), 1);
        assert_eq!(
            (
                waiting[0].sku.as_str(),
                waiting[0].version,
                waiting[0].handle.as_str()
            ),
            ("A", 1, "feed-1/A/1")
        );

        // Settled: version 1 is acknowledged and version 2 goes next.
        s.mark_sent(&[waiting[0].id]).await.unwrap();
        assert!(
            s.in_flight(&h.ch, PushKind::Stock)
                .await
                .unwrap()
                .is_empty()
        );
        let next = s
            .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap();
        assert_eq!((next[0].version, next[0].value), (2, Decimal::from(3)));
        // A row no longer in flight cannot be marked pending.
        assert!(!s.mark_pending(c[0].id, "late", until).await.unwrap());
    }

    /// A handle never settled: after its lease the value is sent again (absolute values are
    /// safe to repeat), or dropped for the newer one.
    #[tokio::test]
    async fn a_lost_handle_falls_back_to_the_lease() {
        let h = Harness::sqlite().await;
        let s = &h.store;
        s.enqueue(&h.ch, PushKind::Stock, "B", Decimal::from(9), 1)
            .await
            .unwrap();
        let c = s
            .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap();
        let until = h.now().checked_add(Duration::from_secs(3600)).unwrap();
        s.mark_pending(c[0].id, "feed-2/B/1", until).await.unwrap();
        h.advance(3601);
        let again = s
            .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap();
        assert_eq!((again[0].id, again[0].version), (c[0].id, 1));
    }
}
