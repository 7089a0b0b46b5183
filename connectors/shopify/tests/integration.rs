//! The Shopify connector against the Shopify sandbox over real HTTP.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use channel_shopify::sandbox::{
    Address, Corruption, Customer, Fault, NewLine, NewOrder, SandboxConfig, ShopifySandbox,
    ThrottleConfig, demo_catalog,
};
use channel_shopify::{RefundRequest, ReturnReason, ReturnRequest, ShopifyChannel, ShopifyConfig};
use channels_core::{
    CancelInitiator, CancelReason, Cancellation, Carrier, Channel, ChannelError, ChannelId,
    ChannelValue, Currency, ItemQuantity, Listing, Money, OrderStatus, PageQuery, PriceUpdate,
    Pulled, PushOutcome, ReturnStatus, SettlementLineKind, Shipment, StockUpdate, WebhookError,
    WebhookEventKind,
};
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::json;

async fn shop(throttle: ThrottleConfig) -> ShopifySandbox {
    ShopifySandbox::start(SandboxConfig {
        throttle,
        catalog: demo_catalog(12),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts")
}

fn channel_with(sb: &ShopifySandbox, f: impl FnOnce(&mut ShopifyConfig)) -> ShopifyChannel {
    let mut cfg = sb.connector_config();
    cfg.connection.retry.min_delay_ms = 20;
    cfg.connection.retry.max_delay_ms = 500;
    f(&mut cfg);
    ShopifyChannel::new(ChannelId::new("shopify-eu").unwrap(), cfg).expect("valid config")
}

fn channel(sb: &ShopifySandbox) -> ShopifyChannel {
    channel_with(sb, |_| {})
}

fn eur(a: Decimal) -> Money {
    Money::new(a, Currency::EUR)
}

fn stock(sku: &str, quantity: u32, version: u64, expected: Option<i64>) -> StockUpdate {
    StockUpdate {
        sku: sku.into(),
        quantity,
        version,
        expected,
        location: None,
    }
}

fn order_spec(lines: &[(&str, i64)]) -> NewOrder {
    NewOrder {
        lines: lines.iter().map(|(s, q)| NewLine::sku(s, *q)).collect(),
        customer: Some(Customer {
            first_name: Some("Alice".into()),
            last_name: Some("Martin".into()),
            email: Some("alice.secret@example.com".into()),
            ..Customer::default()
        }),
        shipping_address: Some(Address {
            first_name: Some("Alice".into()),
            last_name: Some("Martin".into()),
            address1: Some("1 rue de la Paix".into()),
            city: Some("Paris".into()),
            zip: Some("75002".into()),
            country_code: Some("FR".into()),
            ..Address::default()
        }),
        shipping: Some(("Standard".into(), dec!(4.90), Some(dec!(0.2)))),
        ..NewOrder::default()
    }
}

#[tokio::test]
async fn orders_page_by_cursor_and_an_update_mid_paging_is_not_lost() {
    let sb = shop(ThrottleConfig::PLUS).await;
    let ch = channel(&sb);
    let mut ids = Vec::new();
    for i in 0..240 {
        let sku = format!("SKU-{:04}", i % 12 + 1);
        ids.push(sb.create_order(order_spec(&[(&sku, 1 + i % 3)])).unwrap());
    }
    // One order with more lines than a page carries: the follow-up query completes it.
    let many: Vec<(String, i64)> = (1..=12).map(|i| (format!("SKU-{i:04}"), 1)).collect();
    let refs: Vec<(&str, i64)> = many.iter().map(|(s, q)| (s.as_str(), *q)).collect();
    let big = sb.create_order(order_spec(&refs)).unwrap();
    ids.push(big);

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut page = None;
    let mut pages = 0;
    let mut hwm = None;
    let mut touched = None;
    let mut created_mid = None;
    loop {
        let p = ch
            .pull_orders(&PageQuery {
                updated_after: None,
                page: page.clone(),
                page_size: Some(10),
            })
            .await
            .expect("page");
        pages += 1;
        for it in &p.items {
            let o = it.ok().expect("all orders map");
            *seen.entry(o.external_id.clone()).or_default() += 1;
            if o.external_id == big.to_string() {
                assert_eq!(
                    o.lines.len(),
                    12,
                    "line items beyond the first page fetched"
                );
            }
        }
        hwm = hwm.max(p.high_water_mark);
        if pages == 3 {
            // Shop-side changes while we page: an order we have read and a new one.
            let first = ids[0];
            assert!(sb.touch_order(first, "edited"));
            touched = Some(first);
            created_mid = Some(sb.create_order(order_spec(&[("SKU-0003", 1)])).unwrap());
        }
        match p.next {
            Some(n) => page = Some(n),
            None => break,
        }
    }
    for id in &ids {
        assert!(seen.contains_key(&id.to_string()), "order {id} missing");
    }
    assert!(seen.contains_key(&created_mid.unwrap().to_string()));
    assert_eq!(
        seen[&touched.unwrap().to_string()],
        2,
        "an order updated mid-paging comes back after the cursor"
    );
    assert!(pages >= 24, "10 requested but cost-bounded pages: {pages}");
    // The bound is inclusive at Shopify's whole-second precision: re-querying from the
    // high-water mark may return its second again (imports are idempotent), never older.
    let hwm = hwm.unwrap();
    let floor = jiff::Timestamp::from_second(hwm.as_second()).unwrap();
    let again = ch
        .pull_orders(&PageQuery {
            updated_after: Some(hwm),
            page: None,
            page_size: Some(5),
        })
        .await
        .unwrap();
    assert!(
        again
            .items
            .iter()
            .all(|o| o.ok().unwrap().updated_at >= floor)
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = sb.create_order(order_spec(&[("SKU-0004", 1)])).unwrap();
    let next = ch
        .pull_orders(&PageQuery {
            updated_after: Some(floor + jiff::SignedDuration::from_secs(1)),
            page: None,
            page_size: Some(5),
        })
        .await
        .unwrap();
    let got: Vec<String> = next
        .items
        .iter()
        .map(|o| o.ok().unwrap().external_id.clone())
        .collect();
    assert_eq!(got, vec![later.to_string()]);
    assert_eq!(sb.counters().throttled, 0);
    assert!(
        sb.counters().max_cost_exceeded >= 1,
        "a 10-order page is over the single-query limit and was halved"
    );
}

#[tokio::test]
async fn a_malformed_order_comes_back_named_and_its_neighbours_map() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    sb.create_order(order_spec(&[("SKU-0001", 1)])).unwrap();
    let mut bad = order_spec(&[("SKU-0002", 1)]);
    bad.corruptions = vec![Corruption::BadPrice];
    let bad_id = sb.create_order(bad).unwrap();
    let mut neg = order_spec(&[("SKU-0002", 1)]);
    neg.corruptions = vec![Corruption::NegativeQuantity];
    sb.create_order(neg).unwrap();
    let p = ch.pull_orders(&PageQuery::default()).await.unwrap();
    assert_eq!(p.items.len(), 3);
    let malformed: Vec<_> = p.items.iter().filter(|i| i.is_malformed()).collect();
    assert_eq!(malformed.len(), 2);
    match malformed[0] {
        Pulled::Malformed {
            external_id, error, ..
        } => {
            assert_eq!(external_id.as_deref(), Some(bad_id.to_string().as_str()));
            assert_eq!(error.record, format!("order {bad_id}"));
            assert_eq!(
                error.field,
                "lineItems[0].originalUnitPriceSet.shopMoney.amount"
            );
        }
        _ => unreachable!(),
    }
    match malformed[1] {
        Pulled::Malformed { error, .. } => {
            assert_eq!(error.field, "lineItems[0].quantity");
            assert!(error.message.contains("negative"), "{}", error.message);
        }
        _ => unreachable!(),
    }
    let good = p.items.iter().find_map(|i| i.ok()).unwrap();
    assert_eq!(good.currency, Currency::EUR);
    assert_eq!(good.shipping_charge, Some(eur(dec!(4.90))));
    assert_eq!(
        good.buyer.email.as_deref(),
        Some("alice.secret@example.com")
    );
    assert_eq!(
        good.shipping_address
            .as_ref()
            .unwrap()
            .missing_for_shipping(),
        Vec::<&str>::new()
    );
    assert_eq!(good.status, OrderStatus::Unshipped);
}

#[tokio::test]
async fn stock_cas_a_concurrent_shop_change_is_a_conflict_never_an_overwrite() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    // Against what the daemon last acknowledged.
    let out = ch
        .push_stock(&[stock("SKU-0001", 40, 1, Some(50))])
        .await
        .unwrap();
    assert!(out[0].is_applied(), "{out:?}");
    assert_eq!(sb.available("SKU-0001"), Some(40));
    // A sale on the POS between our read and our write.
    sb.set_available("SKU-0001", 37);
    let writes_before = sb.counters().write("inventorySetQuantities");
    let out = ch
        .push_stock(&[
            stock("SKU-0001", 30, 2, Some(40)),
            stock("SKU-0002", 12, 7, Some(50)),
        ])
        .await
        .unwrap();
    assert_eq!(
        out[0],
        PushOutcome::Conflict {
            sku: "SKU-0001".into(),
            version: 2,
            current: Some(ChannelValue::Quantity { quantity: 37 }),
        }
    );
    assert!(
        out[1].is_applied(),
        "the other item is re-sent alone: {:?}",
        out[1]
    );
    assert_eq!(sb.available("SKU-0001"), Some(37), "never overwritten");
    assert_eq!(sb.available("SKU-0002"), Some(12));
    assert_eq!(
        sb.counters().write("inventorySetQuantities"),
        writes_before + 1
    );

    // Without an expected value: compare against a fresh read.
    let out = ch
        .push_stock(&[stock("SKU-0003", 9, 3, None)])
        .await
        .unwrap();
    assert!(out[0].is_applied());
    assert_eq!(sb.available("SKU-0003"), Some(9));

    // Per-item outcomes in input order: unknown and duplicated SKUs are refused, not guessed.
    sb.duplicate_sku("SKU-0004");
    let out = ch
        .push_stock(&[
            stock("NOPE-1", 1, 4, None),
            stock("SKU-0004", 5, 5, None),
            stock("SKU-0005", 6, 6, Some(50)),
        ])
        .await
        .unwrap();
    let code = |o: &PushOutcome| match o {
        PushOutcome::Rejected { code, .. } => code.clone(),
        _ => None,
    };
    assert_eq!(code(&out[0]).as_deref(), Some("UNKNOWN_SKU"));
    assert_eq!(code(&out[1]).as_deref(), Some("DUPLICATE_SKU"));
    assert!(out[2].is_applied());
    assert_eq!(
        ch.read_stock(&["SKU-0005".into(), "NOPE-1".into()])
            .await
            .unwrap()
            .iter()
            .map(|l| (l.sku.as_str(), l.quantity))
            .collect::<Vec<_>>(),
        vec![("SKU-0005", 6)]
    );
    assert_eq!(sb.counters().throttled, 0);
}

#[tokio::test]
async fn prices_and_listings_are_upserted_with_seo_metafields_and_collections() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    sb.add_collection("summer-sale", "Summer sale");
    sb.add_collection("shoes", "Shoes");
    let out = ch
        .push_prices(&[
            PriceUpdate {
                sku: "SKU-0001".into(),
                price: eur(dec!(17.50)),
                compare_at: Some(eur(dec!(25))),
                version: 1,
            },
            PriceUpdate {
                sku: "SKU-0002".into(),
                price: Money::new(dec!(9), Currency::USD),
                compare_at: None,
                version: 2,
            },
            PriceUpdate {
                sku: "SKU-0003".into(),
                price: eur(dec!(-1)),
                compare_at: None,
                version: 3,
            },
        ])
        .await
        .unwrap();
    assert_eq!(
        out[0],
        PushOutcome::Applied {
            sku: "SKU-0001".into(),
            version: 1,
            channel_value: ChannelValue::Price {
                price: eur(dec!(17.50)),
                compare_at: Some(eur(dec!(25.00))),
            },
        }
    );
    assert!(
        matches!(&out[1], PushOutcome::Rejected { code: Some(c), .. } if c == "CURRENCY_MISMATCH")
    );
    assert!(matches!(&out[2], PushOutcome::Rejected { .. }));
    assert_eq!(sb.price("SKU-0001"), Some((dec!(17.50), Some(dec!(25)))));

    let mut attributes = BTreeMap::new();
    attributes.insert("shopify_seo_title".into(), json!("Trail shoe | Acme"));
    attributes.insert(
        "shopify_seo_description".into(),
        json!("Light and waterproof."),
    );
    attributes.insert(
        "shopify_metafields_json".into(),
        json!(r#"[{"namespace":"custom","key":"material","type":"single_line_text_field","value":"cotton"},{"namespace":"custom","key":"weight_g","value":320}]"#),
    );
    attributes.insert("shopify_collections".into(), json!("summer-sale, shoes"));
    let mut listing = Listing {
        sku: "TRAIL-42".into(),
        version: 1,
        title: "Trail shoe".into(),
        description: Some("<p>Waterproof</p>".into()),
        brand: Some("Acme".into()),
        barcode: Some("4006381333931".into()),
        weight: None,
        images: vec![],
        price: Some(eur(dec!(89))),
        compare_at: None,
        attributes,
    };
    let products = sb.product_count();
    let out = ch.upsert_listing(&listing).await.unwrap();
    let PushOutcome::Applied {
        channel_value: ChannelValue::Listing { listing_ref },
        ..
    } = &out
    else {
        panic!("{out:?}")
    };
    let p = sb.product_by_sku("TRAIL-42").expect("created");
    assert_eq!(listing_ref.as_deref(), p["id"].as_str());
    assert_eq!(sb.product_count(), products + 1);
    assert_eq!(p["seo"]["title"], "Trail shoe | Acme");
    assert_eq!(p["seo"]["description"], "Light and waterproof.");
    assert_eq!(p["vendor"], "Acme");
    let mf: BTreeSet<(String, String, String)> = p["metafields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                format!(
                    "{}.{}",
                    m["namespace"].as_str().unwrap(),
                    m["key"].as_str().unwrap()
                ),
                m["type"].as_str().unwrap().to_string(),
                m["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(mf.contains(&(
        "custom.material".into(),
        "single_line_text_field".into(),
        "cotton".into()
    )));
    assert!(mf.contains(&(
        "custom.weight_g".into(),
        "number_integer".into(),
        "320".into()
    )));
    let handles: Vec<&str> = p["collections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["handle"].as_str().unwrap())
        .collect();
    assert_eq!(handles, vec!["summer-sale", "shoes"]);
    assert_eq!(sb.price("TRAIL-42"), Some((dec!(89), None)));

    // Update: same product, new fields, no second product.
    listing.version = 2;
    listing.title = "Trail shoe II".into();
    listing.price = Some(eur(dec!(79)));
    listing
        .attributes
        .insert("shopify_collections".into(), json!("shoes"));
    listing.attributes.insert(
        "shopify_metafields_json".into(),
        json!(r#"[{"namespace":"custom","key":"material","type":"single_line_text_field","value":"linen"}]"#),
    );
    assert!(ch.upsert_listing(&listing).await.unwrap().is_applied());
    let p = sb.product_by_sku("TRAIL-42").unwrap();
    assert_eq!(sb.product_count(), products + 1);
    assert_eq!(p["title"], "Trail shoe II");
    assert_eq!(p["collections"].as_array().unwrap().len(), 1);
    assert!(
        p["metafields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["value"] == "linen")
    );
    assert_eq!(sb.price("TRAIL-42"), Some((dec!(79), None)));

    // An unknown collection handle is refused before anything is written.
    let writes = sb.counters().total_writes();
    listing.version = 3;
    listing
        .attributes
        .insert("shopify_collections".into(), json!("no-such-thing"));
    let out = ch.upsert_listing(&listing).await.unwrap();
    assert!(
        matches!(&out, PushOutcome::Rejected { code: Some(c), .. } if c == "UNKNOWN_COLLECTION"),
        "{out:?}"
    );
    listing
        .attributes
        .insert("shopify_collections".into(), json!("shoes"));
    listing
        .attributes
        .insert("shopify_metafields_json".into(), json!("{not json"));
    let out = ch.upsert_listing(&listing).await.unwrap();
    assert!(
        matches!(&out, PushOutcome::Rejected { code: Some(c), .. } if c == "INVALID_METAFIELDS"),
        "{out:?}"
    );
    assert_eq!(sb.counters().total_writes(), writes, "no write happened");
}

fn shipment(order: u64, tracking: &str, lines: Vec<ItemQuantity>) -> Shipment {
    Shipment {
        order_external_id: order.to_string(),
        lines,
        carrier: Carrier {
            code: "UPS".into(),
            name: Some("UPS".into()),
        },
        service: None,
        tracking_number: tracking.into(),
        tracking_url: Some(format!("https://track.example/{tracking}")),
        shipped_at: "2025-01-02T10:00:00Z".parse().unwrap(),
    }
}

#[tokio::test]
async fn fulfillment_with_tracking_happens_exactly_once() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    let id = sb
        .create_order(order_spec(&[("SKU-0001", 2), ("SKU-0002", 1)]))
        .unwrap();
    let order = sb.order(id).unwrap();
    // Partial: one unit of the first line.
    let ack = ch
        .confirm_shipment(&shipment(
            id,
            "1Z999",
            vec![ItemQuantity {
                external_line_id: order.lines[0].id.to_string(),
                sku: None,
                quantity: dec!(1),
            }],
        ))
        .await
        .unwrap();
    assert!(!ack.already_existed);
    assert_eq!(ack.order_status, Some(OrderStatus::PartiallyShipped));
    // The same tracking number again: re-checked, not created twice.
    let again = ch
        .confirm_shipment(&shipment(id, "1Z999", vec![]))
        .await
        .unwrap();
    assert!(again.already_existed);
    assert_eq!(again.external_id, ack.external_id);
    assert_eq!(sb.counters().write("fulfillmentCreate"), 1);
    // The rest, and a proxy loses the answer: re-check finds it, no blind second create.
    sb.inject_fault("CreateFulfillment", Fault::ApplyThen502, 1);
    let rest = ch
        .confirm_shipment(&shipment(id, "1Z1000", vec![]))
        .await
        .unwrap();
    assert!(!rest.already_existed);
    assert_eq!(rest.order_status, Some(OrderStatus::Shipped));
    let o = sb.order(id).unwrap();
    assert_eq!(o.fulfillments.len(), 2);
    assert_eq!(
        o.fulfillments[0].tracking[0].number.as_deref(),
        Some("1Z999")
    );
    assert_eq!(
        o.fulfillments[0].tracking[0].company.as_deref(),
        Some("UPS")
    );
    assert_eq!(sb.counters().write("fulfillmentCreate"), 2);
    // Nothing left: refused, not sent.
    let err = ch
        .confirm_shipment(&shipment(id, "1Z1001", vec![]))
        .await
        .unwrap_err();
    assert!(matches!(err, ChannelError::Rejected { .. }), "{err:?}");
    assert_eq!(sb.counters().mutation("fulfillmentCreate"), 2);
}

#[tokio::test]
async fn cancellation_is_whole_order_and_idempotent() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    let id = sb.create_order(order_spec(&[("SKU-0006", 3)])).unwrap();
    assert_eq!(sb.available("SKU-0006"), Some(47));
    let c = Cancellation {
        order_external_id: id.to_string(),
        lines: vec![],
        reason: CancelReason::OutOfStock,
        reason_text: Some("no stock left".into()),
        initiated_by: CancelInitiator::Seller,
    };
    let ack = ch.cancel_order(&c).await.unwrap();
    assert!(!ack.already_cancelled);
    assert_eq!(ack.order_status, Some(OrderStatus::Cancelled));
    let o = sb.order(id).unwrap();
    assert!(o.cancelled_at.is_some());
    assert_eq!(o.cancel_reason.as_deref(), Some("INVENTORY"));
    assert_eq!(sb.available("SKU-0006"), Some(50), "restocked");
    let again = ch.cancel_order(&c).await.unwrap();
    assert!(again.already_cancelled);
    assert_eq!(sb.counters().mutation("orderCancel"), 1);
    // Partial cancellation is not something Shopify's orderCancel does.
    let mut partial = c.clone();
    partial.lines = vec![ItemQuantity {
        external_line_id: "1".into(),
        sku: None,
        quantity: dec!(1),
    }];
    assert!(matches!(
        ch.cancel_order(&partial).await,
        Err(ChannelError::Rejected { code: Some(c), .. }) if c == "PARTIAL_CANCELLATION_UNSUPPORTED"
    ));
    // A fulfilled order: Shopify's user error comes back as Rejected.
    let shipped = sb.create_order(order_spec(&[("SKU-0007", 1)])).unwrap();
    ch.confirm_shipment(&shipment(shipped, "T-1", vec![]))
        .await
        .unwrap();
    let mut c2 = c.clone();
    c2.order_external_id = shipped.to_string();
    assert!(matches!(
        ch.cancel_order(&c2).await,
        Err(ChannelError::Rejected { .. })
    ));
    assert!(matches!(
        ch.cancel_order(&Cancellation {
            order_external_id: "999999".into(),
            ..c
        })
        .await,
        Err(ChannelError::NotFound { .. })
    ));
}

