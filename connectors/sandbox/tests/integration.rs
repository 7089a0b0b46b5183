//! The connector against the sandbox marketplace over real HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use channel_sandbox::config::Connection;
use channel_sandbox::sandbox::{
    CatalogItem, Corruption, Fault, MarketplaceConfig, NewOrder, OpLimit, SandboxMarketplace,
    WebhookBehaviour, demo_catalog,
};
use channel_sandbox::{SandboxChannel, SandboxConfig};
use channels_core::webhook::DedupeSet;
use channels_core::*;
use parking_lot::Mutex;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use secrecy::SecretString;

fn channel_for(m: &SandboxMarketplace, tweak: impl FnOnce(&mut Connection)) -> SandboxChannel {
    let mut cfg = SandboxConfig::new(
        m.url(),
        SecretString::from(m.token()),
        Some(SecretString::from(m.webhook_secret())),
    );
    cfg.connection.retry.min_delay_ms = 10;
    cfg.connection.retry.max_delay_ms = 50;
    tweak(&mut cfg.connection);
    SandboxChannel::new(ChannelId::new("sbx").unwrap(), cfg).unwrap()
}

async fn start(cfg: MarketplaceConfig) -> SandboxMarketplace {
    SandboxMarketplace::start(cfg).await.unwrap()
}

fn big_catalog(n: usize, qty: i64) -> Vec<CatalogItem> {
    let mut c = demo_catalog(n);
    c.iter_mut().for_each(|i| i.quantity = qty);
    c
}

fn stock(sku: &str, quantity: u32, version: u64) -> StockUpdate {
    StockUpdate {
        sku: sku.into(),
        quantity,
        version,
        expected: None,
        location: None,
    }
}

async fn pull_all(
    ch: &SandboxChannel,
    q: PageQuery,
) -> (Vec<Pulled<Order>>, usize, Option<jiff::Timestamp>) {
    let mut q = q;
    let mut all = Vec::new();
    let mut pages = 0;
    let mut hwm = None;
    loop {
        let page = ch.pull_orders(&q).await.unwrap();
        pages += 1;
        hwm = hwm.max(page.high_water_mark);
        all.extend(page.items);
        match page.next {
            Some(t) => q.page = Some(t),
            None => break,
        }
    }
    (all, pages, hwm)
}

#[tokio::test]
async fn pages_through_1000_orders_with_a_stable_cursor() {
    let m = start(MarketplaceConfig {
        catalog: big_catalog(50, 1_000_000),
        ..Default::default()
    })
    .await;
    m.generate_orders(1000, 0.0, 0.1);
    let ch = channel_for(&m, |_| {});
    let q = PageQuery {
        page_size: Some(100),
        ..Default::default()
    };

    // First page, then an order of that page is updated while we page: keyset paging on
    // (updated_at, id) must hand it out again at the end rather than lose the change.
    let first = ch.pull_orders(&q).await.unwrap();
    assert_eq!(first.items.len(), 100);
    let ids = m.order_ids();
    let moved = ids[10].clone();
    m.set_order_status(&moved, "pending").unwrap();

    let mut seen: Vec<String> = first
        .items
        .iter()
        .map(|p| p.ok().unwrap().external_id.clone())
        .collect();
    let mut q2 = q.clone();
    q2.page = first.next.clone();
    let (rest, pages, hwm) = pull_all(&ch, q2).await;
    let mut last = first.items.last().unwrap().ok().unwrap().updated_at;
    for p in &rest {
        let o = p
            .ok()
            .expect("all generated orders are well-formed (bad_rate 0)");
        assert!(o.updated_at >= last, "sorted by updated_at");
        last = o.updated_at;
        seen.push(o.external_id.clone());
    }
    assert_eq!(
        pages, 10,
        "1000 orders + 1 moved, 100 per page: 1 + 10 pages"
    );
    assert_eq!(
        seen.len(),
        1001,
        "the order updated while paging is seen again, at the end"
    );
    assert_eq!(seen.last(), Some(&moved));
    let unique: BTreeSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 1000, "nothing skipped");

    // Incremental: from the high-water mark only the latest change comes back.
    let (again, _, _) = pull_all(
        &ch,
        PageQuery {
            updated_after: hwm,
            page_size: Some(100),
            page: None,
        },
    )
    .await;
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].ok().unwrap().external_id, moved);
    let c = m.counters();
    assert_eq!(c.writes_total(), 0, "pulling writes nothing");
    assert_eq!(c.throttled_total(), 0);
}

