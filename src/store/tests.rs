//! Store tests. Every scenario runs on a temporary SQLite file, and on PostgreSQL too when
//! `ODOO_CHANNELS_TEST_PG_URL` is set (CI has no PostgreSQL, so there it is skipped, loudly).

use super::*;
use rust_decimal::Decimal;
use std::sync::atomic::{AtomicI64, Ordering};

pub(super) struct Harness {
    pub store: Store,
    clock: Arc<AtomicI64>,
    /// A channel id unique to this test (PostgreSQL databases are shared between runs).
    pub ch: String,
    _dir: Option<tempfile::TempDir>,
}

const T0: i64 = 1_740_000_000;

impl Harness {
    pub async fn sqlite() -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("state.db").display());
        Self::open(&url, Some(dir), "ch".into()).await
    }

    pub async fn postgres() -> Option<Harness> {
        let Ok(url) = std::env::var("ODOO_CHANNELS_TEST_PG_URL") else {
            eprintln!(
                "SKIPPED: set ODOO_CHANNELS_TEST_PG_URL to run the store tests on PostgreSQL"
            );
            return None;
        };
        static N: AtomicI64 = AtomicI64::new(0);
        let ch = format!(
            "t{}-{}-{}",
            std::process::id(),
            Timestamp::now().as_microsecond(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        Some(Self::open(&url, None, ch).await)
    }

    async fn open(url: &str, dir: Option<tempfile::TempDir>, ch: String) -> Harness {
        let clock = Arc::new(AtomicI64::new(T0 * 1_000_000));
        let c = clock.clone();
        let opts = StoreOptions {
            outbox_lease: Duration::from_secs(60),
            ..StoreOptions::default()
        };
        let store = Store::open_with(url, &opts)
            .await
            .unwrap()
            .with_clock(move || Timestamp::from_microsecond(c.load(Ordering::SeqCst)).unwrap());
        Harness {
            store,
            clock,
            ch,
            _dir: dir,
        }
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_microsecond(self.clock.load(Ordering::SeqCst)).unwrap()
    }

    pub fn advance(&self, secs: i64) {
        self.clock.fetch_add(secs * 1_000_000, Ordering::SeqCst);
    }

    fn key(&self, s: &str) -> String {
        format!("{}:{s}", self.ch)
    }
}

fn d(n: i64) -> Decimal {
    Decimal::from(n)
}

/// Each scenario as a test on SQLite and on PostgreSQL (skipped without the env var).
macro_rules! scenarios {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::Harness::sqlite().await).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    if let Some(h) = super::Harness::postgres().await {
                        super::$name(h).await;
                    }
                }
            )*
        }
    };
}

scenarios!(
    cursors,
    newer_version_supersedes_unsent_older,
    older_versions_are_ignored,
    unchanged_value_is_not_queued,
    in_flight_key_is_not_claimed_twice,
    retry_waits_until_due,
    failure_with_newer_waiting_is_superseded,
    given_up_row_blocks_older_and_yields_to_newer,
    expired_lease_comes_back,
    expired_lease_yields_to_newer_version,
    late_ack_of_superseded_row_changes_nothing,
    claim_respects_limit_and_channel_kind,
    inbox_stage_is_idempotent,
    inbox_quarantine_moves_payload,
    quarantine_lifecycle,
    idempotency_two_phase,
    writable,
);

async fn cursors(h: Harness) {
    let s = &h.store;
    assert_eq!(s.get_cursor(&h.ch, "orders").await.unwrap(), None);
    s.set_cursor(&h.ch, "orders", "2025-01-01 00:00:00")
        .await
        .unwrap();
    h.advance(5);
    s.set_cursor(&h.ch, "orders", "2025-01-02 00:00:00")
        .await
        .unwrap();
    let c = s.get_cursor(&h.ch, "orders").await.unwrap().unwrap();
    assert_eq!(c.value, "2025-01-02 00:00:00");
    assert_eq!(c.updated_at, h.now());
    assert_eq!(s.get_cursor(&h.ch, "returns").await.unwrap(), None);
}