#[tokio::test]
async fn refunds_and_returns_are_created_once_and_returns_are_pulled() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    let id = sb
        .create_order(order_spec(&[("SKU-0008", 2), ("SKU-0009", 1)]))
        .unwrap();
    let line = sb.order(id).unwrap().lines[0].id.to_string();
    ch.confirm_shipment(&shipment(id, "R-1", vec![]))
        .await
        .unwrap();
    let req = ReturnRequest {
        order_external_id: id.to_string(),
        lines: vec![(
            ItemQuantity {
                external_line_id: line.clone(),
                sku: Some("SKU-0008".into()),
                quantity: dec!(1),
            },
            ReturnReason::Defective,
        )],
        key: "RMA/2025/0001".into(),
    };
    let ack = ch.create_return(&req).await.unwrap();
    assert!(!ack.already_existed);
    assert_eq!(ack.status, ReturnStatus::Approved);
    let again = ch.create_return(&req).await.unwrap();
    assert!(again.already_existed);
    assert_eq!(again.external_id, ack.external_id);
    assert_eq!(sb.counters().write("returnCreate"), 1);

    let refund = RefundRequest {
        order_external_id: id.to_string(),
        lines: vec![ItemQuantity {
            external_line_id: line.clone(),
            sku: None,
            quantity: dec!(1),
        }],
        restock: true,
        shipping: None,
        amount: Some(eur(dec!(25.19))),
        note: "RINV/2025/0001".into(),
        notify: false,
    };
    let before = sb.available("SKU-0008").unwrap();
    let r = ch.refund(&refund).await.unwrap();
    assert!(!r.already_existed);
    assert!(ch.refund(&refund).await.unwrap().already_existed);
    assert_eq!(sb.counters().write("refundCreate"), 1);
    let o = sb.order(id).unwrap();
    assert_eq!(o.refunds.len(), 1);
    assert_eq!(o.refunds[0].amount, dec!(25.19));
    assert_eq!(o.financial_status, "PARTIALLY_REFUNDED");
    assert_eq!(sb.available("SKU-0008"), Some(before + 1), "restocked");
    // Refunding more than was paid: Shopify refuses, nothing written.
    let too_much = RefundRequest {
        amount: Some(eur(dec!(10000))),
        note: "RINV/2025/0002".into(),
        lines: vec![],
        ..refund.clone()
    };
    assert!(matches!(
        ch.refund(&too_much).await,
        Err(ChannelError::Rejected { .. })
    ));
    assert_eq!(sb.counters().write("refundCreate"), 1);

    let p = ch.pull_returns(&PageQuery::default()).await.unwrap();
    assert_eq!(p.items.len(), 1, "only orders with returns");
    let ret = p.items[0].ok().unwrap();
    assert_eq!(ret.external_id, ack.external_id);
    assert_eq!(ret.order_external_id, id.to_string());
    assert_eq!(
        ret.lines[0].external_line_id.as_deref(),
        Some(line.as_str())
    );
    assert_eq!(ret.lines[0].sku.as_deref(), Some("SKU-0008"));
    assert_eq!(ret.lines[0].quantity, dec!(1));
    assert!(
        ret.lines[0]
            .reason
            .as_deref()
            .unwrap()
            .starts_with("DEFECTIVE")
    );
}

