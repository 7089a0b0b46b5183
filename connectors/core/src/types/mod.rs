//! Normalised records: what every connector maps its marketplace's JSON into, and what the
//! daemon's sync jobs consume. Marketplace quirks stop at the connector; these types carry the
//! union of what the daemon needs from Shopify, Amazon, eBay, Walmart, TikTok Shop and Etsy.
//!
//! Conventions:
//! * Money is [`Money`](crate::Money) (Decimal + currency); quantities of goods are `Decimal`
//!   (marketplaces sell by the unit, but Odoo quantities are decimal and some channels sell by
//!   weight); stock pushed to a channel is a whole number.
//! * Anything a marketplace may omit is an `Option`: a missing address field or a line without
//!   SKU is *data* that the order audit flags, not a mapping failure.
//! * Every pulled record keeps `raw`, the marketplace payload, so an import can be replayed.

mod catalog;
mod finance;
mod fulfilment;
mod order;

pub use catalog::*;
pub use finance::*;
pub use fulfilment::*;
pub use order::*;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChannelId, Currency, Money, Pulled};
    use rust_decimal_macros::dec;
    use std::collections::BTreeMap;

    fn usd(a: rust_decimal::Decimal) -> Money {
        Money::new(a, Currency::USD)
    }

    pub(crate) fn sample_order() -> Order {
        Order {
            channel: ChannelId::new("amazon_us").unwrap(),
            external_id: "114-1234567-1234567".into(),
            external_number: None,
            status: OrderStatus::Unshipped,
            raw_status: "Unshipped".into(),
            buyer: Buyer {
                email: Some("x@marketplace.example".into()),
                ..Buyer::default()
            },
            billing_address: None,
            shipping_address: Some(Address {
                city: Some("Seattle".into()),
                ..Address::default()
            }),
            lines: vec![OrderLine {
                external_line_id: "1".into(),
                sku: Some("SKU-1".into()),
                title: None,
                quantity: dec!(2),
                quantity_cancelled: dec!(0),
                unit_price: usd(dec!(10.00)),
                discounts: vec![Discount {
                    amount: usd(dec!(1)),
                    code: Some("SPRING".into()),
                    description: None,
                }],
                taxes: vec![TaxLine {
                    amount: usd(dec!(1.52)),
                    rate: Some(dec!(0.08)),
                    title: None,
                    collected_by: TaxCollector::Marketplace,
                }],
                line_total: usd(dec!(19.00)),
            }],
            shipping_charge: Some(usd(dec!(4.99))),
            shipping_taxes: vec![],
            order_total: usd(dec!(25.51)),
            fees_known_at_order_time: vec![Fee {
                kind: FeeKind::Other("closing".into()),
                amount: usd(dec!(1.8)),
                description: None,
            }],
            currency: Currency::USD,
            created_at: "2025-01-01T00:00:00Z".parse().unwrap(),
            updated_at: "2025-01-01T00:00:01.5Z".parse().unwrap(),
            ship_by: Some("2025-01-03T00:00:00Z".parse().unwrap()),
            deliver_by: None,
            service_level: ServiceLevel::Prime,
            raw_service_level: Some("SecondDay".into()),
            fulfilled_by: FulfilledBy::Marketplace {
                program: "FBA".into(),
            },
            is_business: false,
            buyer_cancel_request: None,
            raw: serde_json::json!({"AmazonOrderId": "114-1234567-1234567"}),
        }
    }

    fn round_trip<
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    >(
        t: &T,
    ) {
        let v = serde_json::to_value(t).expect("serialises");
        let back: T = serde_json::from_value(v.clone()).unwrap_or_else(|e| panic!("{e}: {v}"));
        assert_eq!(&back, t);
    }

    #[test]
    fn records_round_trip_through_json() {
        let o = sample_order();
        round_trip(&o);
        round_trip(&Pulled::Ok(o.clone()));
        round_trip(&FulfilledBy::Merchant);
        let usd1 = usd(dec!(1));
        for out in [
            PushOutcome::Applied {
                sku: "A".into(),
                version: 1,
                channel_value: ChannelValue::Quantity { quantity: -2 },
            },
            PushOutcome::Pending {
                sku: "A".into(),
                version: 2,
                handle: PendingHandle("feed-1".into()),
            },
            PushOutcome::Conflict {
                sku: "A".into(),
                version: 3,
                current: None,
            },
            PushOutcome::Rejected {
                sku: "A".into(),
                version: 4,
                reason: "r".into(),
                code: None,
                retryable: true,
            },
            PushOutcome::Unknown {
                sku: "A".into(),
                version: 5,
                reason: "timeout".into(),
            },
            PushOutcome::Applied {
                sku: "A".into(),
                version: 6,
                channel_value: ChannelValue::Price {
                    price: usd1,
                    compare_at: Some(usd1),
                },
            },
        ] {
            round_trip(&out);
        }
        let s = Settlement {
            external_id: "S".into(),
            period_start: "2025-01-01T00:00:00Z".parse().unwrap(),
            period_end: "2025-01-15T00:00:00Z".parse().unwrap(),
            payout_date: None,
            currency: Currency::USD,
            total: usd(dec!(8.5)),
            lines: [
                SettlementLineKind::Sale,
                SettlementLineKind::Fee {
                    fee: FeeKind::Commission,
                },
                SettlementLineKind::Fee {
                    fee: FeeKind::Other("closing".into()),
                },
                SettlementLineKind::Other { raw: "x".into() },
            ]
            .into_iter()
            .enumerate()
            .map(|(i, kind)| SettlementLine {
                external_line_id: i.to_string(),
                order_external_id: None,
                kind,
                sku: None,
                amount: usd(if i == 0 { dec!(10) } else { dec!(-0.5) }),
                description: None,
                posted_at: None,
            })
            .collect(),
            updated_at: "2025-01-15T00:00:00Z".parse().unwrap(),
            raw: serde_json::Value::Null,
        };
        round_trip(&s);
        assert!(s.is_balanced());
        round_trip(&Listing {
            sku: "A".into(),
            version: 1,
            title: "t".into(),
            description: None,
            brand: None,
            barcode: None,
            weight: Some(Weight {
                value: dec!(0.5),
                unit: WeightUnit::Kg,
            }),
            images: vec![],
            price: Some(usd1),
            compare_at: None,
            attributes: BTreeMap::from([("bullet_points".into(), serde_json::json!(["a", "b"]))]),
        });
    }

    #[test]
    fn order_helpers() {
        let mut o = sample_order();
        assert_eq!(o.binding_key(), "amazon_us:114-1234567-1234567");
        assert!(!o.needs_merchant_fulfilment(), "FBA");
        o.fulfilled_by = FulfilledBy::Merchant;
        assert!(o.needs_merchant_fulfilment());
        assert_eq!(
            o.shipping_address.unwrap().missing_for_shipping(),
            vec!["name", "street", "zip", "country_code"]
        );
        assert!(ServiceLevel::NextDay.urgency() > ServiceLevel::Standard.urgency());
    }
}
