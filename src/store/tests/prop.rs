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