#[tokio::test]
async fn payouts_and_balance_transactions_become_balanced_settlements() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    let a = sb.create_order(order_spec(&[("SKU-0010", 1)])).unwrap();
    let b = sb.create_order(order_spec(&[("SKU-0011", 2)])).unwrap();
    let line = sb.order(b).unwrap().lines[0].id.to_string();
    ch.refund(&RefundRequest {
        order_external_id: b.to_string(),
        lines: vec![ItemQuantity {
            external_line_id: line,
            sku: None,
            quantity: dec!(1),
        }],
        restock: false,
        shipping: None,
        amount: Some(eur(dec!(10))),
        note: "RINV/9".into(),
        notify: false,
    })
    .await
    .unwrap();
    sb.add_adjustment(dec!(-1.50), "Chargeback fee correction");
    let payout = sb.create_payout("PAID").unwrap();
    // A later, still scheduled payout is not imported yet.
    sb.create_order(order_spec(&[("SKU-0012", 1)])).unwrap();
    sb.create_payout("SCHEDULED").unwrap();

    let p = ch.pull_settlements(&PageQuery::default()).await.unwrap();
    assert_eq!(p.items.len(), 1);
    let s = p.items[0].ok().unwrap();
    assert_eq!(s.external_id, payout.to_string());
    assert!(
        s.is_balanced(),
        "lines add up to the payout: {:?}",
        s.lines_total()
    );
    assert_eq!(s.currency, Currency::EUR);
    assert!(s.payout_date.is_some());
    let kinds: Vec<&SettlementLineKind> = s.lines.iter().map(|l| &l.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| ***k == SettlementLineKind::Sale)
            .count(),
        2
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| ***k == SettlementLineKind::Refund)
            .count(),
        1
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| ***k == SettlementLineKind::Adjustment)
            .count(),
        1
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| matches!(k, SettlementLineKind::Fee { .. }))
            .count(),
        2
    );
    let sale_a = s
        .lines
        .iter()
        .find(|l| {
            l.order_external_id.as_deref() == Some(a.to_string().as_str())
                && l.kind == SettlementLineKind::Sale
        })
        .unwrap();
    assert_eq!(sale_a.amount.amount, sb.order(a).unwrap().total());
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
}

