//! Contract tests against the official Shopify Admin GraphQL schema 2025-01 in `../shared`
//! (skipped loudly when it is missing):
//! * the bundled schema subset is derived from the official SDL and faithful to it;
//! * every document the connector sends validates against the official schema;
//! * every request the sandbox received during a scenario that exercises every operation
//!   validates, and every response it returned has the shape the selection set and the
//!   official types promise.

use std::collections::BTreeSet;
use std::path::PathBuf;

use apollo_compiler::Schema;
use apollo_compiler::validation::Valid;
use channel_shopify::sandbox::{
    Address, Customer, NewLine, NewOrder, SandboxConfig, ShopifySandbox, ThrottleConfig, schema,
    shape,
};
use channel_shopify::{RefundRequest, ReturnReason, ReturnRequest, ShopifyChannel, documents};
use channels_core::{
    CancelInitiator, CancelReason, Cancellation, Carrier, Channel, ChannelId, Currency,
    ItemQuantity, Listing, Money, PageQuery, PriceUpdate, Shipment, StockUpdate,
};
use rust_decimal_macros::dec;
use serde_json::json;

fn full_schema() -> Option<Valid<Schema>> {
    let shared = odoo_wire::reference::require_shared(
        "channel-shopify: Shopify Admin GraphQL 2025-01 contract",
    )?;
    let path = shared.join(schema::SHARED_SDL);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Some(Schema::parse_and_validate(text, path).expect("the official SDL validates"))
}

#[test]
fn bundled_subset_is_derived_from_the_official_schema() {
    let Some(full) = full_schema() else { return };
    let texts: Vec<&str> = documents::ALL.iter().map(|d| d.text).collect();
    let generated = schema::subset_sdl(&full, &texts).expect("subset generates");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(schema::SUBSET_PATH);
    if std::env::var_os("SHOPIFY_SCHEMA_REGEN").is_some() {
        std::fs::write(&path, &generated).unwrap();
        eprintln!("regenerated {}", path.display());
        return;
    }
    let problems = schema::check_subset(&full, schema::bundled());
    assert!(
        problems.is_empty(),
        "bundled subset is not faithful:\n{}",
        problems.join("\n")
    );
    assert!(
        generated == schema::SUBSET_SDL,
        "{} is stale: regenerate with SHOPIFY_SCHEMA_REGEN=1 cargo test -p channel-shopify --test contract",
        schema::SUBSET_PATH
    );
}

#[test]
fn the_faithfulness_check_catches_a_drifted_subset() {
    let Some(full) = full_schema() else { return };
    let drifted = schema::SUBSET_SDL
        .replacen("currencyCode: CurrencyCode!", "currencyCode: String!", 1)
        .replacen(
            "enum OrderCancelReason {",
            "enum OrderCancelReason {\n  MADE_UP",
            1,
        );
    let s = Schema::parse_and_validate(drifted, "drifted.graphql").unwrap();
    let problems = schema::check_subset(&full, &s);
    assert!(
        problems.iter().any(|p| p.contains("currencyCode")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("MADE_UP")),
        "{problems:?}"
    );
}

#[test]
fn every_connector_document_validates_against_the_official_schema() {
    let Some(full) = full_schema() else { return };
    let mut names = BTreeSet::new();
    for d in documents::ALL {
        assert!(names.insert(d.name), "duplicate operation name {}", d.name);
        let doc = schema::validate_document(&full, d.text)
            .unwrap_or_else(|e| panic!("{} does not validate:\n{e}", d.name));
        let op = doc.operations.get(Some(d.name)).expect("named operation");
        assert_eq!(
            op.operation_type == apollo_compiler::executable::OperationType::Mutation,
            d.is_mutation,
            "{}",
            d.name
        );
        // And against the bundled subset the sandbox uses.
        schema::validate_document(schema::bundled(), d.text)
            .unwrap_or_else(|e| panic!("{} does not validate against the subset:\n{e}", d.name));
    }
}

fn eur(a: rust_decimal::Decimal) -> Money {
    Money::new(a, Currency::EUR)
}

