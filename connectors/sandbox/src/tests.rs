//! Unit tests: mapping (fixtures and property tests), webhook signatures, configuration.

use std::time::Duration;

use channels_core::webhook::{hmac_sha256, to_hex};
use channels_core::*;
use http::HeaderMap;
use jiff::Timestamp;
use proptest::prelude::*;
use rust_decimal_macros::dec;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::mapping::{map_order, map_return, map_settlement};
use crate::{SandboxConfig, webhooks};

fn chan() -> ChannelId {
    ChannelId::new("sbx").unwrap()
}

fn order_json() -> Value {
    json!({
        "id": "SBX-000001", "number": "#1001", "status": "unshipped",
        "created_at": "2025-03-01T10:00:00Z", "updated_at": "2025-03-01T10:05:00.123456Z",
        "currency": "EUR",
        "buyer": {"id": "B1", "name": "Marie Curie", "email": "m@example.test", "phone": null},
        "shipping_address": {"name": "Marie Curie", "line1": "1 rue Pierre", "line2": null, "city": "Paris",
                             "region": "IDF", "postal_code": "75005", "country": "fr", "phone": "+33 1"},
        "billing_address": null,
        "line_items": [
            {"id": "L1", "sku": "SKU-1", "title": "Mug", "quantity": 2, "unit_price": "12.50",
             "discount": "1.00", "tax": "4.80", "tax_collected_by": "marketplace", "total": "24.00"},
            {"id": "L2", "sku": null, "title": "Gift wrap", "quantity": 1, "unit_price": 3,
             "discount": "0", "tax": "0", "total": "3"}
        ],
        "shipping": {"price": "4.99", "tax": "0.00", "service_level": "two_day"},
        "fees": [{"type": "commission", "amount": "4.05"}],
        "total": "36.79",
        "ship_by": "2025-03-03T10:00:00Z", "deliver_by": null,
        "fulfillment": {"channel": "marketplace", "program": "SFN"},
        "is_business": true
    })
}

fn malformed_field(p: &Pulled<Order>) -> (Option<String>, String) {
    match p {
        Pulled::Malformed {
            external_id, error, ..
        } => (external_id.clone(), error.field.clone()),
        Pulled::Ok(_) => panic!("expected malformed"),
    }
}

#[test]
fn maps_a_complete_order() {
    let raw = order_json();
    let o = map_order(&chan(), &raw).into_ok().expect("maps");
    assert_eq!(o.external_id, "SBX-000001");
    assert_eq!(o.external_number.as_deref(), Some("#1001"));
    assert_eq!(o.status, OrderStatus::Unshipped);
    assert_eq!(o.currency, Currency::EUR);
    assert_eq!(o.lines.len(), 2);
    let l = &o.lines[0];
    assert_eq!(l.quantity, dec!(2));
    assert_eq!(l.unit_price, Money::new(dec!(12.50), Currency::EUR));
    assert_eq!(l.discounts[0].amount.amount, dec!(1.00));
    assert_eq!(l.taxes[0].collected_by, TaxCollector::Marketplace);
    assert_eq!(l.line_total.amount, dec!(24.00));
    assert_eq!(
        o.lines[1].sku, None,
        "a line without SKU is data, not an error"
    );
    assert_eq!(o.lines[1].unit_price.amount, dec!(3));
    assert_eq!(
        o.shipping_charge,
        Some(Money::new(dec!(4.99), Currency::EUR))
    );
    assert!(o.shipping_taxes.is_empty());
    assert_eq!(o.service_level, ServiceLevel::TwoDay);
    assert_eq!(
        o.fulfilled_by,
        FulfilledBy::Marketplace {
            program: "SFN".into()
        }
    );
    assert!(o.is_business);
    assert_eq!(o.fees_known_at_order_time[0].kind, FeeKind::Commission);
    assert_eq!(o.order_total.amount, dec!(36.79));
    assert_eq!(
        o.shipping_address.as_ref().unwrap().country_code.as_deref(),
        Some("FR")
    );
    assert!(
        o.shipping_address
            .as_ref()
            .unwrap()
            .missing_for_shipping()
            .is_empty()
    );
    assert_eq!(o.billing_address, None);
    assert_eq!(
        o.updated_at,
        "2025-03-01T10:05:00.123456Z".parse::<Timestamp>().unwrap()
    );
    assert_eq!(o.ship_by, Some("2025-03-03T10:00:00Z".parse().unwrap()));
    assert_eq!(o.raw, raw, "the payload is kept for replay");
    assert!(!o.needs_merchant_fulfilment(), "marketplace-fulfilled");
}