#[tokio::test]
async fn a_burst_of_concurrent_calls_never_exceeds_the_shops_rate() {
    // A bucket the burst cannot fit in (six order pages alone request ~5,600 points): the
    // connector must wait, not get throttled.
    let sb = shop(ThrottleConfig {
        maximum_available: 1000.0,
        restore_rate: 1000.0,
        max_query_cost: 1000,
    })
    .await;
    for i in 0..6 {
        sb.create_order(order_spec(&[(&format!("SKU-{:04}", i + 1), 1)]))
            .unwrap();
    }
    let ch = Arc::new(channel(&sb));
    let mut tasks = Vec::new();
    for i in 0..36u64 {
        let ch = ch.clone();
        tasks.push(tokio::spawn(async move {
            match i % 6 {
                0 => ch
                    .pull_orders(&PageQuery {
                        page_size: Some(5),
                        ..PageQuery::default()
                    })
                    .await
                    .map(|p| p.items.len()),
                1 | 2 => ch
                    .push_stock(&[stock(
                        &format!("SKU-{:04}", i % 12 + 1),
                        (i % 40) as u32,
                        i,
                        None,
                    )])
                    .await
                    .map(|o| usize::from(o[0].is_applied())),
                3 => ch
                    .read_stock(&[format!("SKU-{:04}", i % 12 + 1)])
                    .await
                    .map(|l| l.len()),
                4 => ch.get_order("1").await.map(|_| 1).or_else(|e| match e {
                    ChannelError::NotFound { .. } => Ok(0),
                    e => Err(e),
                }),
                _ => ch
                    .push_prices(&[PriceUpdate {
                        sku: format!("SKU-{:04}", i % 12 + 1),
                        price: eur(Decimal::from(10 + i)),
                        compare_at: None,
                        version: i,
                    }])
                    .await
                    .map(|o| usize::from(o[0].is_applied())),
            }
        }));
    }
    for t in tasks {
        t.await
            .unwrap()
            .expect("every call succeeds without being throttled");
    }
    let c = sb.counters();
    assert_eq!(
        c.throttled, 0,
        "the connector exceeded the shop's rate: {c:?}"
    );
    assert!(c.requests >= 36);

    // The same sandbox does throttle a client that ignores the bucket (the test can fail).
    let http = reqwest::Client::new();
    let mut naive = Vec::new();
    for _ in 0..12 {
        let (http, url, token) = (http.clone(), sb.graphql_url(), sb.access_token());
        naive.push(tokio::spawn(async move {
            http.post(url)
                .header("X-Shopify-Access-Token", token)
                .json(&json!({
                    "query": channel_shopify::documents::ORDERS_PAGE.text,
                    "variables": {"first": 5, "lineItems": 10},
                }))
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }));
    }
    let mut throttled = 0;
    for t in naive {
        let v = t.await.unwrap();
        if v["errors"][0]["extensions"]["code"] == "THROTTLED" {
            throttled += 1;
            assert!(v["extensions"]["cost"]["actualQueryCost"].is_null());
        }
    }
    assert!(throttled > 0);
    assert_eq!(sb.counters().throttled, throttled);
}