async fn newer_version_supersedes_unsent_older(h: Harness) {
    let s = &h.store;
    let r1 = s
        .enqueue(&h.ch, PushKind::Stock, "A", d(10), 1)
        .await
        .unwrap();
    assert!(matches!(
        r1,
        EnqueueOutcome::Queued {
            superseded: None,
            ..
        }
    ));
    let r2 = s
        .enqueue(&h.ch, PushKind::Stock, "A", d(7), 2)
        .await
        .unwrap();
    let EnqueueOutcome::Queued {
        id: id2,
        superseded,
    } = r2
    else {
        panic!("{r2:?}")
    };
    assert_eq!(superseded, Some(1));
    let rows = s.outbox_rows(&h.ch).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0].id, rows[0].version, rows[0].value), (id2, 2, d(7)));
    let claimed = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!((claimed[0].version, claimed[0].value), (2, d(7)));
}

async fn older_versions_are_ignored(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(5), 5)
        .await
        .unwrap();
    assert_eq!(
        s.enqueue(&h.ch, PushKind::Stock, "A", d(9), 4)
            .await
            .unwrap(),
        EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanQueued { queued: 5 })
    );
    assert_eq!(
        s.enqueue(&h.ch, PushKind::Stock, "A", d(9), 5)
            .await
            .unwrap(),
        EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanQueued { queued: 5 })
    );
    let c = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    let r = s.mark_sent(&[c[0].id]).await.unwrap();
    assert_eq!(
        r,
        MarkSent {
            sent: 1,
            acks_advanced: 1
        }
    );
    let ack = s
        .get_ack(&h.ch, PushKind::Stock, "A")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ack.version, ack.value), (5, d(5)));
    assert_eq!(
        s.enqueue(&h.ch, PushKind::Stock, "A", d(1), 3)
            .await
            .unwrap(),
        EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanAck { acked: 5 })
    );
    // another kind and another sku are independent
    assert!(matches!(
        s.enqueue(&h.ch, PushKind::Price, "A", d(1), 3)
            .await
            .unwrap(),
        EnqueueOutcome::Queued { .. }
    ));
    assert!(matches!(
        s.enqueue(&h.ch, PushKind::Stock, "B", d(1), 3)
            .await
            .unwrap(),
        EnqueueOutcome::Queued { .. }
    ));
}

async fn unchanged_value_is_not_queued(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Price, "A", Decimal::new(1999, 2), 1)
        .await
        .unwrap();
    let c = s
        .claim_batch(&h.ch, PushKind::Price, 10, h.now())
        .await
        .unwrap();
    s.mark_sent(&[c[0].id]).await.unwrap();
    // 19.990 == 19.99
    assert_eq!(
        s.enqueue(&h.ch, PushKind::Price, "A", Decimal::new(19990, 3), 2)
            .await
            .unwrap(),
        EnqueueOutcome::Ignored(IgnoredReason::Unchanged)
    );
    assert!(matches!(
        s.enqueue(&h.ch, PushKind::Price, "A", Decimal::new(1899, 2), 3)
            .await
            .unwrap(),
        EnqueueOutcome::Queued { .. }
    ));
    // back to the acked value while 18.99 waits: must be queued (it supersedes 18.99)
    assert!(matches!(
        s.enqueue(&h.ch, PushKind::Price, "A", Decimal::new(1999, 2), 4)
            .await
            .unwrap(),
        EnqueueOutcome::Queued {
            superseded: Some(3),
            ..
        }
    ));
}

async fn in_flight_key_is_not_claimed_twice(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(1), 1)
        .await
        .unwrap();
    let c1 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(c1.len(), 1);
    assert_eq!(
        c1[0].lease_until,
        h.now().checked_add(Duration::from_secs(60)).unwrap()
    );
    let r = s
        .enqueue(&h.ch, PushKind::Stock, "A", d(2), 2)
        .await
        .unwrap();
    assert!(
        matches!(
            r,
            EnqueueOutcome::Queued {
                superseded: None,
                ..
            }
        ),
        "{r:?}"
    );
    assert!(
        s.claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap()
            .is_empty()
    );
    s.mark_sent(&[c1[0].id]).await.unwrap();
    let c2 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0].version, 2);
    let counts = s.outbox_counts(&h.ch).await.unwrap();
    assert_eq!(
        counts,
        OutboxCounts {
            pending: 0,
            sending: 1,
            sent: 1,
            failed: 0
        }
    );
}