#[test]
fn audit_concerns_stay_data() {
    let mut raw = order_json();
    raw["currency"] = json!("XYZ");
    raw["shipping_address"] = Value::Null;
    raw["status"] = json!("on_hold_by_marketplace");
    raw["shipping"]["service_level"] = json!("drone");
    raw["line_items"][0]["sku"] = json!("NOT-IN-ODOO");
    raw["line_items"][0]["unit_price"] = json!("-5.00");
    let o = map_order(&chan(), &raw).into_ok().expect("still maps");
    assert!(!o.currency.is_known());
    assert!(o.shipping_address.is_none());
    assert_eq!(o.status, OrderStatus::Unknown);
    assert_eq!(o.raw_status, "on_hold_by_marketplace");
    assert_eq!(o.service_level, ServiceLevel::Unknown);
    assert_eq!(o.raw_service_level.as_deref(), Some("drone"));
    assert_eq!(o.lines[0].unit_price.amount, dec!(-5.00));

    let mut partial = order_json();
    partial["shipping_address"] = json!({"name": "X", "city": "  "});
    let o = map_order(&chan(), &partial).into_ok().unwrap();
    assert_eq!(
        o.shipping_address.unwrap().missing_for_shipping(),
        vec!["street", "city", "zip", "country_code"]
    );
}

#[test]
fn bad_payloads_are_malformed_with_record_and_field() {
    type Mutation = Box<dyn Fn(&mut Value)>;
    let cases: Vec<(Mutation, &str)> = vec![
        (
            Box::new(|v| v["line_items"][0]["unit_price"] = json!("12,50 EUR")),
            "line_items[0].unit_price",
        ),
        (
            Box::new(|v| {
                v["line_items"][1]
                    .as_object_mut()
                    .unwrap()
                    .remove("quantity");
            }),
            "line_items[1].quantity",
        ),
        (
            Box::new(|v| v["line_items"][0]["quantity"] = json!(-1)),
            "line_items[0].quantity",
        ),
        (
            Box::new(|v| v["line_items"][0]["quantity"] = json!("two")),
            "line_items[0].quantity",
        ),
        (
            Box::new(|v| v["created_at"] = json!("yesterday")),
            "created_at",
        ),
        (Box::new(|v| v["ship_by"] = json!(12)), "ship_by"),
        (Box::new(|v| v["currency"] = json!("dollars")), "currency"),
        (Box::new(|v| v["total"] = json!({"amount": 1})), "total"),
        (Box::new(|v| v["total"] = json!("1e400")), "total"),
        (
            Box::new(|v| v["line_items"] = json!({"0": {}})),
            "line_items",
        ),
        (
            Box::new(|v| v["line_items"][0] = json!("L1")),
            "line_items[0]",
        ),
        (Box::new(|v| v["buyer"] = json!(["x"])), "buyer"),
        (Box::new(|v| v["is_business"] = json!("yes")), "is_business"),
        (
            Box::new(|v| v["fees"][0]["amount"] = json!(null)),
            "fees[0].amount",
        ),
    ];
    for (mutate, field) in cases {
        let mut raw = order_json();
        mutate(&mut raw);
        let p = map_order(&chan(), &raw);
        let (id, f) = malformed_field(&p);
        assert_eq!(f, field);
        assert_eq!(id.as_deref(), Some("SBX-000001"));
        if let Pulled::Malformed {
            error, raw: kept, ..
        } = &p
        {
            assert_eq!(error.record, "order SBX-000001");
            assert_eq!(kept, &raw, "never dropped: the raw payload comes back");
        }
    }
    let p = map_order(&chan(), &json!([1, 2]));
    assert_eq!(malformed_field(&p), (None, "id".to_string()));
    let p = map_order(&chan(), &json!({"status": "unshipped"}));
    assert_eq!(malformed_field(&p), (None, "id".to_string()));
    let mut numeric = order_json();
    numeric["id"] = json!(820982911946154508u64);
    assert_eq!(
        map_order(&chan(), &numeric).into_ok().unwrap().external_id,
        "820982911946154508"
    );
}

