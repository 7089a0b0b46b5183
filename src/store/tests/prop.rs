//! Property test of the outbox invariant over random interleavings of enqueue, claim, ack,
//! failure, sender crash and the passing of time:
//!
//! * per (channel, kind, sku), the versions handed to senders never go down (a claim is the
//!   moment a value goes on the wire), and a claimed version is always newer than the ack;
//! * acks never go backwards;
//! * nothing is lost: once senders behave, the newest accepted version of every key ends up
//!   acknowledged, with its value, or parked as `failed` for an operator.

use super::*;
use proptest::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone)]
enum Op {
    /// `older`: reuse a random version at most the newest one seen (a late, stale producer).
    Enqueue {
        sku: u8,
        value: u8,
        older: Option<u8>,
    },
    /// Several values in one `enqueue_many` call (same rules, one transaction per chunk).
    EnqueueMany {
        items: Vec<(u8, u8, Option<u8>)>,
    },
    Claim {
        limit: u8,
    },
    Ack {
        pick: u8,
    },
    Fail {
        pick: u8,
        retry_in: Option<u8>,
    },
    /// Every sender dies: what they held is never reported.
    Crash,
    Advance {
        secs: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..3, 0u8..20, proptest::option::weighted(0.3, any::<u8>()))
            .prop_map(|(sku, value, older)| Op::Enqueue { sku, value, older }),
        2 => proptest::collection::vec(
                (0u8..3, 0u8..20, proptest::option::weighted(0.3, any::<u8>())),
                1..6,
            )
            .prop_map(|items| Op::EnqueueMany { items }),
        3 => (1u8..4).prop_map(|limit| Op::Claim { limit }),
        2 => any::<u8>().prop_map(|pick| Op::Ack { pick }),
        1 => (any::<u8>(), proptest::option::of(0u8..90)).prop_map(|(pick, retry_in)| Op::Fail { pick, retry_in }),
        1 => Just(Op::Crash),
        1 => (0u8..90).prop_map(|secs| Op::Advance { secs }),
    ]
}

#[derive(Default)]
struct Model {
    /// Newest version produced per sku.
    produced: HashMap<String, i64>,
    /// Newest version accepted by `enqueue`, with its value.
    accepted: HashMap<String, (i64, Decimal)>,
    /// Highest version handed to a sender per sku.
    max_claimed: HashMap<String, i64>,
    acked: HashMap<String, i64>,
    in_flight: Vec<ClaimedItem>,
}