async fn retry_waits_until_due(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(3), 1)
        .await
        .unwrap();
    let c = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    let retry_at = h.now().checked_add(Duration::from_secs(30)).unwrap();
    assert_eq!(
        s.mark_failed(c[0].id, "HTTP 503", Some(retry_at))
            .await
            .unwrap(),
        FailOutcome::Retrying
    );
    assert_eq!(
        s.mark_failed(c[0].id, "again", None).await.unwrap(),
        FailOutcome::NotInFlight
    );
    let rows = s.outbox_rows(&h.ch).await.unwrap();
    assert_eq!(rows[0].state, OutboxState::Pending);
    assert_eq!(rows[0].last_error.as_deref(), Some("HTTP 503"));
    assert_eq!(rows[0].next_attempt_at, retry_at);
    h.advance(29);
    assert!(
        s.claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap()
            .is_empty()
    );
    h.advance(1);
    let c = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].attempts, 2);
}

async fn failure_with_newer_waiting_is_superseded(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(3), 1)
        .await
        .unwrap();
    let c = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    s.enqueue(&h.ch, PushKind::Stock, "A", d(4), 2)
        .await
        .unwrap();
    assert_eq!(
        s.mark_failed(c[0].id, "timeout", Some(h.now()))
            .await
            .unwrap(),
        FailOutcome::Superseded
    );
    let c = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].version, 2);
}

async fn given_up_row_blocks_older_and_yields_to_newer(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(3), 5)
        .await
        .unwrap();
    let c = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    let long = "x".repeat(5000);
    assert_eq!(
        s.mark_failed(c[0].id, &long, None).await.unwrap(),
        FailOutcome::GaveUp
    );
    let rows = s.outbox_rows(&h.ch).await.unwrap();
    assert_eq!(rows[0].state, OutboxState::Failed);
    assert_eq!(rows[0].last_error.as_ref().unwrap().len(), 2000);
    assert!(
        s.claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        s.enqueue(&h.ch, PushKind::Stock, "A", d(9), 4)
            .await
            .unwrap(),
        EnqueueOutcome::Ignored(IgnoredReason::NotNewerThanQueued { queued: 5 })
    );
    assert!(matches!(
        s.enqueue(&h.ch, PushKind::Stock, "A", d(9), 6)
            .await
            .unwrap(),
        EnqueueOutcome::Queued { .. }
    ));
    let rows = s.outbox_rows(&h.ch).await.unwrap();
    assert_eq!(rows.len(), 1, "the failed row gave way: {rows:?}");
    assert_eq!(rows[0].version, 6);
}

async fn expired_lease_comes_back(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(3), 1)
        .await
        .unwrap();
    let c1 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    // the sender "crashes"; before the lease ends nobody else gets the row
    h.advance(59);
    assert!(
        s.claim_batch(&h.ch, PushKind::Stock, 10, h.now())
            .await
            .unwrap()
            .is_empty()
    );
    h.advance(1);
    let c2 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0].id, c1[0].id);
    assert_eq!(c2[0].attempts, 2);
    s.mark_sent(&[c2[0].id]).await.unwrap();
    assert_eq!(
        s.get_ack(&h.ch, PushKind::Stock, "A")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
}

async fn expired_lease_yields_to_newer_version(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(3), 1)
        .await
        .unwrap();
    let c1 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    s.enqueue(&h.ch, PushKind::Stock, "A", d(4), 2)
        .await
        .unwrap();
    h.advance(61);
    let c2 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(c2.len(), 1);
    assert_eq!(c2[0].version, 2);
    assert_ne!(c2[0].id, c1[0].id);
    assert_eq!(s.outbox_rows(&h.ch).await.unwrap().len(), 1);
}

async fn late_ack_of_superseded_row_changes_nothing(h: Harness) {
    let s = &h.store;
    s.enqueue(&h.ch, PushKind::Stock, "A", d(3), 1)
        .await
        .unwrap();
    let c1 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    s.enqueue(&h.ch, PushKind::Stock, "A", d(4), 2)
        .await
        .unwrap();
    h.advance(61);
    let c2 = s
        .claim_batch(&h.ch, PushKind::Stock, 10, h.now())
        .await
        .unwrap();
    assert_eq!(
        s.mark_sent(&[c2[0].id]).await.unwrap(),
        MarkSent {
            sent: 1,
            acks_advanced: 1
        }
    );
    // the slow first sender reports back at last
    assert_eq!(s.mark_sent(&[c1[0].id]).await.unwrap(), MarkSent::default());
    assert_eq!(
        s.mark_failed(c1[0].id, "late", None).await.unwrap(),
        FailOutcome::NotInFlight
    );
    let ack = s
        .get_ack(&h.ch, PushKind::Stock, "A")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((ack.version, ack.value), (2, d(4)));
    // marking sent twice is harmless
    assert_eq!(
        s.mark_sent(&[c2[0].id, c2[0].id]).await.unwrap(),
        MarkSent::default()
    );
}