#[test]
fn maps_returns_and_settlements() {
    let r = json!({"id": "RET-1", "order_id": "SBX-1", "status": "refunded", "currency": "USD",
        "lines": [{"line_id": "SBX-1-L1", "sku": "SKU-1", "quantity": 1, "reason": "damaged"}],
        "requested_at": "2025-03-02T00:00:00Z", "received_at": "2025-03-04T00:00:00Z",
        "updated_at": "2025-03-05T00:00:00Z", "refund": {"amount": "12.50", "currency": "USD"}});
    let m = map_return(&r).into_ok().unwrap();
    assert_eq!(m.status, ReturnStatus::Refunded);
    assert_eq!(m.refund, Some(Money::new(dec!(12.50), Currency::USD)));
    assert_eq!(m.lines[0].reason.as_deref(), Some("damaged"));
    let mut bad = r.clone();
    bad["lines"][0]["quantity"] = json!(-2);
    assert!(map_return(&bad).is_malformed());

    let s = json!({"id": "STL-1", "currency": "USD", "period_start": "2025-03-01T00:00:00Z",
    "period_end": "2025-03-15T00:00:00Z", "payout_date": "2025-03-17T00:00:00Z",
    "updated_at": "2025-03-15T00:00:00Z", "total": "80.45",
    "lines": [
      {"id": "STL-1-0001", "type": "sale", "order_id": "SBX-1", "amount": "100.00", "posted_at": "2025-03-15T00:00:00Z"},
      {"id": "STL-1-0002", "type": "fee", "fee_type": "commission", "order_id": "SBX-1", "amount": "-15.00"},
      {"id": "STL-1-0003", "type": "fee", "fee_type": "fulfillment", "order_id": "SBX-1", "amount": "-3.25"},
      {"id": "STL-1-0004", "type": "refund", "order_id": "SBX-1", "sku": "SKU-1", "amount": "-12.50"},
      {"id": "STL-1-0005", "type": "adjustment", "amount": "11.20"},
      {"id": "STL-1-0006", "type": "mystery", "amount": "0"}
    ]});
    let m = map_settlement(&s).into_ok().unwrap();
    assert_eq!(m.lines.len(), 6);
    assert_eq!(
        m.lines[1].kind,
        SettlementLineKind::Fee {
            fee: FeeKind::Commission
        }
    );
    assert_eq!(
        m.lines[2].kind,
        SettlementLineKind::Fee {
            fee: FeeKind::Fulfilment
        }
    );
    assert_eq!(
        m.lines[5].kind,
        SettlementLineKind::Other {
            raw: "mystery".into()
        }
    );
    assert!(m.is_balanced(), "{:?}", m.lines_total());
    let mut off = s.clone();
    off["total"] = json!("80.46");
    assert!(
        !map_settlement(&off).into_ok().unwrap().is_balanced(),
        "kept as data, flagged by audit"
    );
    let mut bad = s.clone();
    bad["lines"][3]["amount"] = json!("twelve");
    match map_settlement(&bad) {
        Pulled::Malformed { error, .. } => {
            assert_eq!(error.record, "settlement STL-1");
            assert_eq!(error.field, "lines[3].amount");
        }
        Pulled::Ok(_) => panic!("should be malformed"),
    }
}

