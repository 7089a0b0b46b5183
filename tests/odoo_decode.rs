//! Hostile input never panics the decoders: arbitrary JSON (and arbitrary bytes for the wire
//! decoders) gives a value or an error, and every decode error names model and field.

use odoo_channels::odoo::decode::{self, Currency, Record, de};
use odoo_channels::odoo::transport::{self, Expect};
use odoo_channels::odoo::{Domain, M2o, Protocol, add_quants, normalise_group_row};
use odoo_wire::versions::GroupMethod;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal_macros::dec;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        prop_oneof![
            ".*",
            "[0-9]{4}-[0-9]{2}-[0-9]{2}( [0-9]{2}:[0-9]{2}:[0-9]{2})?",
        ]
        .prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::vec(
                (
                    prop_oneof![
                        Just("id".to_string()),
                        Just("product_id".to_string()),
                        Just("warehouse_id".to_string()),
                        Just("quantity".to_string()),
                        Just("reserved_quantity".to_string()),
                        Just("__count".to_string()),
                        "[a-z_]{1,8}"
                    ],
                    inner
                ),
                0..6
            )
            .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Row {
    id: i64,
    #[serde(deserialize_with = "de::opt_m2o")]
    product_id: Option<M2o>,
    #[serde(deserialize_with = "de::decimal")]
    quantity: Decimal,
    #[serde(deserialize_with = "de::opt_datetime")]
    write_date: Option<jiff::Timestamp>,
    #[serde(deserialize_with = "de::x2many")]
    tax_ids: Vec<i64>,
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn value_decoders_never_panic(v in any_json()) {
        let eur = Currency::new("EUR", dec!(0.01), 2);
        let _ = decode::m2o_from(&v);
        let _ = decode::x2many_from(&v);
        let _ = decode::string_from(&v);
        let _ = decode::int_from(&v);
        let _ = decode::decimal_from(&v);
        let _ = decode::money_from(&v, &eur);
        let _ = decode::datetime_from(&v);
        let _ = decode::date_from(&v);
        let _ = Domain::from_json(&v);
    }

    #[test]
    fn record_decoders_never_panic_and_name_the_field(v in any_json()) {
        let wrapped = json!([v.clone()]);
        for rows in [&v, &wrapped] {
            if let Err(e) = decode::from_rows::<Row>("sale.order.line", rows) {
                prop_assert_eq!(e.model.as_str(), "sale.order.line");
                prop_assert!(!e.field.is_empty());
            }
            if let Ok(recs) = Record::all("stock.quant", rows) {
                for r in recs {
                    for f in ["id", "product_id", "quantity", "write_date"] {
                        if let Err(e) = r.m2o(f).map(drop).and(r.quantity(f).map(drop)).and(r.datetime(f).map(drop)) {
                            prop_assert_eq!(e.field.as_str(), f);
                            prop_assert!(e.to_string().contains(f));
                        }
                    }
                    let _ = Currency::from_record(&r);
                }
                let mut totals = BTreeMap::new();
                let _ = add_quants(rows.as_array().map(Vec::as_slice).unwrap_or(&[]), &mut totals);
            }
            for method in [GroupMethod::ReadGroup, GroupMethod::FormattedReadGroup] {
                let _ = normalise_group_row("stock.quant", rows, &["product_id"], &["quantity"], method);
            }
        }
    }

    #[test]
    fn wire_decoders_never_panic_on_any_body(status in 100u16..600, body in prop::collection::vec(any::<u8>(), 0..300), v in any_json()) {
        let json_body = v.to_string().into_bytes();
        for b in [&body, &json_body] {
            for p in [Protocol::Json2, Protocol::JsonRpc, Protocol::XmlRpc] {
                for expect in [Expect::read("m", "x"), Expect::write("m", "y")] {
                    let _ = transport::decode_response(p, &expect, status, Some("application/json"), b);
                    let _ = transport::decode_response(p, &expect, status, None, b);
                }
            }
        }
    }

    #[test]
    fn xmlrpc_faults_of_any_shape_are_classified(code in any_json(), string in ".*") {
        let e = transport::classify_xmlrpc_fault(&code, &string);
        prop_assert!(!e.class().is_empty());
    }

    #[test]
    fn money_rounds_half_up_to_the_currency(cents in -10_000_000i64..10_000_000, extra in 0u8..10) {
        // x.yz5 always rounds away from zero, whatever its binary float looks like.
        let eur = Currency::new("EUR", dec!(0.01), 2);
        let text = format!("{}.{:02}{}", cents / 100, (cents % 100).abs(), extra);
        let text = if cents < 0 && cents > -100 { format!("-{}", text.trim_start_matches('-')) } else { text };
        let f: f64 = text.parse().unwrap();
        let exact: Decimal = text.parse().unwrap();
        let want = exact.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
        prop_assert_eq!(eur.amount(f), Some(want), "{}", text);
    }
}