/// Runs every connector operation against a recording sandbox.
async fn scenario() -> ShopifySandbox {
    let sb = ShopifySandbox::start(SandboxConfig {
        throttle: ThrottleConfig::PLUS,
        record_exchanges: true,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    sb.add_collection("shoes", "Shoes");
    let ch = ShopifyChannel::new(ChannelId::new("shop").unwrap(), sb.connector_config()).unwrap();
    let spec = |lines: &[(&str, i64)]| NewOrder {
        lines: lines
            .iter()
            .map(|(s, q)| NewLine {
                tax_rate: Some(dec!(0.2)),
                discount: Some((dec!(1), "WELCOME".into())),
                ..NewLine::sku(s, *q)
            })
            .collect(),
        customer: Some(Customer {
            first_name: Some("Jo".into()),
            email: Some("jo@example.com".into()),
            ..Customer::default()
        }),
        shipping_address: Some(Address {
            first_name: Some("Jo".into()),
            city: Some("Lyon".into()),
            country_code: Some("FR".into()),
            ..Address::default()
        }),
        shipping: Some(("Express".into(), dec!(9.9), Some(dec!(0.2)))),
        presentment: Some(("USD".into(), dec!(1.08))),
        ..NewOrder::default()
    };
    let many: Vec<(String, i64)> = (1..=10).map(|i| (format!("SKU-{i:04}"), 1)).collect();
    let refs: Vec<(&str, i64)> = many.iter().map(|(s, q)| (s.as_str(), *q)).collect();
    let mut with_many = spec(&refs);
    with_many.lines.push(NewLine::sku("CUSTOM", 1));
    with_many.lines.push(NewLine::sku("SKU-0001", 1));
    let a = sb.create_order(with_many).unwrap();
    let b = sb.create_order(spec(&[("SKU-0002", 2)])).unwrap();
    let c = sb.create_order(spec(&[("SKU-0003", 1)])).unwrap();

    let mut page = None;
    loop {
        let p = ch
            .pull_orders(&PageQuery {
                page: page.clone(),
                page_size: Some(2),
                ..PageQuery::default()
            })
            .await
            .unwrap();
        match p.next {
            Some(n) => page = Some(n),
            None => break,
        }
    }
    ch.get_order(&a.to_string()).await.unwrap();
    let _ = ch.get_order("424242").await;
    let su = |sku: &str, q: u32, e: Option<i64>| StockUpdate {
        sku: sku.into(),
        quantity: q,
        version: 1,
        expected: e,
        location: None,
    };
    ch.push_stock(&[
        su("SKU-0004", 7, Some(0)),
        su("SKU-0005", 3, None),
        su("NOPE", 1, None),
    ])
    .await
    .unwrap();
    ch.read_stock(&["SKU-0004".into()]).await.unwrap();
    ch.push_prices(&[PriceUpdate {
        sku: "SKU-0006".into(),
        price: eur(dec!(12.5)),
        compare_at: Some(eur(dec!(15))),
        version: 1,
    }])
    .await
    .unwrap();
    let mut attributes = std::collections::BTreeMap::new();
    attributes.insert("shopify_seo_title".into(), json!("SEO"));
    attributes.insert(
        "shopify_metafields_json".into(),
        json!(r#"[{"namespace":"custom","key":"fit","value":"slim"}]"#),
    );
    attributes.insert("shopify_collections".into(), json!("shoes"));
    let mut l = Listing {
        sku: "NEW-1".into(),
        version: 1,
        title: "New".into(),
        description: None,
        brand: None,
        barcode: None,
        weight: Some(channels_core::Weight {
            value: dec!(0.4),
            unit: channels_core::WeightUnit::Kg,
        }),
        images: vec!["https://cdn.example/new-1.jpg".into()],
        price: Some(eur(dec!(30))),
        compare_at: None,
        attributes,
    };
    ch.upsert_listing(&l).await.unwrap();
    l.version = 2;
    ch.upsert_listing(&l).await.unwrap();
    let line = sb.order(b).unwrap().lines[0].id.to_string();
    let ship = |o: u64, t: &str| Shipment {
        order_external_id: o.to_string(),
        lines: vec![],
        carrier: Carrier {
            code: "DHL".into(),
            name: None,
        },
        service: None,
        tracking_number: t.into(),
        tracking_url: None,
        shipped_at: jiff::Timestamp::now(),
    };
    ch.confirm_shipment(&ship(b, "T1")).await.unwrap();
    ch.confirm_shipment(&ship(b, "T1")).await.unwrap();
    ch.create_return(&ReturnRequest {
        order_external_id: b.to_string(),
        lines: vec![(
            ItemQuantity {
                external_line_id: line.clone(),
                sku: None,
                quantity: dec!(1),
            },
            ReturnReason::SizeTooSmall,
        )],
        key: "RMA1".into(),
    })
    .await
    .unwrap();
    ch.refund(&RefundRequest {
        order_external_id: b.to_string(),
        lines: vec![ItemQuantity {
            external_line_id: line,
            sku: None,
            quantity: dec!(1),
        }],
        restock: true,
        shipping: Some(eur(dec!(1))),
        amount: Some(eur(dec!(5))),
        note: "R1".into(),
        notify: false,
    })
    .await
    .unwrap();
    // A line that lost a unit: the order is read with its refund lines.
    ch.get_order(&b.to_string()).await.unwrap();
    ch.pull_returns(&PageQuery::default()).await.unwrap();
    let cancel = Cancellation {
        order_external_id: c.to_string(),
        lines: vec![],
        reason: CancelReason::BuyerRequest,
        reason_text: Some("changed mind".into()),
        initiated_by: CancelInitiator::Buyer,
    };
    ch.cancel_order(&cancel).await.unwrap();
    ch.cancel_order(&cancel).await.unwrap();
    sb.add_adjustment(dec!(2), "goodwill");
    sb.create_payout("PAID").unwrap();
    ch.pull_settlements(&PageQuery::default()).await.unwrap();
    sb
}

#[tokio::test]
async fn every_exchange_of_a_full_scenario_conforms_to_the_official_schema() {
    let Some(full) = full_schema() else { return };
    let sb = scenario().await;
    let exchanges = sb.exchanges();
    let mut operations = BTreeSet::new();
    let mut problems = Vec::new();
    for (i, ex) in exchanges.iter().enumerate() {
        if let Some(n) = &ex.operation_name {
            operations.insert(n.clone());
        }
        if schema::validate_document(&full, &ex.query).is_err() {
            problems.push(format!(
                "#{i} {:?}: request does not validate",
                ex.operation_name
            ));
        }
        for p in shape::check_response(
            &full,
            &ex.query,
            ex.operation_name.as_deref(),
            &ex.variables,
            &ex.response,
        ) {
            problems.push(format!("#{i} {:?}: {p}", ex.operation_name));
        }
        assert!(
            ex.response.get("errors").is_none(),
            "#{i} {:?} failed: {}",
            ex.operation_name,
            ex.response
        );
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let all: BTreeSet<String> = documents::ALL.iter().map(|d| d.name.to_string()).collect();
    let missing: Vec<&String> = all.difference(&operations).collect();
    assert!(missing.is_empty(), "the scenario never sent {missing:?}");
}

#[tokio::test]
async fn the_shape_check_catches_a_response_that_breaks_the_contract() {
    let Some(full) = full_schema() else { return };
    let sb = ShopifySandbox::start(SandboxConfig::default())
        .await
        .unwrap();
    let vars =
        json!({"query": "sku:\"SKU-0001\"", "first": 2, "locationId": sb.primary_location()});
    let good = sb.execute(documents::VARIANTS_BY_SKU.text, vars.clone());
    let check = |r: &serde_json::Value| {
        shape::check_response(&full, documents::VARIANTS_BY_SKU.text, None, &vars, r)
    };
    assert_eq!(check(&good), Vec::<String>::new());
    let mut bad = good.clone();
    bad["data"]["productVariants"]["nodes"][0]["price"] = json!(12.5);
    assert!(
        check(&bad).iter().any(|p| p.contains("price")),
        "{:?}",
        check(&bad)
    );
    let mut bad = good.clone();
    bad["data"]["productVariants"]["nodes"][0]
        .as_object_mut()
        .unwrap()
        .remove("sku");
    assert!(check(&bad).iter().any(|p| p.contains("sku: missing")));
    let mut bad = good.clone();
    bad["data"]["productVariants"]["nodes"][0]["extra"] = json!(1);
    assert!(check(&bad).iter().any(|p| p.contains("not selected")));
    let mut bad = good.clone();
    bad["data"]["productVariants"]["nodes"][0]["product"] = json!(null);
    assert!(check(&bad).iter().any(|p| p.contains("non-null")));
    let mut bad = good;
    bad.as_object_mut().unwrap().remove("extensions");
    assert!(!check(&bad).is_empty());
}