// ------------------------------------------------------------------ property tests

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(Value::String),
        prop_oneof![
            Just("12.50"),
            Just("-1"),
            Just("1e30"),
            Just("2025-03-01T10:00:00Z"),
            Just("EUR"),
            Just("")
        ]
        .prop_map(|s| Value::String(s.to_string())),
    ];
    let key = prop_oneof![
        Just("id".to_string()),
        Just("status".to_string()),
        Just("currency".to_string()),
        Just("line_items".to_string()),
        Just("quantity".to_string()),
        Just("unit_price".to_string()),
        Just("total".to_string()),
        Just("created_at".to_string()),
        Just("updated_at".to_string()),
        Just("lines".to_string()),
        Just("amount".to_string()),
        Just("type".to_string()),
        "[a-z_]{1,8}",
    ];
    leaf.prop_recursive(4, 64, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every path to a value inside `v`.
fn paths(v: &Value, prefix: Vec<Value>, out: &mut Vec<Vec<Value>>) {
    out.push(prefix.clone());
    match v {
        Value::Object(m) => m.iter().for_each(|(k, x)| {
            let mut p = prefix.clone();
            p.push(json!(k));
            paths(x, p, out)
        }),
        Value::Array(a) => a.iter().enumerate().for_each(|(i, x)| {
            let mut p = prefix.clone();
            p.push(json!(i));
            paths(x, p, out)
        }),
        _ => {}
    }
}

fn set_at(v: &mut Value, path: &[Value], new: Value) {
    let mut cur = v;
    for p in path {
        cur = match p {
            Value::String(k) => &mut cur[k.as_str()],
            Value::Number(i) => &mut cur[i.as_u64().unwrap() as usize],
            _ => unreachable!(),
        };
    }
    *cur = new;
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary JSON never panics any mapper, and a malformed result always keeps the raw.
    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        for p in [map_order(&chan(), &v).map(|_| ()), map_return(&v).map(|_| ()), map_settlement(&v).map(|_| ())] {
            if let Pulled::Malformed { raw, error, .. } = p {
                prop_assert_eq!(&raw, &v);
                prop_assert!(!error.field.is_empty());
            }
        }
    }

    /// A valid order with any one value replaced by arbitrary JSON either still maps or is
    /// malformed naming the order (its id survives unless the id itself was replaced).
    #[test]
    fn one_bad_field_is_named(idx in any::<prop::sample::Index>(), new in arb_json()) {
        let base = order_json();
        let mut all = Vec::new();
        paths(&base, vec![], &mut all);
        let path = &all[idx.index(all.len())];
        let mut v = base.clone();
        set_at(&mut v, path, new);
        match map_order(&chan(), &v) {
            Pulled::Ok(o) => prop_assert_eq!(o.raw, v),
            Pulled::Malformed { external_id, error, .. } => {
                let id_touched = path.is_empty() || path[0] == json!("id");
                if !id_touched {
                    prop_assert_eq!(external_id.as_deref(), Some("SBX-000001"));
                    prop_assert_eq!(error.record, "order SBX-000001");
                }
            }
        }
    }
}

// ------------------------------------------------------------------ webhooks

const SECRET: &str = "whsec_test";

fn signed(body: &[u8], ts: i64, secret: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    let sig = to_hex(&hmac_sha256(
        secret.as_bytes(),
        &[ts.to_string().as_bytes(), b".", body],
    ));
    h.insert(webhooks::EVENT_ID, "evt_00000001".parse().unwrap());
    h.insert(webhooks::TOPIC, "order.created".parse().unwrap());
    h.insert(webhooks::TIMESTAMP, ts.to_string().parse().unwrap());
    h.insert(
        webhooks::SIGNATURE,
        format!("sha256={sig}").parse().unwrap(),
    );
    h
}