async fn run(ops: Vec<Op>) -> std::result::Result<(), TestCaseError> {
    let h = Harness::sqlite().await;
    let s = &h.store;
    let ch = h.ch.clone();
    let mut m = Model::default();
    for op in ops {
        match op {
            Op::Enqueue { sku, value, older } => {
                let sku = format!("S{sku}");
                let newest = *m.produced.get(&sku).unwrap_or(&0);
                let version = match older {
                    Some(o) if newest > 0 => 1 + i64::from(o) % newest,
                    _ => newest + 1,
                };
                m.produced.insert(sku.clone(), newest.max(version));
                let value = Decimal::from(value);
                let r = s
                    .enqueue(&ch, PushKind::Stock, &sku, value, version)
                    .await
                    .unwrap();
                if let EnqueueOutcome::Queued { .. } = r {
                    let prev = m.accepted.get(&sku).map(|a| a.0).unwrap_or(0);
                    prop_assert!(version > prev, "accepted {version} after {prev}");
                    m.accepted.insert(sku, (version, value));
                }
            }
            Op::EnqueueMany { items } => {
                let mut batch = Vec::new();
                for (sku, value, older) in items {
                    let sku = format!("S{sku}");
                    let newest = *m.produced.get(&sku).unwrap_or(&0);
                    let version = match older {
                        Some(o) if newest > 0 => 1 + i64::from(o) % newest,
                        _ => newest + 1,
                    };
                    m.produced.insert(sku.clone(), newest.max(version));
                    batch.push((sku, Decimal::from(value), version));
                }
                let items: Vec<EnqueueItem<'_>> = batch
                    .iter()
                    .map(|(sku, value, version)| EnqueueItem {
                        channel: &ch,
                        kind: PushKind::Stock,
                        sku,
                        value: *value,
                        version: *version,
                    })
                    .collect();
                let outcomes = s.enqueue_many(&items).await.unwrap();
                prop_assert_eq!(outcomes.len(), items.len());
                for ((sku, value, version), r) in batch.into_iter().zip(outcomes) {
                    match r {
                        EnqueueOutcome::Queued { id, .. } => {
                            prop_assert!(id > 0);
                            let prev = m.accepted.get(&sku).map(|a| a.0).unwrap_or(0);
                            prop_assert!(version > prev, "accepted {version} after {prev}");
                            m.accepted.insert(sku, (version, value));
                        }
                        EnqueueOutcome::Ignored(IgnoredReason::SupersededInBatch { by }) => {
                            prop_assert!(by > version);
                            let prev = m.accepted.get(&sku).map(|a| a.0).unwrap_or(0);
                            prop_assert!(version > prev, "accepted {version} after {prev}");
                        }
                        EnqueueOutcome::Ignored(_) => {}
                    }
                }
                // A later queued item of the same key must then be the accepted one.
                for (sku, (version, _)) in &m.accepted {
                    let queued: Vec<_> = s
                        .outbox_rows(&ch)
                        .await
                        .unwrap()
                        .into_iter()
                        .filter(|r| &r.sku == sku && r.state == OutboxState::Pending)
                        .collect();
                    prop_assert!(queued.len() <= 1);
                    if let Some(r) = queued.first() {
                        prop_assert_eq!(r.version, *version);
                    }
                }
            }
            Op::Claim { limit } => {
                let claimed = s
                    .claim_batch(&ch, PushKind::Stock, u32::from(limit), h.now())
                    .await
                    .unwrap();
                prop_assert!(claimed.len() <= usize::from(limit));
                for c in claimed {
                    let max = m.max_claimed.entry(c.sku.clone()).or_insert(0);
                    prop_assert!(
                        c.version >= *max,
                        "{}: version {} handed out after {}",
                        c.sku,
                        c.version,
                        max
                    );
                    *max = c.version;
                    let acked = *m.acked.get(&c.sku).unwrap_or(&0);
                    prop_assert!(
                        c.version > acked,
                        "{}: claimed {} but acked {}",
                        c.sku,
                        c.version,
                        acked
                    );
                    prop_assert!(
                        !m.in_flight
                            .iter()
                            .any(|f| f.sku == c.sku && f.lease_until > h.now()),
                        "{}: two rows of one key on the wire",
                        c.sku
                    );
                    m.in_flight.push(c);
                }
            }
            Op::Ack { pick } if !m.in_flight.is_empty() => {
                let c = m.in_flight.remove(usize::from(pick) % m.in_flight.len());
                s.mark_sent(&[c.id]).await.unwrap();
            }
            Op::Fail { pick, retry_in } if !m.in_flight.is_empty() => {
                let c = m.in_flight.remove(usize::from(pick) % m.in_flight.len());
                let at = retry_in.map(|r| {
                    h.now()
                        .checked_add(Duration::from_secs(u64::from(r)))
                        .unwrap()
                });
                s.mark_failed(c.id, "boom", at).await.unwrap();
            }
            Op::Ack { .. } | Op::Fail { .. } => {}
            Op::Crash => m.in_flight.clear(),
            Op::Advance { secs } => h.advance(i64::from(secs)),
        }
        // Senders whose lease expired are treated as gone (they must not send any more).
        let now = h.now();
        m.in_flight.retain(|c| c.lease_until > now);
        for a in s.acks(&ch, PushKind::Stock).await.unwrap() {
            let prev = m.acked.insert(a.sku.clone(), a.version).unwrap_or(0);
            prop_assert!(
                a.version >= prev,
                "{}: ack went back from {prev} to {}",
                a.sku,
                a.version
            );
        }
    }

    // Heal: senders behave from now on; drain everything.
    m.in_flight.clear();
    h.advance(100_000);
    for _ in 0..100 {
        let c = s
            .claim_batch(&ch, PushKind::Stock, 100, h.now())
            .await
            .unwrap();
        if c.is_empty() {
            break;
        }
        for item in &c {
            let max = m.max_claimed.entry(item.sku.clone()).or_insert(0);
            prop_assert!(item.version >= *max);
            *max = item.version;
        }
        let ids: Vec<i64> = c.iter().map(|c| c.id).collect();
        s.mark_sent(&ids).await.unwrap();
    }
    let rows = s.outbox_rows(&ch).await.unwrap();
    for (sku, (version, value)) in &m.accepted {
        let ack = s.get_ack(&ch, PushKind::Stock, sku).await.unwrap();
        let parked = rows
            .iter()
            .any(|r| &r.sku == sku && r.version == *version && r.state == OutboxState::Failed);
        let delivered = ack
            .as_ref()
            .is_some_and(|a| a.version == *version && a.value == *value);
        prop_assert!(
            delivered || parked,
            "{sku}: newest accepted version {version} neither acknowledged ({ack:?}) nor parked ({rows:?})"
        );
    }
    prop_assert!(
        rows.iter()
            .all(|r| matches!(r.state, OutboxState::Sent | OutboxState::Failed)),
        "left over: {rows:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
    #[test]
    fn outbox_never_sends_older_after_newer(ops in proptest::collection::vec(op(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops))?;
    }
}

/// `enqueue_many` is `enqueue` in bulk: the same operations, with each run of enqueues given
/// to one `enqueue_many` call instead, leave the same outbox and acks (ids aside).
async fn same_as_one_by_one(ops: Vec<Op>) -> std::result::Result<(), TestCaseError> {
    let one = Harness::sqlite().await;
    let many = Harness::sqlite().await;
    let mut produced: HashMap<String, i64> = HashMap::new();
    let mut version_of = |sku: &str, older: Option<u8>| {
        let newest = *produced.get(sku).unwrap_or(&0);
        let v = match older {
            Some(o) if newest > 0 => 1 + i64::from(o) % newest,
            _ => newest + 1,
        };
        produced.insert(sku.to_owned(), newest.max(v));
        v
    };
    for op in ops {
        let batch: Vec<(String, Decimal, i64)> = match op {
            Op::Enqueue { sku, value, older } => {
                let sku = format!("S{sku}");
                let v = version_of(&sku, older);
                vec![(sku, Decimal::from(value), v)]
            }
            Op::EnqueueMany { items } => items
                .into_iter()
                .map(|(sku, value, older)| {
                    let sku = format!("S{sku}");
                    let v = version_of(&sku, older);
                    (sku, Decimal::from(value), v)
                })
                .collect(),
            Op::Claim { limit } => {
                // Both claim the same rows (same state, same order) and acknowledge them.
                for h in [&one, &many] {
                    let c = h
                        .store
                        .claim_batch(&h.ch, PushKind::Stock, u32::from(limit), h.now())
                        .await
                        .unwrap();
                    let ids: Vec<i64> = c.iter().map(|c| c.id).collect();
                    h.store.mark_sent(&ids).await.unwrap();
                }
                continue;
            }
            _ => continue,
        };
        let mut single = Vec::new();
        for (sku, value, version) in &batch {
            single.push(
                one.store
                    .enqueue(&one.ch, PushKind::Stock, sku, *value, *version)
                    .await
                    .unwrap(),
            );
        }
        let items: Vec<EnqueueItem<'_>> = batch
            .iter()
            .map(|(sku, value, version)| EnqueueItem {
                channel: &many.ch,
                kind: PushKind::Stock,
                sku,
                value: *value,
                version: *version,
            })
            .collect();
        let bulk = many.store.enqueue_many(&items).await.unwrap();
        for (a, b) in single.iter().zip(&bulk) {
            let same = match (a, b) {
                (
                    EnqueueOutcome::Queued { superseded: x, .. },
                    EnqueueOutcome::Queued { superseded: y, .. },
                ) => x == y,
                (
                    EnqueueOutcome::Queued { .. },
                    EnqueueOutcome::Ignored(IgnoredReason::SupersededInBatch { .. }),
                ) => true,
                (EnqueueOutcome::Ignored(x), EnqueueOutcome::Ignored(y)) => x == y,
                _ => false,
            };
            prop_assert!(same, "one by one {a:?}, in bulk {b:?} ({batch:?})");
        }
    }
    let picture = |h: &Harness| {
        let h_store = h.store.clone();
        let ch = h.ch.clone();
        async move {
            let mut rows: Vec<(String, Decimal, i64, String)> = h_store
                .outbox_rows(&ch)
                .await
                .unwrap()
                .into_iter()
                .map(|r| (r.sku, r.value, r.version, r.state.as_str().to_owned()))
                .collect();
            rows.sort();
            let acks: Vec<(String, Decimal, i64)> = h_store
                .acks(&ch, PushKind::Stock)
                .await
                .unwrap()
                .into_iter()
                .map(|a| (a.sku, a.value, a.version))
                .collect();
            (rows, acks)
        }
    };
    prop_assert_eq!(picture(&one).await, picture(&many).await);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn enqueue_many_is_enqueue_in_bulk(ops in proptest::collection::vec(op(), 1..40)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(same_as_one_by_one(ops))?;
    }
}

/// Larger than one chunk: every item gets an outcome, in order, and the rows are all there.
#[tokio::test]
async fn enqueue_many_spans_chunks() {
    let h = Harness::sqlite().await;
    let skus: Vec<String> = (0..1234).map(|i| format!("SKU-{i:05}")).collect();
    let items: Vec<EnqueueItem<'_>> = skus
        .iter()
        .enumerate()
        .map(|(i, sku)| EnqueueItem {
            channel: &h.ch,
            kind: PushKind::Stock,
            sku,
            value: Decimal::from(i as i64),
            version: 1,
        })
        .collect();
    let out = h.store.enqueue_many(&items).await.unwrap();
    assert_eq!(out.len(), 1234);
    assert!(out.iter().all(|o| matches!(
        o,
        EnqueueOutcome::Queued {
            superseded: None,
            ..
        }
    )));
    let rows = h.store.outbox_rows(&h.ch).await.unwrap();
    assert_eq!(rows.len(), 1234);
    assert_eq!(rows[1000].sku, "SKU-01000");
    assert_eq!(rows[1000].value, Decimal::from(1000));
    // Again with the same values and a newer version: every unsent row is superseded.
    let again: Vec<EnqueueItem<'_>> = items
        .iter()
        .map(|i| EnqueueItem { version: 2, ..*i })
        .collect();
    let out = h.store.enqueue_many(&again).await.unwrap();
    assert!(out.iter().all(|o| matches!(
        o,
        EnqueueOutcome::Queued {
            superseded: Some(1),
            ..
        }
    )));
    assert_eq!(h.store.outbox_rows(&h.ch).await.unwrap().len(), 1234);
}