#[tokio::test]
async fn bad_orders_come_back_malformed_or_as_data_never_dropped() {
    let m = start(MarketplaceConfig::default()).await;
    let good = || NewOrder::default().line("SKU-0001", 1);
    m.create_order(NewOrder {
        corruption: Some(Corruption::UnparseablePrice),
        ..good()
    })
    .unwrap();
    m.create_order(NewOrder {
        corruption: Some(Corruption::MissingQuantity),
        ..good()
    })
    .unwrap();
    m.create_order(NewOrder {
        missing_address: true,
        ..good()
    })
    .unwrap();
    m.create_order(NewOrder::default().line("NOT-LISTED", 1))
        .unwrap();
    m.create_order(NewOrder {
        marketplace_program: Some("SFN".into()),
        ..good()
    })
    .unwrap();
    let ch = channel_for(&m, |_| {});
    let (all, _, _) = pull_all(&ch, PageQuery::default()).await;
    assert_eq!(all.len(), 5);
    let fields: Vec<String> = all
        .iter()
        .filter_map(|p| match p {
            Pulled::Malformed {
                external_id, error, ..
            } => {
                assert!(external_id.is_some());
                Some(error.field.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        fields,
        vec!["line_items[0].unit_price", "line_items[0].quantity"]
    );
    let ok: Vec<&Order> = all.iter().filter_map(|p| p.ok()).collect();
    assert!(
        ok[0].shipping_address.is_none(),
        "missing address is data for the audit"
    );
    assert_eq!(ok[1].lines[0].sku.as_deref(), Some("NOT-LISTED"));
    assert_eq!(
        ok[2].fulfilled_by,
        FulfilledBy::Marketplace {
            program: "SFN".into()
        }
    );
    assert_eq!(
        m.quantity("SKU-0001"),
        Some(50 - 3),
        "marketplace-fulfilled orders do not touch seller stock"
    );
}

#[tokio::test]
async fn bulk_stock_push_with_one_bad_sku_and_read_back() {
    let m = start(MarketplaceConfig {
        catalog: big_catalog(150, 0),
        ..Default::default()
    })
    .await;
    let ch = channel_for(&m, |_| {});
    let mut updates: Vec<StockUpdate> = (1..=150)
        .map(|i| stock(&format!("SKU-{i:04}"), i as u32, 1000 + i as u64))
        .collect();
    updates.insert(77, stock("NO-SUCH-SKU", 5, 1));
    let out = ch.push_stock(&updates).await.unwrap();
    assert_eq!(out.len(), 151, "one outcome per update, in order");
    for (u, o) in updates.iter().zip(&out) {
        assert_eq!(o.sku(), u.sku);
        assert_eq!(o.version(), u.version);
    }
    match &out[77] {
        PushOutcome::Rejected {
            code, retryable, ..
        } => {
            assert_eq!(code.as_deref(), Some("SKU_NOT_FOUND"));
            assert!(!retryable);
        }
        o => panic!("expected rejection, got {o:?}"),
    }
    assert_eq!(out.iter().filter(|o| o.is_applied()).count(), 150);
    assert!(matches!(
        &out[0],
        PushOutcome::Applied {
            channel_value: ChannelValue::Quantity { quantity: 1 },
            ..
        }
    ));
    assert_eq!(
        m.counters().write_count("inventory.write"),
        2,
        "151 items in two batches of ≤100"
    );
    assert_eq!(m.quantity("SKU-0150"), Some(150));

    let skus: Vec<String> = vec!["SKU-0003".into(), "NO-SUCH-SKU".into(), "SKU-0120".into()];
    let levels = ch.read_stock(&skus).await.unwrap();
    let got: BTreeMap<_, _> = levels
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity))
        .collect();
    assert_eq!(got, BTreeMap::from([("SKU-0003", 3), ("SKU-0120", 120)]));
    assert_eq!(
        m.counters().write_count("inventory.write"),
        2,
        "reading is not writing"
    );

    // Compare-and-set: a sale happened since we read 3.
    m.create_order(NewOrder::default().line("SKU-0003", 1))
        .unwrap();
    let cas = StockUpdate {
        expected: Some(3),
        ..stock("SKU-0003", 10, 2000)
    };
    match &ch.push_stock(std::slice::from_ref(&cas)).await.unwrap()[0] {
        PushOutcome::Conflict { current, .. } => {
            assert_eq!(current, &Some(ChannelValue::Quantity { quantity: 2 }))
        }
        o => panic!("expected conflict, got {o:?}"),
    }
    assert_eq!(m.quantity("SKU-0003"), Some(2), "a conflict writes nothing");
    let cas = StockUpdate {
        expected: Some(2),
        ..cas
    };
    assert!(ch.push_stock(&[cas]).await.unwrap()[0].is_applied());
    assert_eq!(m.quantity("SKU-0003"), Some(10));
}

#[tokio::test]
async fn ambiguous_stock_write_is_reported_unknown_then_read_back() {
    let m = start(MarketplaceConfig::default()).await;
    let ch = channel_for(&m, |c| c.timeout_ms = 300);
    m.inject_fault(
        "inventory.write",
        Fault::ApplyThenStall { millis: 2_000 },
        1,
    );
    let out = ch
        .push_stock(&[stock("SKU-0001", 7, 1), stock("SKU-0002", 8, 1)])
        .await
        .unwrap();
    assert!(
        out.iter().all(|o| matches!(o, PushOutcome::Unknown { .. })),
        "{out:?}"
    );
    assert_eq!(
        m.counters().write_count("inventory.write"),
        1,
        "never re-sent blindly"
    );
    let levels = ch.read_stock(&["SKU-0001".into()]).await.unwrap();
    assert_eq!(
        levels[0].quantity, 7,
        "it had been applied: the read-back tells"
    );

    // A 503 is the marketplace saying it did not process it: retryable, not unknown.
    m.inject_fault("inventory.write", Fault::Status { status: 503 }, 1);
    let out = ch.push_stock(&[stock("SKU-0001", 9, 2)]).await.unwrap();
    assert!(
        matches!(
            &out[0],
            PushOutcome::Rejected {
                retryable: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(m.quantity("SKU-0001"), Some(7));
}

#[tokio::test]
async fn prices_and_listings() {
    let m = start(MarketplaceConfig::default()).await;
    let ch = channel_for(&m, |_| {});
    let usd = |a: Decimal| Money::new(a, Currency::USD);
    let out = ch
        .push_prices(&[
            PriceUpdate {
                sku: "SKU-0001".into(),
                price: usd(dec!(19.99)),
                compare_at: Some(usd(dec!(24.99))),
                version: 1,
            },
            PriceUpdate {
                sku: "SKU-0002".into(),
                price: Money::new(dec!(5), Currency::EUR),
                compare_at: None,
                version: 1,
            },
            PriceUpdate {
                sku: "SKU-0003".into(),
                price: usd(dec!(0)),
                compare_at: None,
                version: 1,
            },
        ])
        .await
        .unwrap();
    assert!(
        matches!(&out[0], PushOutcome::Applied { channel_value: ChannelValue::Price { price, .. }, .. } if price.amount == dec!(19.99))
    );
    assert!(
        matches!(&out[1], PushOutcome::Rejected { code: Some(c), .. } if c == "CURRENCY_MISMATCH")
    );
    assert!(matches!(&out[2], PushOutcome::Rejected { code: Some(c), .. } if c == "INVALID_PRICE"));
    assert_eq!(m.price("SKU-0001"), Some(dec!(19.99)));

    let mut listing = Listing {
        sku: "NEW/1 A".into(),
        version: 3,
        title: "Tea pot".into(),
        description: Some("Cast iron".into()),
        brand: Some("Acme".into()),
        barcode: Some("0123456789012".into()),
        weight: Some(Weight {
            value: dec!(1.2),
            unit: WeightUnit::Kg,
        }),
        images: vec!["https://img.example/1.jpg".into()],
        price: Some(usd(dec!(30))),
        compare_at: None,
        attributes: BTreeMap::from([("seo_title".into(), serde_json::json!("Tea pot | Acme"))]),
    };
    let o = ch.upsert_listing(&listing).await.unwrap();
    assert!(
        matches!(
            &o,
            PushOutcome::Applied {
                version: 3,
                channel_value: ChannelValue::Listing {
                    listing_ref: Some(_)
                },
                ..
            }
        ),
        "{o:?}"
    );
    let stored = m
        .listing("NEW/1 A")
        .expect("path segment encoded, listing stored");
    assert_eq!(stored["attributes"]["seo_title"], "Tea pot | Acme");
    listing.title = " ".into();
    let o = ch.upsert_listing(&listing).await.unwrap();
    assert!(
        matches!(&o, PushOutcome::Rejected { code: Some(c), retryable: false, .. } if c == "MISSING_FIELD"),
        "{o:?}"
    );
}

fn shipment(order: &str, lines: Vec<ItemQuantity>, tracking: &str) -> Shipment {
    Shipment {
        order_external_id: order.into(),
        lines,
        carrier: Carrier {
            code: "UPS".into(),
            name: Some("UPS".into()),
        },
        service: Some("Ground".into()),
        tracking_number: tracking.into(),
        tracking_url: None,
        shipped_at: jiff::Timestamp::now(),
    }
}

fn line(id: &str, q: u32) -> ItemQuantity {
    ItemQuantity {
        external_line_id: id.into(),
        sku: None,
        quantity: Decimal::from(q),
    }
}

#[tokio::test]
async fn shipments_are_idempotent_per_tracking_number() {
    let m = start(MarketplaceConfig::default()).await;
    let ch = channel_for(&m, |_| {});
    let o = m
        .create_order(NewOrder::default().line("SKU-0001", 2).line("SKU-0002", 1))
        .unwrap();
    let id = o["id"].as_str().unwrap().to_string();
    let l1 = format!("{id}-L1");

    let s1 = shipment(&id, vec![line(&l1, 2)], "1Z001");
    let a = ch.confirm_shipment(&s1).await.unwrap();
    assert!(!a.already_existed);
    assert_eq!(a.order_status, Some(OrderStatus::PartiallyShipped));
    let b = ch.confirm_shipment(&s1).await.unwrap();
    assert!(
        b.already_existed,
        "same tracking, same lines: the existing shipment"
    );
    assert_eq!(a.external_id, b.external_id);
    assert_eq!(
        m.order(&id).unwrap()["shipments"].as_array().unwrap().len(),
        1
    );

    let clash = shipment(&id, vec![line(&format!("{id}-L2"), 1)], "1Z001");
    let e = ch.confirm_shipment(&clash).await.unwrap_err();
    assert!(
        matches!(&e, ChannelError::Rejected { code: Some(c), .. } if c == "DUPLICATE_TRACKING_NUMBER"),
        "{e}"
    );
    let too_many = shipment(&id, vec![line(&l1, 1)], "1Z002");
    let e = ch.confirm_shipment(&too_many).await.unwrap_err();
    assert!(
        matches!(&e, ChannelError::Rejected { code: Some(c), .. } if c == "QUANTITY_EXCEEDS_UNSHIPPED"),
        "{e}"
    );

    let rest = ch
        .confirm_shipment(&shipment(&id, vec![], "1Z003"))
        .await
        .unwrap();
    assert_eq!(rest.order_status, Some(OrderStatus::Shipped));
    let pulled = ch.get_order(&id).await.unwrap().into_ok().unwrap();
    assert_eq!(pulled.status, OrderStatus::Shipped);

    let fba = m
        .create_order(NewOrder {
            marketplace_program: Some("SFN".into()),
            ..NewOrder::default().line("SKU-0003", 1)
        })
        .unwrap();
    let e = ch
        .confirm_shipment(&shipment(fba["id"].as_str().unwrap(), vec![], "1Z004"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::Rejected { code: Some(c), .. } if c == "FULFILLED_BY_MARKETPLACE")
    );
    let e = ch
        .confirm_shipment(&shipment("SBX-999999", vec![], "1Z005"))
        .await
        .unwrap_err();
    assert!(matches!(e, ChannelError::NotFound { .. }));
}

#[tokio::test]
async fn ambiguous_shipment_is_rechecked_not_resent() {
    let m = start(MarketplaceConfig::default()).await;
    let ch = channel_for(&m, |c| c.timeout_ms = 300);
    let o = m
        .create_order(NewOrder::default().line("SKU-0001", 1))
        .unwrap();
    let id = o["id"].as_str().unwrap().to_string();

    // Applied, then the answer is lost: the connector re-reads the order and finds it.
    m.inject_fault(
        "shipments.create",
        Fault::ApplyThenStall { millis: 2_000 },
        1,
    );
    let ack = ch
        .confirm_shipment(&shipment(&id, vec![], "TRK-1"))
        .await
        .unwrap();
    assert_eq!(ack.order_status, Some(OrderStatus::Shipped));
    assert_eq!(
        m.counters().write_count("shipments.create"),
        1,
        "one POST, then a read"
    );

    // A 500 before anything happened: the re-check finds nothing, so it says "not applied".
    let o2 = m
        .create_order(NewOrder::default().line("SKU-0002", 1))
        .unwrap();
    let id2 = o2["id"].as_str().unwrap().to_string();
    m.inject_fault("shipments.create", Fault::Status { status: 500 }, 1);
    let e = ch
        .confirm_shipment(&shipment(&id2, vec![], "TRK-2"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::Transient { message } if message.contains("not applied")),
        "{e}"
    );
    assert!(
        m.order(&id2).unwrap()["shipments"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        !ch.confirm_shipment(&shipment(&id2, vec![], "TRK-2"))
            .await
            .unwrap()
            .already_existed
    );
}

#[tokio::test]
async fn cancellations() {
    let m = start(MarketplaceConfig::default()).await;
    let ch = channel_for(&m, |_| {});
    let o = m
        .create_order(NewOrder::default().line("SKU-0001", 3).line("SKU-0002", 1))
        .unwrap();
    let id = o["id"].as_str().unwrap().to_string();
    assert_eq!(m.quantity("SKU-0001"), Some(47));
    let cancel = |lines| Cancellation {
        order_external_id: id.clone(),
        lines,
        reason: CancelReason::OutOfStock,
        reason_text: Some("warehouse count was wrong".into()),
        initiated_by: CancelInitiator::Seller,
    };
    // Partial: one unit of line 1.
    let ack = ch
        .cancel_order(&cancel(vec![line(&format!("{id}-L1"), 1)]))
        .await
        .unwrap();
    assert_eq!(ack.order_status, Some(OrderStatus::Unshipped));
    assert_eq!(
        m.quantity("SKU-0001"),
        Some(48),
        "cancelled units return to the listing"
    );
    // The rest.
    let ack = ch.cancel_order(&cancel(vec![])).await.unwrap();
    assert_eq!(ack.order_status, Some(OrderStatus::Cancelled));
    assert!(!ack.already_cancelled);
    let again = ch.cancel_order(&cancel(vec![])).await.unwrap();
    assert!(again.already_cancelled, "idempotent");
    let pulled = ch.get_order(&id).await.unwrap().into_ok().unwrap();
    assert_eq!(pulled.status, OrderStatus::Cancelled);
    assert_eq!(
        pulled.raw["cancel_reason"],
        "out_of_stock: warehouse count was wrong"
    );

    let shipped = m
        .create_order(NewOrder::default().line("SKU-0003", 1))
        .unwrap();
    let sid = shipped["id"].as_str().unwrap().to_string();
    ch.confirm_shipment(&shipment(&sid, vec![], "T-9"))
        .await
        .unwrap();
    let e = ch
        .cancel_order(&Cancellation {
            order_external_id: sid,
            ..cancel(vec![])
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ChannelError::Rejected { code: Some(c), .. } if c == "ORDER_ALREADY_SHIPPED"),
        "{e}"
    );
    assert!(m.events().iter().any(|e| e.topic == "order.cancelled"));

    // Applied but the answer was lost: re-checked, not re-sent.
    let lost = m
        .create_order(NewOrder::default().line("SKU-0004", 1))
        .unwrap();
    let lid = lost["id"].as_str().unwrap().to_string();
    m.inject_fault("orders.cancel", Fault::ApplyThen502, 1);
    let writes = m.counters().write_count("orders.cancel");
    let ack = ch
        .cancel_order(&Cancellation {
            order_external_id: lid,
            ..cancel(vec![])
        })
        .await
        .unwrap();
    assert_eq!(ack.order_status, Some(OrderStatus::Cancelled));
    assert_eq!(m.counters().write_count("orders.cancel"), writes + 1);
}

#[tokio::test]
async fn returns_and_settlements_pull() {
    let m = start(MarketplaceConfig::default()).await;
    let ch = channel_for(&m, |_| {});
    let a = m
        .create_order(NewOrder::default().line("SKU-0001", 2))
        .unwrap();
    let aid = a["id"].as_str().unwrap().to_string();
    let b = m
        .create_order(NewOrder {
            marketplace_program: Some("SFN".into()),
            ..NewOrder::default().line("SKU-0002", 1)
        })
        .unwrap();
    let bid = b["id"].as_str().unwrap().to_string();
    ch.confirm_shipment(&shipment(&aid, vec![], "R-1"))
        .await
        .unwrap();
    m.set_order_status(&bid, "shipped").unwrap();
    let r = m
        .create_return(&aid, &[(format!("{aid}-L1"), 1, Some("damaged".into()))])
        .unwrap();
    let rid = r["id"].as_str().unwrap().to_string();
    m.set_return_status(&rid, "refunded", None).unwrap();
    m.create_settlement(None, Some(dec!(2.50))).unwrap();

    let returns = ch.pull_returns(&PageQuery::default()).await.unwrap();
    assert_eq!(returns.items.len(), 1);
    let ret = returns.items[0].ok().unwrap();
    assert_eq!(ret.status, ReturnStatus::Refunded);
    assert_eq!(
        ret.refund,
        Some(Money::new(dec!(10.99), Currency::USD)),
        "one unit at 10.99"
    );
    assert!(ret.received_at.is_some());

    let page = ch.pull_settlements(&PageQuery::default()).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let s = page.items[0].ok().unwrap();
    assert!(s.is_balanced(), "lines add up to the payout");
    let kinds: Vec<&SettlementLineKind> = s.lines.iter().map(|l| &l.kind).collect();
    assert!(kinds.contains(&&SettlementLineKind::Sale));
    assert!(kinds.contains(&&SettlementLineKind::Fee {
        fee: FeeKind::Commission
    }));
    assert!(kinds.contains(&&SettlementLineKind::Fee {
        fee: FeeKind::Fulfilment
    }));
    assert!(kinds.contains(&&SettlementLineKind::Refund));
    assert!(kinds.contains(&&SettlementLineKind::Adjustment));
    let sales: Decimal = s
        .lines
        .iter()
        .filter(|l| l.kind == SettlementLineKind::Sale)
        .map(|l| l.amount.amount)
        .sum();
    // A: 2 × 10.99 + 4.99 shipping; B: 11.99 + 4.99.
    assert_eq!(sales, dec!(21.98) + dec!(4.99) + dec!(11.99) + dec!(4.99));
    let fees_b: Decimal = s
        .lines
        .iter()
        .filter(|l| {
            l.order_external_id.as_deref() == Some(&bid)
                && matches!(l.kind, SettlementLineKind::Fee { .. })
        })
        .map(|l| l.amount.amount)
        .sum();
    assert_eq!(fees_b, -(dec!(11.99) * dec!(0.15)).round_dp(2) - dec!(3.25));
    let ids: BTreeSet<_> = s.lines.iter().map(|l| &l.external_line_id).collect();
    assert_eq!(
        ids.len(),
        s.lines.len(),
        "every line has its own id: no fee counted twice"
    );
    // Incremental: nothing new after the high-water mark except the same settlement again.
    let again = ch
        .pull_settlements(&PageQuery {
            updated_after: page.high_water_mark,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(again.items.len(), 1);
    assert!(
        m.create_settlement(None, None).is_err(),
        "nothing left to settle"
    );
}

#[tokio::test]
async fn respects_the_rate_limit_learnt_from_headers() {
    // The marketplace is stricter than the documented limits the connector starts with.
    let mut limits = channel_sandbox::sandbox::default_limits();
    limits.insert(
        "orders.get".into(),
        OpLimit {
            rate: 40.0,
            burst: 5.0,
        },
    );
    let m = start(MarketplaceConfig {
        rate_limits: limits,
        ..Default::default()
    })
    .await;
    let o = m
        .create_order(NewOrder::default().line("SKU-0001", 1))
        .unwrap();
    let id = o["id"].as_str().unwrap().to_string();
    let ch = Arc::new(channel_for(&m, |_| {}));
    // One call teaches the connector the real limit; then 4 workers hammer it.
    ch.get_order(&id).await.unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let ch = ch.clone();
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..30 {
                ch.get_order(&id).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let c = m.counters();
    assert_eq!(c.requests["orders.get"], 121);
    assert_eq!(
        c.throttled_total(),
        0,
        "the connector never exceeded the limit"
    );
    // 120 calls at ≤ 36/s after a burst of ≤ 4 cannot take less than ~3.2 s.
    assert!(
        started.elapsed() >= Duration::from_millis(3_000),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn honours_429_and_retry_after_for_reads_and_writes() {
    let mut limits = channel_sandbox::sandbox::default_limits();
    limits.insert(
        "orders.get".into(),
        OpLimit {
            rate: 5.0,
            burst: 2.0,
        },
    );
    limits.insert(
        "inventory.write".into(),
        OpLimit {
            rate: 2.0,
            burst: 1.0,
        },
    );
    let m = start(MarketplaceConfig {
        rate_limits: limits,
        ..Default::default()
    })
    .await;
    let o = m
        .create_order(NewOrder::default().line("SKU-0001", 1))
        .unwrap();
    let id = o["id"].as_str().unwrap().to_string();
    // Misconfigured on purpose: pinned limits far above the marketplace's.
    let ch = channel_for(&m, |c| {
        c.rate_limits
            .insert("orders.get".into(), Limit::new(1000.0, 1000.0));
        c.rate_limits
            .insert("inventory.write".into(), Limit::new(1000.0, 1000.0));
    });
    let started = Instant::now();
    for _ in 0..6 {
        ch.get_order(&id)
            .await
            .expect("429s are retried after Retry-After");
    }
    for v in 0..3 {
        let out = ch
            .push_stock(&[stock("SKU-0002", 10 + v, u64::from(v))])
            .await
            .unwrap();
        assert!(
            out[0].is_applied(),
            "a 429 write was not processed, so it is resent: {out:?}"
        );
    }
    let c = m.counters();
    assert!(c.throttled["orders.get"] >= 1, "the limit was hit: {c:?}");
    assert!(c.throttled["inventory.write"] >= 1, "{c:?}");
    assert_eq!(
        c.requests["orders.get"], 6,
        "each read reached the handler exactly once"
    );
    assert_eq!(
        c.write_count("inventory.write"),
        3,
        "each write applied exactly once"
    );
    assert_eq!(m.quantity("SKU-0002"), Some(12));
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
}

#[tokio::test]
async fn transient_reads_are_retried_and_auth_failures_are_not() {
    let m = start(MarketplaceConfig::default()).await;
    let o = m
        .create_order(NewOrder::default().line("SKU-0001", 1))
        .unwrap();
    let id = o["id"].as_str().unwrap().to_string();
    let ch = channel_for(&m, |c| c.retry.max_attempts = 4);
    m.inject_fault("orders.get", Fault::Status { status: 503 }, 2);
    assert!(ch.get_order(&id).await.unwrap().ok().is_some());
    assert_eq!(m.counters().requests["orders.get"], 3);
    m.inject_fault("orders.get", Fault::Status { status: 500 }, 10);
    let e = ch.get_order(&id).await.unwrap_err();
    assert!(matches!(e, ChannelError::Transient { .. }), "{e}");
    assert_eq!(
        m.counters().requests["orders.get"],
        3 + 4,
        "gave up after max_attempts"
    );
    m.clear_faults();

    m.rotate_token("revoked-and-replaced");
    let e = ch.pull_orders(&PageQuery::default()).await.unwrap_err();
    assert!(matches!(e, ChannelError::Auth { .. }), "{e}");
    assert_eq!(
        m.counters().unauthorized,
        1,
        "auth failures are not retried"
    );
    let e = ch.push_stock(&[stock("SKU-0001", 1, 1)]).await.unwrap_err();
    assert!(
        matches!(e, ChannelError::Auth { .. }),
        "nothing was sent: the error itself comes back"
    );
    assert!(!format!("{e}").contains(&m.token()));
}

#[tokio::test]
async fn webhooks_are_signed_deduplicated_and_only_trigger() {
    let m = start(MarketplaceConfig::default()).await;
    let ch = Arc::new(channel_for(&m, |_| {}));
    let dedupe = Arc::new(DedupeSet::new(1000));
    type Received = Arc<Mutex<Vec<(bool, WebhookEvent)>>>;
    let received: Received = Arc::default();

    let (c2, d2, r2) = (ch.clone(), dedupe.clone(), received.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: http::HeaderMap, body: axum::body::Bytes| {
            let (ch, dedupe, received) = (c2.clone(), d2.clone(), r2.clone());
            async move {
                if ch.verify_webhook(&headers, &body).is_err() {
                    return http::StatusCode::UNAUTHORIZED;
                }
                for ev in ch.parse_webhook(&headers, &body).unwrap() {
                    let new = dedupe.insert_new(&ev.event_id);
                    received.lock().push((new, ev));
                }
                http::StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    m.set_webhooks(WebhookBehaviour {
        url: Some(url),
        duplicate_rate: 1.0,
        max_delay_ms: 30,
        max_attempts: 3,
    });
    let mut ids = Vec::new();
    for i in 1..=5 {
        let o = m
            .create_order(NewOrder::default().line(&format!("SKU-{i:04}"), 1))
            .unwrap();
        ids.push(o["id"].as_str().unwrap().to_string());
    }
    m.cancel_order(&ids[0], "buyer asked").unwrap();
    let expected_events = m.events().len();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.lock().len() < expected_events * 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = received.lock().clone();
    assert_eq!(
        got.len(),
        expected_events * 2,
        "every event delivered twice (duplicate_rate 1.0)"
    );
    let fresh: Vec<&WebhookEvent> = got.iter().filter(|(new, _)| *new).map(|(_, e)| e).collect();
    assert_eq!(
        fresh.len(),
        expected_events,
        "dedupe on event id keeps one of each"
    );
    let changed: BTreeSet<String> = fresh
        .iter()
        .filter_map(|e| match &e.kind {
            WebhookEventKind::OrderChanged { external_id } => Some(external_id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(changed, ids.iter().cloned().collect());
    assert!(fresh.iter().any(|e| e.kind
        == WebhookEventKind::OrderCancelled {
            external_id: ids[0].clone()
        }));
    assert!(
        fresh
            .iter()
            .any(|e| matches!(e.kind, WebhookEventKind::InventoryChanged { .. }))
    );
    assert!(
        m.deliveries().iter().all(|d| d.status == Some(200)),
        "all verified"
    );

    // A forged delivery is refused by the same verification.
    let mut h = http::HeaderMap::new();
    h.insert("x-sandbox-event-id", "evt_x".parse().unwrap());
    h.insert("x-sandbox-topic", "order.created".parse().unwrap());
    h.insert(
        "x-sandbox-timestamp",
        jiff::Timestamp::now()
            .as_second()
            .to_string()
            .parse()
            .unwrap(),
    );
    h.insert(
        "x-sandbox-signature",
        format!("sha256={}", "0".repeat(64)).parse().unwrap(),
    );
    assert_eq!(
        ch.verify_webhook(&h, b"{}"),
        Err(WebhookError::BadSignature)
    );
}

#[tokio::test]
async fn the_order_generator_is_seeded_and_exercises_the_quarantine() {
    let cfg = || MarketplaceConfig {
        seed: 7,
        catalog: big_catalog(20, 10_000),
        ..Default::default()
    };
    let (a, b) = (start(cfg()).await, start(cfg()).await);
    let skus = |m: &SandboxMarketplace| -> Vec<Vec<String>> {
        m.generate_orders(200, 0.2, 0.1)
            .iter()
            .map(|o| {
                o["line_items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|l| l["sku"].to_string())
                    .collect()
            })
            .collect()
    };
    assert_eq!(skus(&a), skus(&b), "same seed, same orders");

    let ch = channel_for(&a, |c| c.page_size = 250);
    let (all, _, _) = pull_all(&ch, PageQuery::default()).await;
    assert_eq!(all.len(), 200);
    let malformed = all.iter().filter(|p| p.is_malformed()).count();
    let ok: Vec<&Order> = all.iter().filter_map(|p| p.ok()).collect();
    let no_address = ok.iter().filter(|o| o.shipping_address.is_none()).count();
    let unknown_sku = ok
        .iter()
        .filter(|o| {
            o.lines
                .iter()
                .any(|l| l.sku.as_deref().is_some_and(|s| s.starts_with("NOPE")))
        })
        .count();
    let fba = ok
        .iter()
        .filter(|o| o.fulfilled_by != FulfilledBy::Merchant)
        .count();
    assert!(
        malformed > 0 && no_address > 0 && unknown_sku > 0 && fba > 0,
        "{malformed} {no_address} {unknown_sku} {fba}"
    );
    assert!(
        malformed + no_address + unknown_sku < 80,
        "bad orders are occasional"
    );

    // The background generator produces a steady stream.
    a.start_generator(channel_sandbox::sandbox::GeneratorConfig {
        interval: Duration::from_millis(20),
        max_orders: Some(5),
        ..Default::default()
    });
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(a.order_ids().len(), 205);
    a.stop_generator();
}

#[tokio::test]
async fn control_api_over_http_matches_the_handle() {
    let m = start(MarketplaceConfig::default()).await;
    let http = reqwest::Client::new();
    let created: serde_json::Value = http
        .post(format!("{}/_sandbox/orders", m.url()))
        .json(&serde_json::json!({"lines": [{"sku": "SKU-0001", "quantity": 2}], "service_level": "next_day"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(
        m.order(id).unwrap()["shipping"]["service_level"],
        "next_day"
    );
    let inv: BTreeMap<String, i64> = http
        .get(format!("{}/_sandbox/inventory", m.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(inv, m.quantities());
    assert_eq!(inv["SKU-0001"], 48);
    // The public API refuses anonymous callers with the JSON error body.
    let r = http
        .get(format!("{}/v1/orders", m.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    let r = http
        .put(format!("{}/v1/inventory", m.url()))
        .bearer_auth(m.token())
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http
        .get(format!("{}/v1/orders?cursor=%%%", m.url()))
        .bearer_auth(m.token())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.headers().contains_key("x-ratelimit-remaining"));
    let counters: serde_json::Value = http
        .get(format!("{}/_sandbox/counters", m.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(counters["unauthorized"], 1);
    assert_eq!(counters["writes"]["inventory.write"], 1);
    // The generator and the token, over HTTP too.
    let before = m.order_ids().len();
    let r = http
        .post(format!("{}/_sandbox/generator", m.url()))
        .json(&serde_json::json!({"interval": 10, "max_orders": 3, "bad_rate": 0.0}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(m.order_ids().len(), before + 3);
    let r = http
        .put(format!("{}/_sandbox/token", m.url()))
        .json(&serde_json::json!({"token": "new-token"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(m.token(), "new-token");
}