fn verify(h: &HeaderMap, body: &[u8], now: i64) -> Result<(), WebhookError> {
    webhooks::verify(
        h,
        body,
        &SecretString::from(SECRET.to_string()),
        Timestamp::from_second(now).unwrap(),
        Duration::from_secs(300),
        64 * 1024,
    )
}

const BODY: &[u8] = br#"{"id":"evt_00000001","topic":"order.created","created_at":"2025-03-01T10:00:00Z","data":{"order_id":"SBX-000001"}}"#;

#[test]
fn webhook_genuine_is_accepted_and_parsed() {
    let now = 1_740_823_200;
    let h = signed(BODY, now - 10, SECRET);
    verify(&h, BODY, now).unwrap();
    let evs = webhooks::parse(&h, BODY, Timestamp::from_second(now).unwrap()).unwrap();
    assert_eq!(evs.len(), 1);
    assert_eq!(evs[0].event_id, "evt_00000001");
    assert_eq!(
        evs[0].kind,
        WebhookEventKind::OrderChanged {
            external_id: "SBX-000001".into()
        }
    );
    assert_eq!(
        evs[0].occurred_at,
        Some("2025-03-01T10:00:00Z".parse().unwrap())
    );
}

#[test]
fn webhook_forged_replayed_oversized_truncated() {
    let now = 1_740_823_200;
    // Forged: signed with another secret.
    assert_eq!(
        verify(&signed(BODY, now, "guess"), BODY, now),
        Err(WebhookError::BadSignature)
    );
    // Tampered body under a genuine signature.
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("SBX-000001", "SBX-000002");
    assert_eq!(
        verify(&signed(BODY, now, SECRET), tampered.as_bytes(), now),
        Err(WebhookError::BadSignature)
    );
    // Replayed: a genuine delivery captured 10 minutes ago.
    assert!(matches!(
        verify(&signed(BODY, now - 600, SECRET), BODY, now),
        Err(WebhookError::Stale { .. })
    ));
    // Re-stamped replay: fresh timestamp header, old signature.
    let mut h = signed(BODY, now - 600, SECRET);
    h.insert(webhooks::TIMESTAMP, now.to_string().parse().unwrap());
    assert_eq!(verify(&h, BODY, now), Err(WebhookError::BadSignature));
    // Oversized.
    let big = vec![b' '; 64 * 1024 + 1];
    assert!(matches!(
        verify(&signed(&big, now, SECRET), &big, now),
        Err(WebhookError::TooLarge { .. })
    ));
    // Truncated body, truncated signature, missing prefix, missing headers.
    assert_eq!(
        verify(&signed(BODY, now, SECRET), &BODY[..BODY.len() - 1], now),
        Err(WebhookError::BadSignature)
    );
    let mut h = signed(BODY, now, SECRET);
    let sig = h
        .get(webhooks::SIGNATURE)
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    h.insert(webhooks::SIGNATURE, sig[..sig.len() - 2].parse().unwrap());
    assert_eq!(verify(&h, BODY, now), Err(WebhookError::BadSignature));
    h.insert(
        webhooks::SIGNATURE,
        sig.trim_start_matches("sha256=").parse().unwrap(),
    );
    assert_eq!(
        verify(&h, BODY, now),
        Err(WebhookError::InvalidHeader(webhooks::SIGNATURE))
    );
    let mut h = signed(BODY, now, SECRET);
    h.remove(webhooks::TIMESTAMP);
    assert_eq!(
        verify(&h, BODY, now),
        Err(WebhookError::MissingHeader(webhooks::TIMESTAMP))
    );
    let mut h = signed(BODY, now, SECRET);
    h.insert(webhooks::TIMESTAMP, "soon".parse().unwrap());
    assert_eq!(
        verify(&h, BODY, now),
        Err(WebhookError::InvalidHeader(webhooks::TIMESTAMP))
    );
}