#[tokio::test]
async fn a_throttled_write_was_not_executed_and_is_sent_again_once() {
    let sb = shop(ThrottleConfig {
        maximum_available: 1000.0,
        restore_rate: 200.0,
        max_query_cost: 1000,
    })
    .await;
    let ch = channel(&sb);
    // Warm up: the connector learns the bucket and resolves the SKU.
    ch.read_stock(&["SKU-0001".into()]).await.unwrap();
    // Another consumer drains the bucket behind the connector's back.
    sb.consume_points(1000.0);
    let out = ch
        .push_stock(&[stock("SKU-0001", 11, 1, Some(50))])
        .await
        .unwrap();
    assert!(out[0].is_applied(), "{out:?}");
    assert_eq!(sb.available("SKU-0001"), Some(11));
    assert_eq!(
        sb.counters().write("inventorySetQuantities"),
        1,
        "applied exactly once"
    );
}

#[tokio::test]
async fn a_revoked_token_is_an_auth_error_and_nothing_is_written() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    sb.rotate_token("shpat_new");
    let e = ch
        .push_stock(&[stock("SKU-0001", 1, 1, Some(50))])
        .await
        .unwrap_err();
    assert!(matches!(e, ChannelError::Auth { .. }), "{e:?}");
    assert!(!format!("{e}").contains(&sb.access_token()));
    assert_eq!(sb.counters().total_writes(), 0);
    assert!(sb.counters().unauthorized >= 1);
}