async fn claim_respects_limit_and_channel_kind(h: Harness) {
    let s = &h.store;
    for i in 0..5 {
        s.enqueue(&h.ch, PushKind::Stock, &format!("S{i}"), d(i), 1)
            .await
            .unwrap();
    }
    s.enqueue(&h.ch, PushKind::Price, "S0", d(1), 1)
        .await
        .unwrap();
    let other = format!("{}-other", h.ch);
    s.enqueue(&other, PushKind::Stock, "S0", d(1), 1)
        .await
        .unwrap();
    let a = s
        .claim_batch(&h.ch, PushKind::Stock, 3, h.now())
        .await
        .unwrap();
    assert_eq!(
        a.iter().map(|c| c.sku.as_str()).collect::<Vec<_>>(),
        ["S0", "S1", "S2"]
    );
    let b = s
        .claim_batch(&h.ch, PushKind::Stock, 3, h.now())
        .await
        .unwrap();
    assert_eq!(b.len(), 2);
    assert!(
        a.iter()
            .chain(&b)
            .all(|c| c.kind == PushKind::Stock && c.channel == h.ch)
    );
    let ids: Vec<i64> = a.iter().chain(&b).map(|c| c.id).collect();
    assert_eq!(s.mark_sent(&ids).await.unwrap().acks_advanced, 5);
    assert_eq!(s.acks(&h.ch, PushKind::Stock).await.unwrap().len(), 5);
    assert_eq!(s.acks(&h.ch, PushKind::Price).await.unwrap().len(), 0);
    assert_eq!(
        s.claim_batch(&other, PushKind::Stock, 10, h.now())
            .await
            .unwrap()
            .len(),
        1
    );
    h.advance(3600);
    // (a PostgreSQL database may hold other runs' rows: count at least ours)
    assert!(s.prune_sent(h.now()).await.unwrap() >= 5);
    let left = s.outbox_rows(&h.ch).await.unwrap();
    assert_eq!(
        left.len(),
        1,
        "only the unclaimed price row stays: {left:?}"
    );
    assert_eq!(left[0].state, OutboxState::Pending);
    assert_eq!(
        s.acks(&h.ch, PushKind::Stock).await.unwrap().len(),
        5,
        "acks survive pruning"
    );
}

async fn inbox_stage_is_idempotent(h: Harness) {
    let s = &h.store;
    let payload = r#"{"id": 1001, "total": "19.99", "lines": [{"sku": "A", "qty": 2}]}"#;
    let Staged::New(id) = s.stage(&h.ch, "order", "1001", payload).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        s.stage(&h.ch, "order", "1001", payload).await.unwrap(),
        Staged::Duplicate {
            id,
            state: InboxState::New
        }
    );
    // a changed payload for the same order is a new row (an update to replay)
    let changed = payload.replace("19.99", "17.99");
    let Staged::New(id2) = s.stage(&h.ch, "order", "1001", &changed).await.unwrap() else {
        panic!()
    };
    assert_ne!(id, id2);
    // another kind with the same external id is distinct
    assert!(matches!(
        s.stage(&h.ch, "return", "1001", payload).await.unwrap(),
        Staged::New(_)
    ));
    let err = s
        .stage(&h.ch, "order", "1002", "{not json")
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)), "{err}");

    let new = s.inbox_new(&h.ch, "order", 10).await.unwrap();
    assert_eq!(new.len(), 2);
    assert_eq!(new[0].payload, payload, "kept byte for byte");
    assert_eq!(new[0].payload_hash, payload_hash(payload));
    assert_eq!(new[0].received_at, h.now());
    assert!(s.inbox_done(id, Some(77)).await.unwrap());
    assert!(!s.inbox_done(id, Some(78)).await.unwrap(), "done once");
    assert_eq!(
        s.stage(&h.ch, "order", "1001", payload).await.unwrap(),
        Staged::Duplicate {
            id,
            state: InboxState::Done
        }
    );
    assert_eq!(s.inbox_new(&h.ch, "order", 10).await.unwrap().len(), 1);
}

