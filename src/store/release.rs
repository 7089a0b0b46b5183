//! Acting on a person's decision about a quarantined record (issue 6).
//!
//! A record is held in `quarantine`; when it came through the inbox (an order), its inbox row
//! is `quarantined` and points at the quarantine row. **Release** puts that inbox row back to
//! `new` in the same transaction that marks the quarantine row released, so the job that owns
//! the kind (the order importer) processes it again exactly as if it had just been staged: it
//! searches Odoo before creating, so a release can never duplicate. The inbox row keeps its
//! link to the quarantine row, so whoever acted can later see what became of it
//! ([`Store::inbox_for_quarantine`]). **Discard** is [`Store::resolve_quarantine`] with
//! `Discarded`: the inbox row stays `quarantined`, i.e. closed.

use super::{
    Backend, InboxState, Pool, QuarantineItem, QuarantineState, Result, Store, on_pool, pick, ts,
};

/// What [`Store::release_quarantine`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Released {
    /// Now released; `inbox_id` is the staged payload put back in the queue, if there is one.
    Requeued {
        inbox_id: Option<i64>,
    },
    /// It was not held any more (already released or discarded): nothing changed.
    AlreadyDecided(QuarantineState),
    NotFound,
}

/// The inbox row a quarantine entry came from, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxLink {
    pub inbox_id: i64,
    pub state: InboxState,
    /// The Odoo record it became, once processed.
    pub odoo_id: Option<i64>,
}

impl Store {
    /// One quarantine entry by id.
    pub async fn quarantine_item(&self, id: i64) -> Result<Option<QuarantineItem>> {
        let row: Option<super::QuarantineRow> = on_pool!(self, p => {
            sqlx::query_as(
                "SELECT id, channel, kind, external_ref, reason, payload, state, odoo_model, odoo_id, created_at, resolved_at \
                 FROM quarantine WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(p)
            .await?
        });
        row.map(super::quarantine_item).transpose()
    }

    /// Release a held entry and put its inbox row (if any) back to `new`, in one transaction.
    pub async fn release_quarantine(&self, id: i64) -> Result<Released> {
        let now = ts(self.now());
        on_pool!(self, p => {
            let mut tx = p.begin_write().await?;
            let row: Option<(String,)> = sqlx::query_as(pick(
                p,
                "SELECT state FROM quarantine WHERE id = $1",
                "SELECT state FROM quarantine WHERE id = $1 FOR UPDATE",
            ))
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((state,)) = row else {
                return Ok(Released::NotFound);
            };
            let state = QuarantineState::parse(&state)?;
            if state != QuarantineState::Held {
                return Ok(Released::AlreadyDecided(state));
            }
            sqlx::query("UPDATE quarantine SET state = 'released', resolved_at = $2 WHERE id = $1")
                .bind(id)
                .bind(&now)
                .execute(&mut *tx)
                .await?;
            let inbox: Option<(i64,)> = sqlx::query_as(
                "UPDATE inbox SET state = 'new', updated_at = $2 \
                 WHERE quarantine_id = $1 AND state = 'quarantined' RETURNING id",
            )
            .bind(id)
            .bind(&now)
            .fetch_optional(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Released::Requeued { inbox_id: inbox.map(|(i,)| i) })
        })
    }

    /// The inbox row that was quarantined as `quarantine_id`, unless it was quarantined again
    /// since (then it points at the newer entry).
    pub async fn inbox_for_quarantine(&self, quarantine_id: i64) -> Result<Option<InboxLink>> {
        let row: Option<(i64, String, Option<i64>)> = on_pool!(self, p => {
            sqlx::query_as("SELECT id, state, odoo_id FROM inbox WHERE quarantine_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(quarantine_id)
                .fetch_optional(p)
                .await?
        });
        row.map(|(inbox_id, state, odoo_id)| {
            Ok(InboxLink {
                inbox_id,
                state: InboxState::parse(&state)?,
                odoo_id,
            })
        })
        .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn release_requeues_the_inbox_row_once_and_discard_closes_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        let store = Store::open(&url).await.unwrap();
        let super::super::Staged::New(inbox) = store
            .stage("shop", "order", "1001", r#"{"id": "1001"}"#)
            .await
            .unwrap()
        else {
            panic!("new payload")
        };
        let q = store
            .inbox_quarantine(inbox, "unknown SKU")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            store.inbox_for_quarantine(q).await.unwrap().unwrap().state,
            InboxState::Quarantined
        );
        assert_eq!(
            store.release_quarantine(q).await.unwrap(),
            Released::Requeued {
                inbox_id: Some(inbox)
            }
        );
        assert_eq!(
            store.release_quarantine(q).await.unwrap(),
            Released::AlreadyDecided(QuarantineState::Released),
            "a second release changes nothing"
        );
        let queued = store.inbox_new("shop", "order", 10).await.unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].id, inbox);
        store.inbox_done(inbox, Some(42)).await.unwrap();
        let link = store.inbox_for_quarantine(q).await.unwrap().unwrap();
        assert_eq!((link.state, link.odoo_id), (InboxState::Done, Some(42)));
        assert_eq!(
            store.quarantine_item(q).await.unwrap().unwrap().state,
            QuarantineState::Released
        );
        // Discard: the row stays closed.
        let super::super::Staged::New(other) = store
            .stage("shop", "order", "1002", r#"{"id": "1002"}"#)
            .await
            .unwrap()
        else {
            panic!("new payload")
        };
        let q2 = store.inbox_quarantine(other, "bad").await.unwrap().unwrap();
        assert!(
            store
                .resolve_quarantine(q2, QuarantineState::Discarded)
                .await
                .unwrap()
        );
        assert_eq!(
            store.release_quarantine(q2).await.unwrap(),
            Released::AlreadyDecided(QuarantineState::Discarded)
        );
        assert!(
            store
                .inbox_new("shop", "order", 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.release_quarantine(999).await.unwrap(),
            Released::NotFound
        );
    }
}
