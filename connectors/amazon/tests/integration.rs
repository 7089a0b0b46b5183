//! The Amazon connector against its SP-API sandbox over real HTTP.
//!
//! Every test ends with `assert_within_plan`: the sandbox counts each request the connector
//! sent beyond an operation's usage plan, and any such violation fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use channel_amazon::AmazonChannel;
use channel_amazon::config::Connection;
use channel_amazon::sandbox::{AmazonSandbox, Fault, FbaRow, NewItem, NewOrder, SandboxConfig};
use channels_core::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;

async fn start(cfg: SandboxConfig) -> AmazonSandbox {
    AmazonSandbox::start(cfg).await.unwrap()
}

fn channel(sb: &AmazonSandbox, tweak: impl FnOnce(&mut Connection)) -> AmazonChannel {
    let mut cfg = sb.amazon_config();
    cfg.connection.retry.min_delay_ms = 10;
    cfg.connection.retry.max_delay_ms = 100;
    tweak(&mut cfg.connection);
    AmazonChannel::new(ChannelId::new("amazon_us").unwrap(), cfg).unwrap()
}

fn assert_within_plan(sb: &AmazonSandbox) {
    let c = sb.counters();
    assert_eq!(
        c.total_violations(),
        0,
        "the connector exceeded a usage plan: {:?}",
        c.violations
    );
}

fn item(sku: &str, qty: u32, price: Decimal) -> NewItem {
    NewItem {
        sku: sku.into(),
        title: format!("Product {sku}"),
        quantity: qty,
        price,
        tax: (price * Decimal::from(qty) * dec!(0.1)).round_dp(2),
        ..NewItem::default()
    }
}

async fn pull_all(
    ch: &AmazonChannel,
    after: jiff::Timestamp,
    size: u32,
) -> (Vec<Pulled<Order>>, usize) {
    let mut q = PageQuery {
        updated_after: Some(after),
        page: None,
        page_size: Some(size),
    };
    let mut all = Vec::new();
    let mut pages = 0;
    loop {
        let page = ch.pull_orders(&q).await.unwrap();
        pages += 1;
        all.extend(page.items);
        match page.next {
            Some(t) => q.page = Some(t),
            None => return (all, pages),
        }
    }
}

fn minutes_ago(m: i64) -> jiff::Timestamp {
    jiff::Timestamp::now()
        .checked_sub(jiff::SignedDuration::from_mins(m))
        .unwrap()
}

#[tokio::test]
async fn orders_page_through_many_pages_and_a_429_loses_no_page() {
    let sb = start(SandboxConfig {
        rate_scale: 200.0,
        items_per_page: 1,
        ..Default::default()
    })
    .await;
    let mut ids = BTreeSet::new();
    for i in 0..120u32 {
        let mut items = vec![item(&format!("SKU-{i:03}"), 1 + i % 3, dec!(10.00))];
        if i % 10 == 0 {
            items.push(item("SKU-EXTRA", 2, dec!(4.50)));
        }
        ids.insert(
            sb.create_order(NewOrder {
                fulfillment: if i % 4 == 0 { "AFN" } else { "MFN" }.into(),
                prime: i % 5 == 0,
                items,
                ..NewOrder::default()
            })
            .unwrap(),
        );
    }
    let ch = channel(&sb, |_| {});
    let mut q = PageQuery {
        updated_after: Some(minutes_ago(10)),
        page: None,
        page_size: Some(10),
    };
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        if pages == 5 {
            // Amazon throttles on its own schedule too: the next getOrders (page 6) gets a 429.
            sb.inject_fault("getOrders", Fault::QuotaExceeded, 1);
        }
        let page = ch.pull_orders(&q).await.unwrap();
        pages += 1;
        for p in &page.items {
            let o = p.ok().expect("well-formed orders map");
            seen.push(o.external_id.clone());
            let (_, raw_items) = sb.order(&o.external_id).unwrap();
            assert_eq!(
                o.lines.len(),
                raw_items.len(),
                "every getOrderItems page was read"
            );
        }
        match page.next {
            Some(t) => q.page = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 12);
    assert_eq!(seen.len(), 120, "no order lost and none twice");
    assert_eq!(seen.iter().cloned().collect::<BTreeSet<_>>(), ids);
    let c = sb.counters();
    assert_eq!(c.injected_throttles, 1);
    assert_eq!(
        c.request_count("getOrders"),
        13,
        "12 pages + the throttled request, sent again with the same NextToken"
    );
    assert!(
        ch.client()
            .stats()
            .throttled
            .load(std::sync::atomic::Ordering::Relaxed)
            >= 1
    );
    // 120 orders, 12 of them with two items on two pages.
    assert_eq!(c.request_count("getOrderItems"), 132);
    assert_within_plan(&sb);
}