async fn inbox_quarantine_moves_payload(h: Harness) {
    let s = &h.store;
    let Staged::New(id) = s
        .stage(&h.ch, "order", "X1", r#"{"sku": null}"#)
        .await
        .unwrap()
    else {
        panic!()
    };
    let qid = s
        .inbox_quarantine(id, "order X1 line 1: sku missing")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.inbox_quarantine(id, "again").await.unwrap(), None);
    let held = s
        .quarantined(Some(&h.ch), QuarantineState::Held)
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].id, qid);
    assert_eq!(held[0].external_ref, "X1");
    assert_eq!(held[0].payload, r#"{"sku": null}"#);
    assert_eq!(
        s.stage(&h.ch, "order", "X1", r#"{"sku": null}"#)
            .await
            .unwrap(),
        Staged::Duplicate {
            id,
            state: InboxState::Quarantined
        }
    );
    assert!(s.inbox_new(&h.ch, "order", 10).await.unwrap().is_empty());
}

async fn quarantine_lifecycle(h: Harness) {
    let s = &h.store;
    let id = s
        .quarantine(&NewQuarantine {
            channel: &h.ch,
            kind: "order",
            external_ref: "E9",
            reason: "unknown SKU `ZZ-1` on line 2",
            payload: "<not even json>",
        })
        .await
        .unwrap();
    assert!(
        s.set_quarantine_odoo(id, "channel.quarantine", 12)
            .await
            .unwrap()
    );
    let held = s
        .quarantined(Some(&h.ch), QuarantineState::Held)
        .await
        .unwrap();
    assert_eq!(held[0].odoo_id, Some(12));
    assert_eq!(held[0].resolved_at, None);
    h.advance(10);
    assert!(
        s.resolve_quarantine(id, QuarantineState::Released)
            .await
            .unwrap()
    );
    assert!(
        !s.resolve_quarantine(id, QuarantineState::Discarded)
            .await
            .unwrap()
    );
    assert!(
        s.resolve_quarantine(id, QuarantineState::Held)
            .await
            .is_err()
    );
    let released = s
        .quarantined(Some(&h.ch), QuarantineState::Released)
        .await
        .unwrap();
    assert_eq!(released[0].resolved_at, Some(h.now()));
    assert!(
        s.quarantined(Some(&h.ch), QuarantineState::Held)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn idempotency_two_phase(h: Harness) {
    let s = &h.store;
    let k = h.key("odoo:sale.order:1001");
    assert_eq!(s.begin(&k).await.unwrap(), Begin::Fresh);
    let since = h.now();
    h.advance(5);
    assert_eq!(s.begin(&k).await.unwrap(), Begin::Pending { since });
    s.finish(&k, "42").await.unwrap();
    assert_eq!(
        s.begin(&k).await.unwrap(),
        Begin::Done {
            remote_id: "42".into()
        }
    );
    assert!(!s.forget(&k).await.unwrap(), "done markers stay");
    let k2 = h.key("odoo:sale.order:1002");
    assert_eq!(s.begin(&k2).await.unwrap(), Begin::Fresh);
    assert!(s.forget(&k2).await.unwrap());
    assert_eq!(s.begin(&k2).await.unwrap(), Begin::Fresh);
    // finish without begin (a re-check found the record)
    let k3 = h.key("odoo:sale.order:1003");
    s.finish(&k3, "43").await.unwrap();
    assert_eq!(
        s.begin(&k3).await.unwrap(),
        Begin::Done {
            remote_id: "43".into()
        }
    );
}

async fn writable(h: Harness) {
    h.store.check_writable().await.unwrap();
    h.store.check_writable().await.unwrap();
}

// --- SQLite specifics ---------------------------------------------------------------------

#[tokio::test]
async fn sqlite_pragmas_and_reopen() {
    let h = Harness::sqlite().await;
    let Pool::Sqlite(p) = &h.store.pool else {
        panic!()
    };
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let (fk,): (i64,) = sqlx::query_as("PRAGMA foreign_keys")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(fk, 1);
    let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(sync, 1, "NORMAL");
    let (busy,): (i64,) = sqlx::query_as("PRAGMA busy_timeout")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(busy, 5000);
    // a foreign key is enforced
    let r = sqlx::query(
        "INSERT INTO inbox (channel, kind, external_id, payload, payload_hash, received_at, state, updated_at, quarantine_id) \
         VALUES ('c','k','e','{}','h','t','quarantined','t', 999)",
    )
    .execute(p)
    .await;
    assert!(r.is_err());
    h.store.set_cursor("c", "s", "v").await.unwrap();
    let url = format!(
        "sqlite://{}",
        h._dir.as_ref().unwrap().path().join("state.db").display()
    );
    h.store.close().await;
    // reopening runs no migration twice and keeps the data
    let again = Store::open(&url).await.unwrap();
    assert_eq!(
        again.get_cursor("c", "s").await.unwrap().unwrap().value,
        "v"
    );
}

#[tokio::test]
async fn creates_missing_directories_and_rejects_unknown_schemes() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("a/b/state.db").display());
    Store::open(&url).await.unwrap();
    assert!(dir.path().join("a/b/state.db").exists());
    let e = Store::open("mysql://u:pw@h/db").await.unwrap_err();
    assert!(matches!(e, StoreError::UnknownScheme(_)));
    assert!(!e.to_string().contains("pw@"), "{e}");
}

#[test]
fn timestamps_are_fixed_width_and_ordered() {
    let a: Timestamp = "2025-01-02T03:04:05Z".parse().unwrap();
    let b: Timestamp = "2025-01-02T03:04:05.5Z".parse().unwrap();
    assert_eq!(ts(a), "2025-01-02T03:04:05.000000Z");
    assert_eq!(ts(b), "2025-01-02T03:04:05.500000Z");
    assert!(ts(a) < ts(b));
    assert_eq!(parse_ts("t", &ts(b)).unwrap(), b);
}

// --- crash safety -------------------------------------------------------------------------

const CRASH_ENV: &str = "ODOO_CHANNELS_STORE_CRASH_CHILD";

/// A process killed in the middle of a multi-row transaction (here: half of `mark_sent`, the
/// outbox row updated, the ack not yet written) leaves a consistent database: nothing of the
/// transaction survives, and the row comes back after its lease.
#[tokio::test]
async fn killed_mid_transaction_leaves_consistent_db() {
    if let Ok(path) = std::env::var(CRASH_ENV) {
        // Child: claim, start mark_sent by hand, die without commit or rollback.
        let store = Store::open(&format!("sqlite://{path}")).await.unwrap();
        let c = store
            .claim_batch("ch", PushKind::Stock, 10, Timestamp::now())
            .await
            .unwrap();
        let Pool::Sqlite(p) = &store.pool else {
            unreachable!()
        };
        let mut tx = p.begin_write().await.unwrap();
        sqlx::query("UPDATE outbox SET state = 'sent', lease_until = NULL WHERE id = $1")
            .bind(c[0].id)
            .execute(&mut *tx)
            .await
            .unwrap();
        sqlx::query("INSERT INTO cursors (channel, stream, value, updated_at) VALUES ('ch', 'x', 'half', 't')")
            .execute(&mut *tx)
            .await
            .unwrap();
        std::process::abort();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let url = format!("sqlite://{}", path.display());
    {
        let store = Store::open(&url).await.unwrap();
        store
            .enqueue("ch", PushKind::Stock, "A", Decimal::from(5), 1)
            .await
            .unwrap();
        store.close().await;
    }
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "store::tests::killed_mid_transaction_leaves_consistent_db",
            "--nocapture",
        ])
        .env(CRASH_ENV, &path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert!(!status.success(), "the child must die mid-transaction");

    let store = Store::open(&url).await.unwrap();
    let Pool::Sqlite(p) = &store.pool else {
        unreachable!()
    };
    let (check,): (String,) = sqlx::query_as("PRAGMA integrity_check")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(check, "ok");
    let rows = store.outbox_rows("ch").await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(
        rows[0].state,
        OutboxState::Sending,
        "the claim committed, the half mark_sent did not"
    );
    assert_eq!(
        store.get_ack("ch", PushKind::Stock, "A").await.unwrap(),
        None
    );
    assert_eq!(store.get_cursor("ch", "x").await.unwrap(), None);
    // after the lease the row is handed out again and completes
    let later = Timestamp::now()
        .checked_add(Duration::from_secs(3600))
        .unwrap();
    let c = store
        .claim_batch("ch", PushKind::Stock, 10, later)
        .await
        .unwrap();
    assert_eq!(c.len(), 1);
    store.mark_sent(&[c[0].id]).await.unwrap();
    assert_eq!(
        store
            .get_ack("ch", PushKind::Stock, "A")
            .await
            .unwrap()
            .unwrap()
            .version,
        1
    );
}

mod prop;