#[test]
fn webhook_parse_refuses_spliced_or_incomplete_events() {
    let now = Timestamp::from_second(1_740_823_200).unwrap();
    let mut h = signed(BODY, 0, SECRET);
    h.insert(webhooks::EVENT_ID, "evt_other".parse().unwrap());
    assert!(matches!(
        webhooks::parse(&h, BODY, now),
        Err(WebhookError::Malformed(_))
    ));
    let h = signed(b"{}", 0, SECRET);
    assert!(matches!(
        webhooks::parse(&h, b"{\"data\":{}}", now),
        Err(WebhookError::Malformed(_))
    ));
    assert!(matches!(
        webhooks::parse(&h, b"not json", now),
        Err(WebhookError::Malformed(_))
    ));
    let mut h = signed(b"", 0, SECRET);
    h.insert(webhooks::TOPIC, "inventory.updated".parse().unwrap());
    let evs = webhooks::parse(&h, br#"{"data":{"sku":"SKU-1","quantity":3}}"#, now).unwrap();
    assert_eq!(
        evs[0].kind,
        WebhookEventKind::InventoryChanged {
            sku: "SKU-1".into()
        }
    );
    h.insert(webhooks::TOPIC, "something.else".parse().unwrap());
    assert_eq!(
        webhooks::parse(&h, b"{}", now).unwrap()[0].kind,
        WebhookEventKind::Other
    );
}

// ------------------------------------------------------------------ configuration

#[test]
fn config_validates_everything_at_once_and_hides_secrets() {
    let secrets =
        ConnectorSecrets::new().with("token", SecretString::from("tok_very_secret".to_string()));
    let cfg = SandboxConfig::from_parts(
        &json!({"base_url": "http://127.0.0.1:1", "page_size": 50}),
        &secrets,
    )
    .unwrap();
    assert_eq!(cfg.connection.page_size, 50);
    assert!(!format!("{cfg:?}").contains("tok_very_secret"));
    let e = SandboxConfig::from_parts(
        &json!({"base_url": "ftp://x", "page_size": 0, "rate_limits": {"orders.lst": {"rate_per_sec": 1.0, "burst": 1.0}}}),
        &secrets,
    )
    .unwrap_err();
    let ChannelError::Config(m) = e else { panic!() };
    assert!(
        m.contains("base_url") && m.contains("page_size") && m.contains("orders.lst"),
        "{m}"
    );
    let e = SandboxConfig::from_parts(&json!({"base_url": "http://x", "bogus": 1}), &secrets)
        .unwrap_err();
    assert!(matches!(e, ChannelError::Config(m) if m.contains("bogus")));
    let e = SandboxConfig::from_parts(&json!({"base_url": "http://x"}), &ConnectorSecrets::new())
        .unwrap_err();
    assert!(matches!(e, ChannelError::Config(m) if m.contains("token")));
}

#[test]
fn registry_builds_a_sandbox_channel() {
    let mut reg = Registry::new();
    reg.register(crate::factory()).unwrap();
    let secrets = ConnectorSecrets::new()
        .with("token", SecretString::from("t".to_string()))
        .with("webhook_secret", SecretString::from("w".to_string()));
    let ch = reg
        .build(
            chan(),
            &ChannelKind::Sandbox,
            &json!({"base_url": "http://127.0.0.1:9"}),
            &secrets,
        )
        .unwrap();
    assert_eq!(ch.kind(), ChannelKind::Sandbox);
    let caps = ch.capabilities();
    assert!(caps.stock_cas && caps.realtime_webhooks && !caps.async_bulk);
    assert!(caps.supports(Operation::PushStock) && !caps.supports(Operation::PollPending));
}