/// Captures tracing output of the current thread.
#[derive(Clone, Default)]
struct Capture(Arc<parking_lot::Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn forged_replayed_stale_foreign_or_oversized_webhooks_are_rejected_and_logged_without_secrets()
 {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel_with(&sb, |c| c.connection.webhook_max_body = 64 * 1024);
    let id = sb.create_order(order_spec(&[("SKU-0001", 1)])).unwrap();
    let genuine = sb
        .last_webhook("orders/create")
        .expect("orders/create emitted");
    let body_text = String::from_utf8(genuine.body.clone()).unwrap();
    let token = serde_json::from_slice::<serde_json::Value>(&genuine.body).unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(body_text.contains("alice.secret@example.com") && body_text.contains(&token));
    let hmac = genuine.header("x-shopify-hmac-sha256").unwrap().to_string();

    let capture = Capture::default();
    let sink = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let results = tracing::subscriber::with_default(subscriber, || {
        let mut r = Vec::new();
        // Genuine: accepted, parsed into a trigger.
        r.push((
            "genuine",
            ch.verify_webhook(&genuine.header_map(), &genuine.body),
        ));
        let ev = ch
            .parse_webhook(&genuine.header_map(), &genuine.body)
            .unwrap();
        assert_eq!(
            ev[0].kind,
            WebhookEventKind::OrderChanged {
                external_id: id.to_string()
            }
        );
        assert_eq!(
            ev[0].event_id,
            genuine.header("x-shopify-webhook-id").unwrap()
        );
        // Replayed: the same delivery again.
        r.push((
            "replayed",
            ch.verify_webhook(&genuine.header_map(), &genuine.body),
        ));
        // Forged: body changed, signature kept.
        let mut forged = genuine.clone();
        forged.body = body_text
            .replace("\"total_price\":\"", "\"total_price\":\"1")
            .into_bytes();
        forged.set_header("x-shopify-webhook-id", "forged-1");
        r.push((
            "forged",
            ch.verify_webhook(&forged.header_map(), &forged.body),
        ));
        // Signed with another secret.
        let mut other = sb.webhook_request("orders/create", json!({"id": 1}));
        other.set_header(
            "x-shopify-hmac-sha256",
            channel_shopify::sandbox::delivery::sign("guess", &other.body),
        );
        r.push((
            "wrong secret",
            ch.verify_webhook(&other.header_map(), &other.body),
        ));
        // Stale: triggered an hour ago.
        let mut stale = sb.webhook_request("orders/updated", json!({"id": id}));
        stale.set_header(
            "x-shopify-triggered-at",
            (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string(),
        );
        r.push(("stale", ch.verify_webhook(&stale.header_map(), &stale.body)));
        // Another shop that installed the same app (same secret, valid signature).
        let mut foreign = sb.webhook_request("orders/updated", json!({"id": id}));
        foreign.set_header("x-shopify-shop-domain", "someone-else.myshopify.com");
        r.push((
            "foreign shop",
            ch.verify_webhook(&foreign.header_map(), &foreign.body),
        ));
        // Oversized.
        let big =
            json!({"id": id, "note": "x".repeat(70 * 1024), "email": "alice.secret@example.com"});
        let big = sb.webhook_request("orders/updated", big);
        r.push(("oversized", ch.verify_webhook(&big.header_map(), &big.body)));
        // No signature at all.
        let mut unsigned = sb.webhook_request("orders/updated", json!({"id": id}));
        unsigned
            .headers
            .retain(|(k, _)| k != "x-shopify-hmac-sha256");
        r.push((
            "unsigned",
            ch.verify_webhook(&unsigned.header_map(), &unsigned.body),
        ));
        r
    });
    assert_eq!(results[0].1, Ok(()));
    for (what, r) in &results[1..] {
        assert!(r.is_err(), "{what} was accepted");
    }
    assert_eq!(results[2].1, Err(WebhookError::BadSignature));
    assert_eq!(results[3].1, Err(WebhookError::BadSignature));
    assert!(matches!(results[4].1, Err(WebhookError::Stale { .. })));
    assert!(matches!(results[6].1, Err(WebhookError::TooLarge { .. })));

    let log = String::from_utf8(capture.0.lock().clone()).unwrap();
    assert_eq!(log.matches("shopify webhook rejected").count(), 7, "{log}");
    assert!(log.contains("replayed webhook id"));
    assert!(log.contains("orders/create") && log.contains(&sb.shop_domain()));
    assert!(log.contains(genuine.header("x-shopify-webhook-id").unwrap()));
    for secret in [
        "alice.secret@example.com",
        token.as_str(),
        "203.0.113.7",
        "1 rue de la Paix",
        hmac.as_str(),
        sb.client_secret().as_str(),
        "xxxxxxxxxx",
    ] {
        assert!(!log.contains(secret), "the log shows {secret:?}:\n{log}");
    }
}

#[tokio::test]
async fn webhooks_delivered_by_the_shop_trigger_work() {
    use axum::body::Bytes;
    use axum::http::{HeaderMap, StatusCode};
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = Arc::new(channel(&sb));
    let got = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let (c2, g2) = (ch.clone(), got.clone());
    let app = axum::Router::new().route(
        "/webhooks/shopify-eu",
        axum::routing::post(move |h: HeaderMap, body: Bytes| {
            let (ch, got) = (c2.clone(), g2.clone());
            async move {
                if ch.verify_webhook(&h, &body).is_err() {
                    return StatusCode::UNAUTHORIZED;
                }
                match ch.parse_webhook(&h, &body) {
                    Ok(evs) => {
                        got.lock().extend(evs);
                        StatusCode::OK
                    }
                    Err(_) => StatusCode::BAD_REQUEST,
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/webhooks/shopify-eu",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    sb.set_webhook_url(Some(url));
    // The connector resolves SKU-0001 first, so inventory webhooks name it.
    ch.read_stock(&["SKU-0001".into()]).await.unwrap();
    let id = sb.create_order(order_spec(&[("SKU-0001", 1)])).unwrap();
    ch.cancel_order(&Cancellation {
        order_external_id: id.to_string(),
        lines: vec![],
        reason: CancelReason::BuyerRequest,
        reason_text: None,
        initiated_by: CancelInitiator::Buyer,
    })
    .await
    .unwrap();
    sb.uninstall();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let kinds: Vec<WebhookEventKind> = got.lock().iter().map(|e| e.kind.clone()).collect();
        let want = [
            WebhookEventKind::OrderChanged {
                external_id: id.to_string(),
            },
            WebhookEventKind::OrderCancelled {
                external_id: id.to_string(),
            },
            WebhookEventKind::InventoryChanged {
                sku: "SKU-0001".into(),
            },
            WebhookEventKind::Uninstalled,
        ];
        if want.iter().all(|w| kinds.contains(w)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "got {kinds:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        sb.deliveries().iter().all(|d| d.status == Some(200)),
        "{:?}",
        sb.deliveries()
    );
}

#[tokio::test]
async fn faults_are_classified_reads_retried_ambiguous_writes_reported_unknown() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let ch = channel(&sb);
    // A read through two 503s and an INTERNAL_SERVER_ERROR: retried, then it works.
    sb.inject_fault("VariantsBySku", Fault::Status { status: 503 }, 2);
    sb.inject_fault("VariantsBySku", Fault::InternalError, 1);
    assert_eq!(
        ch.read_stock(&["SKU-0001".into()]).await.unwrap()[0].quantity,
        50
    );
    // A write whose answer is lost after it was applied: Unknown (read back before resending),
    // never retried blindly.
    sb.inject_fault("SetAvailable", Fault::ApplyThen502, 1);
    let out = ch
        .push_stock(&[stock("SKU-0001", 44, 1, Some(50))])
        .await
        .unwrap();
    assert!(matches!(out[0], PushOutcome::Unknown { .. }), "{out:?}");
    assert_eq!(
        sb.counters().mutation("inventorySetQuantities"),
        1,
        "sent once"
    );
    assert_eq!(
        sb.available("SKU-0001"),
        Some(44),
        "it was applied: the daemon reads back"
    );
    // A GraphQL internal error on a write is ambiguous too.
    sb.inject_fault("SetAvailable", Fault::InternalError, 1);
    let out = ch
        .push_stock(&[stock("SKU-0001", 40, 2, Some(44))])
        .await
        .unwrap();
    assert!(matches!(out[0], PushOutcome::Unknown { .. }), "{out:?}");
    // A 503 on a write says it was not processed: Rejected{retryable}, not sent again here.
    sb.inject_fault("SetAvailable", Fault::Status { status: 503 }, 1);
    let out = ch
        .push_stock(&[stock("SKU-0001", 40, 3, Some(44))])
        .await
        .unwrap();
    assert!(
        matches!(
            out[0],
            PushOutcome::Rejected {
                retryable: true,
                ..
            }
        ),
        "{out:?}"
    );
    assert_eq!(sb.available("SKU-0001"), Some(44));
}

#[tokio::test]
async fn the_http_control_api_drives_the_shop() {
    let sb = shop(ThrottleConfig::STANDARD).await;
    let http = reqwest::Client::new();
    let r = http
        .post(format!("{}/_sandbox/orders", sb.url()))
        .json(&json!({"lines": [{"sku": "SKU-0002", "quantity": 2, "price": null, "discount": null, "tax_rate": null, "title": null}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let id = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_u64()
        .unwrap();
    assert_eq!(sb.order(id).unwrap().lines[0].quantity, 2);
    let r = http
        .post(format!("{}/_sandbox/inventory", sb.url()))
        .json(&json!({"sku": "SKU-0002", "available": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sb.available("SKU-0002"), Some(5));
    let r = http
        .post(format!("{}/_sandbox/payouts", sb.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let c: serde_json::Value = http
        .get(format!("{}/_sandbox/counters", sb.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(c["throttled"], 0);
    // The GraphQL endpoint refuses what is not in the schema, and other API versions.
    let bad = http
        .post(sb.graphql_url())
        .header("X-Shopify-Access-Token", sb.access_token())
        .json(&json!({"query": "{ shop { name doesNotExist } }"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert!(
        bad["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("doesNotExist"),
        "{bad}"
    );
    assert_eq!(sb.counters().invalid_documents, 1);
    let other = http
        .post(format!("{}/admin/api/2024-04/graphql.json", sb.url()))
        .header("X-Shopify-Access-Token", sb.access_token())
        .json(&json!({"query": "{ shop { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
    let anon = http
        .post(sb.graphql_url())
        .json(&json!({"query": "{ shop { name } }"}))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}