#[tokio::test]
async fn a_changed_filter_with_a_next_token_is_refused() {
    let sb = start(SandboxConfig {
        rate_scale: 100.0,
        ..Default::default()
    })
    .await;
    for _ in 0..3 {
        sb.create_order(NewOrder::default()).unwrap();
    }
    let ch = channel(&sb, |_| {});
    let first = ch
        .pull_orders(&PageQuery {
            updated_after: Some(minutes_ago(10)),
            page: None,
            page_size: Some(1),
        })
        .await
        .unwrap();
    let token = first.next.clone().unwrap();
    // The daemon passes a different updated_after with the token: the connector still sends
    // the first request's LastUpdatedAfter (kept in its cursor), so paging goes on.
    let second = ch
        .pull_orders(&PageQuery {
            updated_after: Some(minutes_ago(1)),
            page: Some(token),
            page_size: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(second.items.len(), 1);
    // A token the connector did not issue is a configuration error, not a silent restart.
    let err = ch
        .pull_orders(&PageQuery {
            updated_after: None,
            page: Some(PageToken("garbage".into())),
            page_size: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Config(_)), "{err}");
    assert_within_plan(&sb);
}

#[tokio::test]
async fn afn_prime_order_items_taxes_and_promotions_map() {
    let sb = start(SandboxConfig {
        rate_scale: 100.0,
        items_per_page: 2,
        ..Default::default()
    })
    .await;
    let afn = sb
        .create_order(NewOrder {
            fulfillment: "AFN".into(),
            prime: true,
            category: "SecondDay".into(),
            items: vec![
                NewItem {
                    promotion: dec!(2.00),
                    ..item("A", 2, dec!(15.00))
                },
                item("B", 1, dec!(5.00)),
                item("C", 3, dec!(1.10)),
            ],
            ..NewOrder::default()
        })
        .unwrap();
    let mfn = sb
        .create_order(NewOrder {
            category: "NextDay".into(),
            items: vec![NewItem {
                facilitator: false,
                shipping: dec!(4.99),
                ..item("D", 1, dec!(30.00))
            }],
            ..NewOrder::default()
        })
        .unwrap();
    let ch = channel(&sb, |_| {});
    let o = ch.get_order(&afn).await.unwrap().into_ok().unwrap();
    assert_eq!(
        o.fulfilled_by,
        FulfilledBy::Marketplace {
            program: "FBA".into()
        }
    );
    assert!(!o.needs_merchant_fulfilment(), "AFN: Amazon ships it");
    assert_eq!(o.service_level, ServiceLevel::Prime);
    assert_eq!(o.lines.len(), 3, "two getOrderItems pages");
    let a = &o.lines[0];
    assert_eq!(a.sku.as_deref(), Some("A"));
    assert_eq!(a.quantity, dec!(2));
    assert_eq!(a.unit_price.amount, dec!(15));
    assert_eq!(
        a.line_total.amount,
        dec!(28.00),
        "ItemPrice less PromotionDiscount"
    );
    assert_eq!(a.discounts[0].amount.amount, dec!(2.00));
    assert_eq!(a.taxes[0].collected_by, TaxCollector::Marketplace);
    assert_eq!(a.taxes[0].amount.amount, dec!(3.00));
    assert!(o.ship_by.is_some() && o.deliver_by.is_some());
    assert_eq!(o.order_total.currency, Currency::USD);

    let m = ch.get_order(&mfn).await.unwrap().into_ok().unwrap();
    assert_eq!(m.fulfilled_by, FulfilledBy::Merchant);
    assert_eq!(m.service_level, ServiceLevel::NextDay);
    assert_eq!(m.lines[0].taxes[0].collected_by, TaxCollector::Seller);
    assert_eq!(m.shipping_charge.unwrap().amount, dec!(4.99));
    assert!(m.needs_merchant_fulfilment());
    assert_within_plan(&sb);
}

#[tokio::test]
async fn address_pii_needs_a_restricted_data_token() {
    let sb = start(SandboxConfig {
        rate_scale: 100.0,
        ..Default::default()
    })
    .await;
    let id = sb.create_order(NewOrder::default()).unwrap();
    let plain = channel(&sb, |_| {});
    let (orders, _) = pull_all(&plain, minutes_ago(10), 100).await;
    let o = orders[0].ok().unwrap();
    assert_eq!(o.external_id, id);
    let addr = o.shipping_address.clone().unwrap();
    assert_eq!(addr.city.as_deref(), Some("Seattle"));
    assert_eq!(
        addr.missing_for_shipping(),
        vec!["name", "street"],
        "without an RDT Amazon withholds name and street: the audit holds the order"
    );
    assert!(o.buyer.email.is_none());

    let rdt = channel(&sb, |c| c.restricted_data = true);
    let (orders, _) = pull_all(&rdt, minutes_ago(10), 100).await;
    let o = orders[0].ok().unwrap();
    assert!(
        o.shipping_address
            .as_ref()
            .unwrap()
            .missing_for_shipping()
            .is_empty()
    );
    assert_eq!(o.buyer.name.as_deref(), Some("Jane Doe"));
    let o2 = rdt.get_order(&id).await.unwrap().into_ok().unwrap();
    assert_eq!(
        o2.shipping_address.unwrap().street.as_deref(),
        Some("410 Terry Ave N")
    );
    assert_eq!(
        sb.counters().rdt_grants,
        1,
        "one RDT, cached, serves both operations"
    );
    assert_within_plan(&sb);
}

#[tokio::test]
async fn tokens_refresh_before_expiry_and_once_after_a_401() {
    let sb = start(SandboxConfig {
        rate_scale: 100.0,
        token_lifetime: Duration::from_secs(3),
        ..Default::default()
    })
    .await;
    let id = sb.create_order(NewOrder::default()).unwrap();
    let ch = channel(&sb, |c| c.token_refresh_margin_secs = 2);
    ch.get_order(&id).await.unwrap();
    assert_eq!(sb.counters().lwa_grants, 1);
    ch.get_order(&id).await.unwrap();
    assert_eq!(sb.counters().lwa_grants, 1, "cached while valid");
    tokio::time::sleep(Duration::from_millis(1300)).await;
    ch.get_order(&id).await.unwrap();
    let c = sb.counters();
    assert_eq!(c.lwa_grants, 2, "refreshed ahead of expiry");
    assert_eq!(
        c.unauthorized, 0,
        "no request went out with an expired token"
    );

    sb.revoke_access_tokens();
    ch.get_order(&id).await.unwrap();
    let c = sb.counters();
    assert_eq!(c.unauthorized, 1, "one 401");
    assert_eq!(
        c.lwa_grants, 3,
        "one refresh after it, then the same request succeeded"
    );

    sb.revoke_refresh_token();
    sb.revoke_access_tokens();
    let err = ch.get_order(&id).await.unwrap_err();
    assert!(matches!(err, ChannelError::Auth { .. }), "{err}");
    assert!(!format!("{err}").contains("sbx-client-secret"));
    assert_eq!(
        sb.counters().unauthorized,
        2,
        "refreshed once, not in a loop"
    );
    assert_within_plan(&sb);
}

fn shipment(order: &str, tracking: &str, carrier: &str, lines: Vec<ItemQuantity>) -> Shipment {
    Shipment {
        order_external_id: order.into(),
        lines,
        carrier: Carrier {
            code: carrier.into(),
            name: Some(carrier.into()),
        },
        service: Some("Ground".into()),
        tracking_number: tracking.into(),
        tracking_url: None,
        shipped_at: jiff::Timestamp::now(),
    }
}

#[tokio::test]
async fn shipment_is_confirmed_exactly_once() {
    let sb = start(SandboxConfig {
        rate_scale: 10.0,
        ..Default::default()
    })
    .await;
    let id = sb
        .create_order(NewOrder {
            items: vec![item("A", 2, dec!(10)), item("B", 1, dec!(5))],
            ..NewOrder::default()
        })
        .unwrap();
    let ch = channel(&sb, |_| {});
    // The confirmation is applied but the answer is lost (502): the connector re-reads the
    // order instead of posting again.
    sb.inject_fault("confirmShipment", Fault::ApplyThen502, 1);
    let ack = ch
        .confirm_shipment(&shipment(&id, "1Z999", "UPS", vec![]))
        .await
        .unwrap();
    assert!(!ack.already_existed);
    assert_eq!(ack.order_status, Some(OrderStatus::Shipped));
    assert_eq!(sb.counters().shipment_confirmations, 1);
    // The daemon retries the same shipment (it crashed before recording the ack).
    let again = ch
        .confirm_shipment(&shipment(&id, "1Z999", "UPS", vec![]))
        .await
        .unwrap();
    assert!(again.already_existed);
    let c = sb.counters();
    assert_eq!(c.shipment_confirmations, 1, "exactly once");
    assert_eq!(c.write_count("confirmShipment"), 1);

    // A 500 that did *not* apply: re-checked, reported as not applied, and a resend works.
    let id2 = sb
        .create_order(NewOrder {
            items: vec![item("C", 3, dec!(2))],
            ..NewOrder::default()
        })
        .unwrap();
    let (_, items) = sb.order(&id2).unwrap();
    let line = items[0]["OrderItemId"].as_str().unwrap().to_string();
    sb.inject_fault("confirmShipment", Fault::Status { status: 500 }, 1);
    let part = vec![ItemQuantity {
        external_line_id: line,
        sku: Some("C".into()),
        quantity: dec!(2),
    }];
    let err = ch
        .confirm_shipment(&shipment(&id2, "CP123", "Colis Privé", part.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ChannelError::Transient { message } if message.contains("not applied")),
        "{err}"
    );
    assert_eq!(sb.counters().shipment_confirmations, 1);
    let ack = ch
        .confirm_shipment(&shipment(&id2, "CP123", "Colis Privé", part))
        .await
        .unwrap();
    assert!(!ack.already_existed);
    let (o, items) = sb.order(&id2).unwrap();
    assert_eq!(o["OrderStatus"], "PartiallyShipped");
    assert_eq!(items[0]["QuantityShipped"], 2);
    assert_eq!(sb.counters().shipment_confirmations, 2);
    assert_within_plan(&sb);
}

#[tokio::test]
async fn fba_inventory_is_read_not_allocated() {
    let sb = start(SandboxConfig {
        rate_scale: 20.0,
        ..Default::default()
    })
    .await;
    for i in 0..120 {
        sb.set_fba(FbaRow {
            sku: format!("FBA-{i:03}"),
            asin: format!("B0FBA{i:05}"),
            fulfillable: i,
            inbound_shipped: 5,
            reserved: 2,
            unfulfillable: 1,
            ..FbaRow::default()
        });
    }
    let ch = channel(&sb, |_| {});
    let all = ch.read_fba_inventory(&[]).await.unwrap();
    assert_eq!(all.len(), 120, "three nextToken pages");
    let some = ch
        .read_fba_inventory(&["FBA-007".into(), "FBA-100".into(), "NOPE".into()])
        .await
        .unwrap();
    assert_eq!(some.len(), 2);
    let r = some.iter().find(|r| r.sku == "FBA-007").unwrap();
    assert_eq!(
        (
            r.fulfillable,
            r.inbound_shipped,
            r.reserved,
            r.unfulfillable,
            r.total
        ),
        (7, 5, 2, 1, 15)
    );
    // Pushing an FBA quantity is refused without a request.
    let out = ch
        .push_stock(&[StockUpdate {
            sku: "FBA-007".into(),
            quantity: 3,
            version: 1,
            expected: None,
            location: Some("AMAZON_NA".into()),
        }])
        .await
        .unwrap();
    assert!(
        matches!(&out[0], PushOutcome::Rejected { code: Some(c), .. } if c == "FBA_NOT_PUSHABLE")
    );
    assert_eq!(sb.counters().write_count("patchListingsItem"), 0);
    assert_within_plan(&sb);
}

#[tokio::test]
async fn financial_event_groups_become_balanced_settlements() {
    let sb = start(SandboxConfig {
        rate_scale: 20.0,
        ..Default::default()
    })
    .await;
    let mfn = sb
        .create_order(NewOrder {
            items: vec![NewItem {
                promotion: dec!(1.00),
                shipping: dec!(3.99),
                ..item("A", 2, dec!(12.50))
            }],
            ..NewOrder::default()
        })
        .unwrap();
    let afn = sb
        .create_order(NewOrder {
            fulfillment: "AFN".into(),
            items: vec![item("B", 3, dec!(9.99))],
            ..NewOrder::default()
        })
        .unwrap();
    let gid = sb
        .settle(&[mfn.clone(), afn.clone()], Some(&mfn), Some(dec!(-7.25)))
        .unwrap();
    sb.open_settlement_group();
    let ch = channel(&sb, |_| {});
    let page = ch
        .pull_settlements(&PageQuery {
            updated_after: Some(minutes_ago(60 * 24 * 30)),
            page: None,
            page_size: None,
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "the open group waits until it closes");
    let s = page.items[0].ok().expect("maps");
    assert_eq!(s.external_id, gid);
    assert!(
        s.is_balanced(),
        "lines {} != total {}",
        s.lines_total().unwrap().amount,
        s.total.amount
    );
    let kinds: BTreeMap<String, Decimal> = s.lines.iter().fold(BTreeMap::new(), |mut m, l| {
        *m.entry(format!("{:?}", l.kind)).or_default() += l.amount.amount;
        m
    });
    assert_eq!(kinds["Sale"], dec!(25.00) + dec!(29.97));
    assert!(kinds.contains_key("Refund"));
    assert!(kinds.contains_key("Adjustment"));
    assert!(kinds.contains_key("Shipping"));
    let fee = |k: FeeKind| {
        s.lines
            .iter()
            .filter(|l| l.kind == SettlementLineKind::Fee { fee: k.clone() })
            .map(|l| l.amount.amount)
            .sum::<Decimal>()
    };
    assert_eq!(fee(FeeKind::Fulfilment), dec!(-9.00), "3 AFN units × 3.00");
    assert_eq!(fee(FeeKind::Subscription), dec!(-39.99));
    assert!(fee(FeeKind::Commission) < Decimal::ZERO);
    // Marketplace-facilitator tax is charged and withheld: it nets to zero for the seller.
    assert_eq!(kinds["Tax"], Decimal::ZERO);
    let ids: BTreeSet<&str> = s
        .lines
        .iter()
        .map(|l| l.external_line_id.as_str())
        .collect();
    assert_eq!(
        ids.len(),
        s.lines.len(),
        "line ids are unique (never count a fee twice)"
    );
    assert!(
        s.lines
            .iter()
            .any(|l| l.order_external_id.as_deref() == Some(afn.as_str()))
    );
    assert_within_plan(&sb);
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

#[tokio::test]
async fn a_10000_sku_push_is_one_feed_with_per_sku_errors() {
    let sb = start(SandboxConfig {
        feed_delay: Duration::from_millis(400),
        gzip_reports: true,
        ..Default::default()
    })
    .await;
    for i in 0..10_000 {
        sb.add_listing(&format!("SKU-{i:05}"), 0, dec!(9.99));
    }
    sb.reject_sku(
        "SKU-00042",
        "90220",
        "'[batteries_required]' is required but not supplied.",
    );
    sb.reject_sku(
        "SKU-07777",
        "99022",
        "The field 'prices' does not have enough values.",
    );
    let mut updates: Vec<StockUpdate> = (0..10_000)
        .map(|i| stock(&format!("SKU-{i:05}"), (i % 97) as u32, 100 + i as u64))
        .collect();
    // Two SKUs that have no listing on Amazon.
    updates[5000] = stock("NOT-LISTED-1", 4, 1);
    updates[9999] = stock("NOT-LISTED-2", 4, 1);
    let ch = channel(&sb, |_| {});
    let out = ch.push_stock(&updates).await.unwrap();
    assert_eq!(out.len(), updates.len());
    for (o, u) in out.iter().zip(&updates) {
        assert_eq!(
            (o.sku(), o.version()),
            (u.sku.as_str(), u.version),
            "one outcome per item, in order"
        );
        assert!(matches!(o, PushOutcome::Pending { .. }), "{o:?}");
    }
    let c = sb.counters();
    assert_eq!(c.write_count("patchListingsItem"), 0, "no per-SKU PATCH");
    assert_eq!(c.request_count("createFeedDocument"), 1);
    assert_eq!(c.document_uploads, 1);
    assert_eq!(c.request_count("createFeed"), 1);

    let handles: Vec<PendingHandle> = out
        .iter()
        .map(|o| match o {
            PushOutcome::Pending { handle, .. } => handle.clone(),
            _ => unreachable!(),
        })
        .collect();
    // The daemon polls in slices; the report is fetched once.
    let mut results: BTreeMap<String, PushOutcome> = BTreeMap::new();
    let mut polls = 0;
    while results.len() < handles.len() {
        polls += 1;
        assert!(polls < 100, "the feed never finished");
        let pending: Vec<PendingHandle> = handles
            .iter()
            .zip(&updates)
            .filter(|(_, u)| !results.contains_key(&u.sku))
            .map(|(h, _)| h.clone())
            .collect();
        for slice in pending.chunks(6000) {
            for o in ch.poll_pending(slice).await.unwrap() {
                if !matches!(o, PushOutcome::Pending { .. }) {
                    results.insert(o.sku().to_string(), o);
                }
            }
        }
        if results.len() < handles.len() {
            tokio::time::sleep(Duration::from_millis(150)).await;
        }
    }
    let rejected: BTreeMap<&str, (&Option<String>, &String)> = results
        .values()
        .filter_map(|o| match o {
            PushOutcome::Rejected {
                sku, code, reason, ..
            } => Some((sku.as_str(), (code, reason))),
            _ => None,
        })
        .collect();
    assert_eq!(
        rejected.keys().copied().collect::<Vec<_>>(),
        vec!["NOT-LISTED-1", "NOT-LISTED-2", "SKU-00042", "SKU-07777"]
    );
    assert_eq!(rejected["SKU-00042"].0.as_deref(), Some("90220"));
    assert!(rejected["SKU-07777"].1.contains("prices"));
    assert_eq!(
        rejected["NOT-LISTED-2"].0.as_deref(),
        Some("SBX_LISTING_NOT_FOUND")
    );
    let applied = results.values().filter(|o| o.is_applied()).count();
    assert_eq!(
        applied,
        10_000 - 4,
        "a partial failure never fails the rest"
    );
    match &results["SKU-01234"] {
        PushOutcome::Applied {
            version,
            channel_value: ChannelValue::Quantity { quantity },
            ..
        } => {
            assert_eq!((*version, *quantity), (1334, 1234 % 97));
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(sb.quantity("SKU-01234"), Some(1234 % 97));
    assert_eq!(
        sb.quantity("SKU-00042"),
        Some(0),
        "rejected message not applied"
    );
    let c = sb.counters();
    assert_eq!(
        c.request_count("getFeedDocument"),
        1,
        "report fetched once for all slices"
    );
    assert_eq!(c.document_downloads, 1);
    let total: u64 = c.requests.values().sum::<u64>() + c.document_uploads + c.document_downloads;
    eprintln!(
        "10,000-SKU push: createFeedDocument {} + upload {} + createFeed {} + getFeed {} + getFeedDocument {} + download {} = {} calls (0 PATCH); LWA grants {}",
        c.request_count("createFeedDocument"),
        c.document_uploads,
        c.request_count("createFeed"),
        c.request_count("getFeed"),
        c.request_count("getFeedDocument"),
        c.document_downloads,
        total,
        c.lwa_grants
    );
    assert!(total <= 6 + 10, "a few calls, not 10,000: {total}");
    assert_within_plan(&sb);
}

#[tokio::test]
async fn a_fatal_feed_leaves_every_item_unknown() {
    let sb = start(SandboxConfig {
        feed_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    for i in 0..30 {
        sb.add_listing(&format!("F-{i}"), 1, dec!(1));
    }
    let ch = channel(&sb, |_| {});
    let ups: Vec<StockUpdate> = (0..30).map(|i| stock(&format!("F-{i}"), 5, 1)).collect();
    let out = ch.push_stock(&ups).await.unwrap();
    let handles: Vec<PendingHandle> = out
        .iter()
        .filter_map(|o| match o {
            PushOutcome::Pending { handle, .. } => Some(handle.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(handles.len(), 30);
    sb.inject_fault("processFeed", Fault::FeedFatal, 1);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut res = ch.poll_pending(&handles).await.unwrap();
    for _ in 0..20 {
        if res
            .iter()
            .all(|o| !matches!(o, PushOutcome::Pending { .. }))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        res = ch.poll_pending(&handles).await.unwrap();
    }
    assert!(
        res.iter().all(|o| matches!(o, PushOutcome::Unknown { .. })),
        "{:?}",
        res[0]
    );
    assert_within_plan(&sb);
}

#[tokio::test]
async fn a_few_skus_use_patch_and_read_back() {
    let sb = start(SandboxConfig::default()).await;
    for s in ["P1", "P2", "P3", "P4"] {
        sb.add_listing(s, 0, dec!(10));
    }
    sb.reject_sku("P3", "8541", "quantity refused by the test");
    let ch = channel(&sb, |_| {});
    let out = ch
        .push_stock(&[
            stock("P1", 7, 1),
            stock("P2", 0, 2),
            stock("P3", 9, 3),
            stock("P1", 8, 4),
            stock("GHOST", 1, 5),
        ])
        .await
        .unwrap();
    assert!(matches!(&out[0], PushOutcome::Rejected { code: Some(c), .. } if c == "SUPERSEDED"));
    assert!(out[1].is_applied());
    assert!(
        matches!(&out[2], PushOutcome::Rejected { code: Some(c), retryable: false, .. } if c == "8541")
    );
    assert!(matches!(
        &out[3],
        PushOutcome::Applied {
            channel_value: ChannelValue::Quantity { quantity: 8 },
            ..
        }
    ));
    assert!(matches!(&out[4], PushOutcome::Rejected { .. }));
    assert_eq!(
        sb.counters().request_count("patchListingsItem"),
        4,
        "one PATCH per kept update"
    );
    assert_eq!(sb.counters().request_count("createFeed"), 0);
    let levels = ch
        .read_stock(&["P1".into(), "P2".into(), "P3".into(), "GHOST".into()])
        .await
        .unwrap();
    let m: BTreeMap<_, _> = levels
        .iter()
        .map(|l| (l.sku.as_str(), l.quantity))
        .collect();
    assert_eq!(m, BTreeMap::from([("P1", 8), ("P2", 0), ("P3", 0)]));

    let prices = ch
        .push_prices(&[
            PriceUpdate {
                sku: "P2".into(),
                price: Money::new(dec!(19.99), Currency::USD),
                compare_at: Some(Money::new(dec!(24.99), Currency::USD)),
                version: 9,
            },
            PriceUpdate {
                sku: "P4".into(),
                price: Money::new(dec!(5), Currency::EUR),
                compare_at: None,
                version: 10,
            },
        ])
        .await
        .unwrap();
    assert!(prices[0].is_applied(), "{:?}", prices[0]);
    assert!(
        matches!(&prices[1], PushOutcome::Rejected { code: Some(c), .. } if c == "SBX_INVALID_PRICE")
    );
    assert_eq!(sb.price("P2"), Some(dec!(19.99)));
    assert_within_plan(&sb);
}

#[tokio::test]
async fn listing_fields_from_odoo_map_to_attributes() {
    let sb = start(SandboxConfig::default()).await;
    let ch = channel(&sb, |_| {});
    let mut attributes = BTreeMap::new();
    attributes.insert("amazon_asin".to_string(), serde_json::json!("B0EXISTING"));
    for i in 1..=3 {
        attributes.insert(
            format!("amazon_bullet_{i}"),
            serde_json::json!(format!("Bullet {i}")),
        );
    }
    attributes.insert("amazon_bullet_5".to_string(), serde_json::json!("  "));
    attributes.insert("amazon_aplus_ref".to_string(), serde_json::json!("APLUS-7"));
    let l = Listing {
        sku: "NEW-1".into(),
        version: 3,
        title: "Tea pot".into(),
        description: Some("A pot".into()),
        brand: Some("Acme".into()),
        barcode: Some("4006381333931".into()),
        weight: None,
        images: vec!["https://img.example/1.jpg".into()],
        price: Some(Money::new(dec!(29.90), Currency::USD)),
        compare_at: None,
        attributes,
    };
    let out = ch.upsert_listing(&l).await.unwrap();
    match &out {
        PushOutcome::Applied {
            channel_value: ChannelValue::Listing { listing_ref },
            ..
        } => {
            assert_eq!(listing_ref.as_deref(), Some("B0EXISTING"));
        }
        o => panic!("{o:?}"),
    }
    let got = sb.listing("NEW-1").unwrap();
    let bullets = got.attributes["bullet_point"].as_array().unwrap();
    assert_eq!(bullets.len(), 3, "blank bullets are left out");
    assert_eq!(bullets[2]["value"], "Bullet 3");
    assert_eq!(
        got.attributes["merchant_suggested_asin"][0]["value"],
        "B0EXISTING"
    );
    assert_eq!(got.price, Some(dec!(29.9)));
    assert!(
        !got.attributes.contains_key("aplus_ref")
            && !got.attributes.contains_key("amazon_aplus_ref")
    );
    // Second time: the listing exists, so it is patched (PUT would erase its quantity).
    sb.add_listing("OLD-1", 12, dec!(3));
    let mut l2 = l.clone();
    l2.sku = "OLD-1".into();
    l2.title = "Renamed".into();
    assert!(ch.upsert_listing(&l2).await.unwrap().is_applied());
    let c = sb.counters();
    assert_eq!(
        (
            c.write_count("putListingsItem"),
            c.write_count("patchListingsItem")
        ),
        (1, 1)
    );
    assert_eq!(
        sb.quantity("OLD-1"),
        Some(12),
        "quantity untouched by a listing update"
    );
    assert_eq!(
        sb.listing("OLD-1").unwrap().attributes["item_name"][0]["value"],
        "Renamed"
    );
    assert_within_plan(&sb);
}

#[tokio::test]
async fn order_change_notifications_trigger_and_dedupe() {
    let sb = start(SandboxConfig::default()).await;
    let id = sb.create_order(NewOrder::default()).unwrap();
    let ch = channel(&sb, |_| {});
    let n = sb.order_change_notification(&id).unwrap();
    let body = serde_json::to_vec(&n).unwrap();
    let h = http::HeaderMap::new();
    assert_eq!(
        ch.verify_webhook(&h, &body),
        Err(WebhookError::Unsupported),
        "unsigned: never an HTTP webhook"
    );
    let ev = ch.parse_webhook(&h, &body).unwrap();
    assert_eq!(ev.len(), 1);
    assert_eq!(
        ev[0].kind,
        WebhookEventKind::OrderChanged {
            external_id: id.clone()
        }
    );
    assert_eq!(ev[0].topic, "ORDER_CHANGE");
    assert!(
        ch.parse_webhook(&h, &body).unwrap().is_empty(),
        "deduped on NotificationId"
    );
    sb.set_order_status(&id, "Canceled").unwrap();
    let n2 = sb.order_change_notification(&id).unwrap();
    let bridge = serde_json::json!({"version": "0", "detail-type": "ORDER_CHANGE", "detail": n2});
    let ev = ch
        .parse_webhook(&h, &serde_json::to_vec(&bridge).unwrap())
        .unwrap();
    assert_eq!(
        ev[0].kind,
        WebhookEventKind::OrderCancelled {
            external_id: id.clone()
        }
    );
    let n3 = sb.order_change_notification(&id).unwrap();
    let sqs = serde_json::json!({"MessageId": "m", "Body": n3.to_string()});
    assert_eq!(
        ch.parse_webhook(&h, &serde_json::to_vec(&sqs).unwrap())
            .unwrap()
            .len(),
        1
    );
    assert!(ch.parse_webhook(&h, b"{\"hello\":1}").is_err());
}

/// The enforcement itself can fail a test: a client that ignores the plan is caught.
#[tokio::test]
async fn the_sandbox_counts_requests_beyond_the_plan() {
    let sb = start(SandboxConfig::default()).await;
    sb.add_listing("X", 1, dec!(1));
    let http = reqwest::Client::new();
    let tok: serde_json::Value = http
        .post(sb.lwa_url())
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", sb.config().refresh_token.as_str()),
            ("client_id", sb.config().client_id.as_str()),
            ("client_secret", sb.config().client_secret.as_str()),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = tok["access_token"].as_str().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = http
            .get(format!("{}/fba/inventory/v1/summaries", sb.url()))
            .query(&[
                ("granularityType", "Marketplace"),
                ("granularityId", "ATVPDKIKX0DER"),
                ("marketplaceIds", "ATVPDKIKX0DER"),
            ])
            .header("x-amz-access-token", token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["x-amzn-RateLimit-Limit"], "2");
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..2], &[200, 200], "burst 2");
    assert!(statuses.contains(&429));
    assert!(sb.counters().violations["getInventorySummaries"] >= 5);
}

/// At the published plans (no scaling), a mixed workload stays within every limit.
#[tokio::test]
async fn the_connector_never_exceeds_the_published_plans() {
    let sb = start(SandboxConfig::default()).await;
    let skus: Vec<String> = (0..40).map(|i| format!("L-{i:02}")).collect();
    for s in &skus {
        sb.add_listing(s, 0, dec!(2));
        sb.set_fba(FbaRow {
            sku: s.clone(),
            asin: "B0X".into(),
            fulfillable: 1,
            ..FbaRow::default()
        });
    }
    let ch = channel(&sb, |_| {});
    // 20 SKUs = the threshold: 20 PATCH calls at 5/s, burst 5.
    let ups: Vec<StockUpdate> = skus[..20]
        .iter()
        .enumerate()
        .map(|(i, s)| stock(s, i as u32, 1))
        .collect();
    let out = ch.push_stock(&ups).await.unwrap();
    assert!(out.iter().all(PushOutcome::is_applied));
    assert_eq!(sb.counters().write_count("patchListingsItem"), 20);
    // FBA at 2/s, burst 2: four calls.
    let fba = ch.read_fba_inventory(&skus).await.unwrap();
    assert_eq!(fba.len(), 40);
    let fba = ch.read_fba_inventory(&skus[..10]).await.unwrap();
    assert_eq!(fba.len(), 10);
    let levels = ch.read_stock(&skus).await.unwrap();
    assert_eq!(levels.len(), 40);
    let id = sb.create_order(NewOrder::default()).unwrap();
    for _ in 0..5 {
        ch.get_order(&id).await.unwrap();
    }
    assert_within_plan(&sb);
}

/// Calls `pull_returns` until a report has been read (it never waits itself).
async fn read_returns(ch: &AmazonChannel) -> Vec<Pulled<Return>> {
    for _ in 0..40 {
        let p = ch.pull_returns(&PageQuery::default()).await.unwrap();
        assert!(p.next.is_none());
        if !p.items.is_empty() {
            return p.items;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no returns report was read");
}

#[tokio::test]
async fn returns_come_from_the_flat_file_returns_report() {
    use channel_amazon::sandbox::NewReturn;
    let sb = start(SandboxConfig {
        feed_delay: Duration::from_millis(100),
        ..SandboxConfig::default()
    })
    .await;
    let ch = channel(&sb, |c| c.returns_interval_secs = 0);
    assert!(ch.capabilities().supports(Operation::PullReturns));

    // Nothing returned yet: the report is requested, then CANCELLED (Amazon's "no data").
    let p = ch.pull_returns(&PageQuery::default()).await.unwrap();
    assert!(p.items.is_empty() && p.next.is_none());
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert!(
        ch.pull_returns(&PageQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let c = sb.counters();
    assert_eq!(c.request_count("createReport"), 1);
    assert_eq!(c.request_count("getReport"), 2);
    assert_eq!(c.request_count("getReportDocument"), 0);

    let ret = |rma: &str, sku: &str, days: i64| NewReturn {
        order_id: "113-0000001-0000001".into(),
        rma: rma.into(),
        sku: sku.into(),
        quantity: 1,
        reason: "AMZ-PG-BAD-DESC".into(),
        status: "Approved".into(),
        requested: minutes_ago(24 * 60 * days),
        delivered: None,
        refunded: None,
    };
    sb.add_return(ret("RMA1", "A-1", 3));
    sb.add_return(ret("RMA1", "B-2", 3));
    sb.add_return(ret("RMA0", "A-1", 75)); // outside the 60-day window
    let items = read_returns(&ch).await;
    let ids: Vec<&str> = items
        .iter()
        .map(|p| p.ok().unwrap().external_id.as_str())
        .collect();
    assert_eq!(ids, ["RMA1/A-1", "RMA1/B-2"]);
    assert!(
        items
            .iter()
            .all(|p| p.ok().unwrap().status == ReturnStatus::Approved)
    );

    // One item reaches the seller and is refunded: the next report says so; the other item's
    // row is unchanged (the daemon's inbox drops it by its payload hash).
    sb.deliver_return("RMA1", "A-1", minutes_ago(0), Some(dec!(19.99)))
        .unwrap();
    let again = read_returns(&ch).await;
    let a = again[0].ok().unwrap();
    assert_eq!(a.status, ReturnStatus::Refunded);
    assert_eq!(a.refund.as_ref().unwrap().amount, dec!(19.99));
    assert!(a.received_at.is_some());
    assert_eq!(again[1], items[1]);

    // Compressed documents are read the same.
    sb.set_gzip_reports(true);
    assert_eq!(read_returns(&ch).await, again);

    // At most one report per interval, and nothing at all with a zero look-back.
    let hourly = channel(&sb, |c| c.returns_interval_secs = 3600);
    read_returns(&hourly).await;
    assert_within_plan(&sb);
    sb.reset_counters();
    assert!(
        hourly
            .pull_returns(&PageQuery::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    assert_eq!(sb.counters().request_count("createReport"), 0);
    let off = channel(&sb, |c| c.returns_lookback_days = 0);
    assert!(!off.capabilities().supports(Operation::PullReturns));
    assert!(matches!(
        off.pull_returns(&PageQuery::default()).await,
        Err(ChannelError::Unsupported(_))
    ));
    assert_within_plan(&sb);
}

/// Polls a handle until it is no longer `Pending` (the sandbox's feed delay is short).
async fn settled(ch: &AmazonChannel, handle: &PendingHandle) -> PushOutcome {
    for _ in 0..50 {
        let out = ch.poll_pending(std::slice::from_ref(handle)).await.unwrap();
        assert_eq!(out.len(), 1);
        if !matches!(out[0], PushOutcome::Pending { .. }) {
            return out[0].clone();
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    panic!("the feed never finished");
}

fn cancellation(order: &str, reason: CancelReason) -> Cancellation {
    Cancellation {
        order_external_id: order.into(),
        lines: vec![],
        reason,
        reason_text: None,
        initiated_by: CancelInitiator::Seller,
    }
}

#[tokio::test]
async fn an_order_is_cancelled_by_an_acknowledgement_feed() {
    let sb = start(SandboxConfig {
        feed_delay: Duration::from_millis(60),
        ..Default::default()
    })
    .await;
    let id = sb
        .create_order(NewOrder {
            items: vec![item("A", 2, dec!(10)), item("B", 1, dec!(5))],
            ..NewOrder::default()
        })
        .unwrap();
    let ch = channel(&sb, |_| {});
    assert!(ch.capabilities().supports(Operation::CancelOrder));
    let ack = ch
        .cancel_order(&cancellation(&id, CancelReason::OutOfStock))
        .await
        .unwrap();
    let handle = ack.pending.expect("a feed is asynchronous");
    // Sent, not yet processed: the order is still open.
    assert_eq!(sb.order(&id).unwrap().0["OrderStatus"], "Unshipped");
    let docs = sb.acknowledgement_documents();
    let doc = docs.last().unwrap();
    assert!(doc.contains("<StatusCode>Failure</StatusCode>"), "{doc}");
    assert_eq!(
        doc.matches("<CancelReason>NoInventory</CancelReason>")
            .count(),
        2
    );
    match settled(&ch, &handle).await {
        PushOutcome::Applied { sku, .. } => assert_eq!(sku, id),
        other => panic!("{other:?}"),
    }
    let order = match ch.get_order(&id).await.unwrap() {
        Pulled::Ok(o) => o,
        other => panic!("{other:?}"),
    };
    assert_eq!(order.status, OrderStatus::Cancelled);
    let c = sb.counters();
    assert_eq!(c.write_count("createFeed"), 1);

    // A shipped order cannot be cancelled: the processing report's error comes back
    // as a refusal naming Amazon's code, and the order is untouched.
    let shipped = sb
        .create_order(NewOrder {
            items: vec![item("C", 1, dec!(3))],
            ..NewOrder::default()
        })
        .unwrap();
    ch.confirm_shipment(&shipment(&shipped, "1Z1", "UPS", vec![]))
        .await
        .unwrap();
    let ack = ch
        .cancel_order(&cancellation(&shipped, CancelReason::BuyerRequest))
        .await
        .unwrap();
    match settled(&ch, &ack.pending.unwrap()).await {
        PushOutcome::Rejected {
            code, retryable, ..
        } => {
            assert_eq!(code.as_deref(), Some("SBX_ORDER_SHIPPED"));
            assert!(!retryable);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sb.order(&shipped).unwrap().0["OrderStatus"], "Shipped");

    // Part of an order: Amazon has no such acknowledgement, nothing is sent.
    let writes = sb.counters().write_count("createFeed");
    let mut part = cancellation(&shipped, CancelReason::Other);
    part.lines.push(ItemQuantity {
        external_line_id: "x".into(),
        sku: None,
        quantity: dec!(1),
    });
    assert!(matches!(
        ch.cancel_order(&part).await,
        Err(ChannelError::Rejected { .. })
    ));
    assert_eq!(sb.counters().write_count("createFeed"), writes);
    assert_within_plan(&sb);
}
