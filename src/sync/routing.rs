//! Fulfilment routing (分配到仓库), carrier choice (物流商选择) and SLA priority.
//!
//! Pure: plain data in, a decision out; the order job reads the stock and writes the result
//! (`warehouse_id`, per-line routes, `carrier_id`, delivery priority). Property-tested.
//!
//! **Warehouses.** The first `[[orders.routes]]` rule whose filters (channel, destination
//! country, region) all match gives the candidate warehouses, most preferred first. The first
//! candidate that can ship the whole order from free stock gets it. Otherwise, if the rule
//! allows splitting, lines are spread over the candidates so that as few warehouses as possible
//! ship (greedy set cover, preference order breaking ties), each line whole from one warehouse;
//! what no candidate can cover stays where it fits best and is reported as a shortage, which
//! the audit holds when `check_stock` is on. Without a split the most preferred candidate that
//! can ship the most lines gets the order, shortages reported likewise.

use std::collections::HashMap;
use std::time::Duration;

use channels_core::ServiceLevel;
use jiff::Timestamp;
use rust_decimal::Decimal;

pub use crate::config::orders::{CarrierRule, CarrierStrategy, RouteRule};

/// Units of one line that no candidate warehouse can ship.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shortage {
    /// Index of the line in the order.
    pub line: usize,
    pub sku: String,
    pub wanted: Decimal,
    /// The most any single candidate has free.
    pub available: Decimal,
}

/// Where an order goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination<'a> {
    pub channel: &'a str,
    pub country: Option<&'a str>,
    pub region: Option<&'a str>,
}

/// The candidate warehouses for an order and whether it may be split, from the first matching
/// rule; no rule matching: `default` (every usable warehouse) without split.
pub fn candidates<'a>(
    rules: &'a [RouteRule],
    to: &Destination<'_>,
    default: &'a [String],
) -> (&'a [String], bool) {
    let eq = |list: &[String], v: Option<&str>| {
        list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x.eq_ignore_ascii_case(v.trim())))
    };
    for r in rules {
        if (r.channels.is_empty() || r.channels.iter().any(|c| c == to.channel))
            && eq(&r.countries, to.country)
            && eq(&r.regions, to.region)
        {
            return (&r.warehouses, r.split);
        }
    }
    (default, false)
}

/// One line to route: a product and how many units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteLine {
    pub product: i64,
    pub sku: String,
    pub quantity: Decimal,
}

/// Free stock per (candidate index, product).
#[derive(Debug, Clone, Default)]
pub struct FreeStock {
    free: HashMap<(usize, i64), Decimal>,
}

impl FreeStock {
    pub fn set(&mut self, warehouse: usize, product: i64, free: Decimal) {
        self.free.insert((warehouse, product), free);
    }
    pub fn get(&self, warehouse: usize, product: i64) -> Decimal {
        self.free
            .get(&(warehouse, product))
            .copied()
            .unwrap_or_default()
    }
    /// Take units (an earlier order of the same batch consumed them).
    pub fn take(&mut self, warehouse: usize, product: i64, qty: Decimal) {
        let e = self.free.entry((warehouse, product)).or_default();
        *e -= qty;
    }
}

/// The routing decision: a warehouse per line (indexes into the candidates), the order's
/// main warehouse (the one shipping the most lines), and shortages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub primary: usize,
    pub per_line: Vec<usize>,
    pub shortages: Vec<Shortage>,
}

impl Plan {
    /// Lines leave from more than one warehouse.
    pub fn is_split(&self) -> bool {
        self.per_line.iter().any(|w| *w != self.primary)
    }
}

/// Route `lines` over `n` candidates (`n ≥ 1`) with `stock` free per candidate.
pub fn plan(lines: &[RouteLine], n: usize, stock: &FreeStock, split: bool) -> Plan {
    let n = n.max(1);
    // Units wanted per product (a product may appear on several lines).
    let mut wanted: HashMap<i64, Decimal> = HashMap::new();
    for l in lines {
        *wanted.entry(l.product).or_default() += l.quantity;
    }
    let whole = |w: usize| wanted.iter().all(|(p, q)| stock.get(w, *p) >= *q);
    if let Some(w) = (0..n).find(|&w| whole(w)) {
        return Plan {
            primary: w,
            per_line: vec![w; lines.len()],
            shortages: vec![],
        };
    }
    // A line fits a warehouse when it has the units for it (lines of the same product counted
    // together, so a split never promises the same units twice).
    let fits = |w: usize, l: &RouteLine| stock.get(w, l.product) >= wanted[&l.product];
    let best_single = |l: &RouteLine| {
        (0..n)
            .max_by(|&a, &b| {
                stock
                    .get(a, l.product)
                    .cmp(&stock.get(b, l.product))
                    .then(b.cmp(&a))
            })
            .unwrap_or(0)
    };
    let shortage = |i: usize, l: &RouteLine| {
        let available = (0..n)
            .map(|w| stock.get(w, l.product))
            .max()
            .unwrap_or_default();
        Shortage {
            line: i,
            sku: l.sku.clone(),
            wanted: wanted[&l.product],
            available,
        }
    };
    if !split {
        // The preferred candidate that covers the most lines.
        let covered = |w: usize| lines.iter().filter(|l| fits(w, l)).count();
        let w = (0..n)
            .max_by(|&a, &b| covered(a).cmp(&covered(b)).then(b.cmp(&a)))
            .unwrap_or(0);
        let shortages = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| !fits(w, l))
            .map(|(i, l)| shortage(i, l))
            .collect();
        return Plan {
            primary: w,
            per_line: vec![w; lines.len()],
            shortages,
        };
    }
    // Greedy set cover: repeatedly take the warehouse covering most unassigned lines.
    let mut per_line: Vec<Option<usize>> = vec![None; lines.len()];
    loop {
        let gain = |w: usize| {
            lines
                .iter()
                .enumerate()
                .filter(|(i, l)| per_line[*i].is_none() && fits(w, l))
                .count()
        };
        let Some(w) = (0..n)
            .filter(|&w| gain(w) > 0)
            .max_by(|&a, &b| gain(a).cmp(&gain(b)).then(b.cmp(&a)))
        else {
            break;
        };
        for (i, l) in lines.iter().enumerate() {
            if per_line[i].is_none() && fits(w, l) {
                per_line[i] = Some(w);
            }
        }
    }
    let mut shortages = Vec::new();
    let per_line: Vec<usize> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| match per_line[i] {
            Some(w) => w,
            None => {
                shortages.push(shortage(i, l));
                best_single(l)
            }
        })
        .collect();
    let mut count: HashMap<usize, usize> = HashMap::new();
    for w in &per_line {
        *count.entry(*w).or_default() += 1;
    }
    let primary = count
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(w, _)| *w)
        .unwrap_or(0);
    Plan {
        primary,
        per_line,
        shortages,
    }
}

/// Whether the delivery goes first: a service level the merchant ships first, or a ship-by
/// deadline closer than `within`.
pub fn is_urgent(
    level: ServiceLevel,
    ship_by: Option<Timestamp>,
    now: Timestamp,
    urgent_levels: &[ServiceLevel],
    within: Duration,
) -> bool {
    if urgent_levels.contains(&level) {
        return true;
    }
    match ship_by {
        Some(t) if !within.is_zero() => {
            let within =
                jiff::SignedDuration::try_from(within).unwrap_or(jiff::SignedDuration::MAX);
            t.duration_since(now) <= within
        }
        _ => false,
    }
}

/// How fast a service level promises delivery, in days (for "at least as fast as").
fn promised_days(level: ServiceLevel) -> Option<u32> {
    match level {
        ServiceLevel::SameDay => Some(0),
        ServiceLevel::NextDay => Some(1),
        ServiceLevel::TwoDay | ServiceLevel::Prime => Some(2),
        ServiceLevel::Expedited => Some(3),
        ServiceLevel::Standard | ServiceLevel::Scheduled => Some(5),
        ServiceLevel::Economy => Some(8),
        ServiceLevel::Pickup | ServiceLevel::Unknown => None,
    }
}

/// What a carrier is chosen for.
#[derive(Debug, Clone, PartialEq)]
pub struct Shipment<'a> {
    pub level: ServiceLevel,
    pub country: Option<&'a str>,
    /// Total weight in kg (`None`: unknown, weight limits not checked).
    pub weight: Option<Decimal>,
}

/// The carrier for a shipment: among carriers serving the destination and weight (and the
/// service level, when they list levels), by `strategy`; ties go to the earlier rule.
/// `service_level` keeps only carriers at least as fast as the level promises and picks the
/// cheapest of them; when none is, the fastest that serves the order.
pub fn choose_carrier<'a>(
    carriers: &'a [CarrierRule],
    strategy: CarrierStrategy,
    s: &Shipment<'_>,
) -> Option<&'a CarrierRule> {
    let serves = |c: &CarrierRule| {
        (c.countries.is_empty()
            || s.country
                .is_some_and(|k| c.countries.iter().any(|x| x.eq_ignore_ascii_case(k))))
            && match (c.max_weight, s.weight) {
                (Some(max), Some(w)) => w <= max,
                _ => true,
            }
    };
    // A level the marketplace did not state restricts nothing.
    let offers_level = |c: &CarrierRule| {
        s.level == ServiceLevel::Unknown
            || c.service_levels.is_empty()
            || c.service_levels.contains(&s.level)
    };
    let usable: Vec<(usize, &CarrierRule)> = carriers
        .iter()
        .enumerate()
        .filter(|(_, c)| serves(c))
        .collect();
    let cheapest = |set: &[(usize, &'a CarrierRule)]| {
        set.iter()
            .min_by(|a, b| a.1.cost.cmp(&b.1.cost).then(a.0.cmp(&b.0)))
            .map(|(_, c)| *c)
    };
    let fastest = |set: &[(usize, &'a CarrierRule)]| {
        set.iter()
            .min_by(|a, b| {
                a.1.transit_days
                    .cmp(&b.1.transit_days)
                    .then(a.1.cost.cmp(&b.1.cost))
                    .then(a.0.cmp(&b.0))
            })
            .map(|(_, c)| *c)
    };
    let with_level: Vec<(usize, &CarrierRule)> = usable
        .iter()
        .copied()
        .filter(|(_, c)| offers_level(c))
        .collect();
    match strategy {
        CarrierStrategy::Cheapest => cheapest(&with_level).or_else(|| cheapest(&usable)),
        CarrierStrategy::Fastest => fastest(&with_level).or_else(|| fastest(&usable)),
        CarrierStrategy::ServiceLevel => {
            let fast_enough: Vec<(usize, &CarrierRule)> = match promised_days(s.level) {
                Some(days) => usable
                    .iter()
                    .copied()
                    .filter(|(_, c)| c.transit_days <= days)
                    .collect(),
                None => with_level.clone(),
            };
            let named: Vec<(usize, &CarrierRule)> = fast_enough
                .iter()
                .copied()
                .filter(|(_, c)| offers_level(c))
                .collect();
            cheapest(&named)
                .or_else(|| cheapest(&fast_enough))
                .or_else(|| fastest(&with_level))
                .or_else(|| fastest(&usable))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn rule(channels: &[&str], countries: &[&str], whs: &[&str], split: bool) -> RouteRule {
        RouteRule {
            channels: channels.iter().map(|s| s.to_string()).collect(),
            countries: countries.iter().map(|s| s.to_string()).collect(),
            regions: vec![],
            warehouses: whs.iter().map(|s| s.to_string()).collect(),
            split,
        }
    }

    fn line(product: i64, qty: i64) -> RouteLine {
        RouteLine {
            product,
            sku: format!("P{product}"),
            quantity: Decimal::from(qty),
        }
    }

    fn stock(rows: &[(usize, i64, i64)]) -> FreeStock {
        let mut s = FreeStock::default();
        for (w, p, q) in rows {
            s.set(*w, *p, Decimal::from(*q));
        }
        s
    }

    #[test]
    fn the_first_matching_rule_gives_the_candidates() {
        let rules = vec![
            rule(&["amz"], &[], &["FBM"], false),
            rule(&[], &["US"], &["WH2", "WH"], true),
        ];
        let default = vec!["WH".to_string()];
        let to = |c, k| Destination {
            channel: c,
            country: k,
            region: None,
        };
        assert_eq!(
            candidates(&rules, &to("amz", Some("US")), &default).0,
            ["FBM"]
        );
        let (c, split) = candidates(&rules, &to("shop", Some("us")), &default);
        assert_eq!(
            (c, split),
            (&["WH2".to_string(), "WH".to_string()][..], true)
        );
        assert_eq!(
            candidates(&rules, &to("shop", Some("FR")), &default).0,
            ["WH"]
        );
        assert_eq!(candidates(&rules, &to("shop", None), &default).0, ["WH"]);
    }

    #[test]
    fn the_preferred_warehouse_that_can_ship_everything_wins() {
        let s = stock(&[(0, 1, 5), (1, 1, 5), (1, 2, 5)]);
        let p = plan(&[line(1, 2), line(2, 1)], 2, &s, true);
        assert_eq!(p.per_line, vec![1, 1]);
        assert_eq!(p.primary, 1);
        assert!(p.shortages.is_empty() && !p.is_split());
    }

    #[test]
    fn a_split_covers_what_no_single_warehouse_can() {
        let s = stock(&[(0, 1, 5), (1, 2, 5)]);
        let p = plan(&[line(1, 2), line(2, 1)], 2, &s, true);
        assert_eq!(p.per_line, vec![0, 1]);
        assert!(p.is_split() && p.shortages.is_empty());
        // Without permission to split: one warehouse, the missing line reported.
        let p = plan(&[line(1, 2), line(2, 1)], 2, &s, false);
        assert_eq!(p.per_line, vec![0, 0]);
        assert_eq!(p.shortages.len(), 1);
        assert_eq!(p.shortages[0].sku, "P2");
        assert_eq!(p.shortages[0].available, dec!(5));
    }

    #[test]
    fn units_of_one_product_on_two_lines_are_counted_together() {
        let s = stock(&[(0, 1, 3)]);
        let p = plan(&[line(1, 2), line(1, 2)], 1, &s, true);
        assert_eq!(p.shortages.len(), 2);
        assert_eq!(p.shortages[0].wanted, dec!(4));
    }

    #[test]
    fn urgency_by_level_or_deadline() {
        let now = Timestamp::from_second(1_700_000_000).unwrap();
        let levels = [ServiceLevel::Prime, ServiceLevel::NextDay];
        let day = Duration::from_secs(86_400);
        assert!(is_urgent(ServiceLevel::Prime, None, now, &levels, day));
        assert!(!is_urgent(ServiceLevel::Standard, None, now, &levels, day));
        let soon = now + jiff::SignedDuration::from_hours(5);
        let later = now + jiff::SignedDuration::from_hours(48);
        assert!(is_urgent(
            ServiceLevel::Standard,
            Some(soon),
            now,
            &levels,
            day
        ));
        assert!(!is_urgent(
            ServiceLevel::Standard,
            Some(later),
            now,
            &levels,
            day
        ));
        assert!(!is_urgent(
            ServiceLevel::Standard,
            Some(soon),
            now,
            &levels,
            Duration::ZERO
        ));
    }

    fn carrier(name: &str, levels: &[ServiceLevel], cost: Decimal, days: u32) -> CarrierRule {
        CarrierRule {
            name: name.into(),
            service_levels: levels.to_vec(),
            countries: vec![],
            max_weight: None,
            cost,
            transit_days: days,
        }
    }

    #[test]
    fn carriers_by_strategy() {
        let mut express = carrier(
            "Express",
            &[ServiceLevel::NextDay, ServiceLevel::TwoDay],
            dec!(15),
            1,
        );
        express.countries = vec!["US".into()];
        express.max_weight = Some(dec!(30));
        let cs = vec![
            carrier(
                "Post",
                &[ServiceLevel::Standard, ServiceLevel::Economy],
                dec!(4),
                5,
            ),
            carrier("Courier", &[], dec!(9), 2),
            express,
        ];
        let ship = |level, country, weight| Shipment {
            level,
            country,
            weight,
        };
        let name = |c: Option<&CarrierRule>| c.map(|c| c.name.clone());
        let sl = CarrierStrategy::ServiceLevel;
        // What the buyer paid for: standard → the post; two-day → the cheapest fast enough
        // (the courier, 2 days, cheaper than express).
        assert_eq!(
            name(choose_carrier(
                &cs,
                sl,
                &ship(ServiceLevel::Standard, Some("US"), None)
            ))
            .as_deref(),
            Some("Post")
        );
        assert_eq!(
            name(choose_carrier(
                &cs,
                sl,
                &ship(ServiceLevel::TwoDay, Some("US"), None)
            ))
            .as_deref(),
            Some("Courier")
        );
        assert_eq!(
            name(choose_carrier(
                &cs,
                sl,
                &ship(ServiceLevel::TwoDay, Some("FR"), None)
            ))
            .as_deref(),
            Some("Courier")
        );
        // Too heavy for Express.
        assert_eq!(
            name(choose_carrier(
                &cs,
                sl,
                &ship(ServiceLevel::NextDay, Some("US"), Some(dec!(40)))
            ))
            .as_deref(),
            Some("Courier")
        );
        // Next day: only Express is fast enough.
        assert_eq!(
            name(choose_carrier(
                &cs,
                sl,
                &ship(ServiceLevel::NextDay, Some("US"), Some(dec!(2)))
            ))
            .as_deref(),
            Some("Express")
        );
        assert_eq!(
            name(choose_carrier(
                &cs,
                CarrierStrategy::Cheapest,
                &ship(ServiceLevel::Unknown, None, None)
            ))
            .as_deref(),
            Some("Post")
        );
        assert_eq!(
            name(choose_carrier(
                &cs,
                CarrierStrategy::Fastest,
                &ship(ServiceLevel::Unknown, Some("US"), None)
            ))
            .as_deref(),
            Some("Express")
        );
        assert_eq!(
            choose_carrier(&[], sl, &ship(ServiceLevel::Standard, None, None)),
            None
        );
    }

    proptest! {
        /// Whatever the stock: every line is routed to a candidate; a line routed without a
        /// shortage has its units there; when one warehouse can ship everything the plan is not
        /// split; without split permission the plan never is; with it, shortages only remain
        /// for lines that no single candidate can cover.
        #[test]
        fn plans_are_sound(
            n in 1usize..4,
            lines in proptest::collection::vec((1i64..5, 1i64..6), 1..6),
            free in proptest::collection::vec((0usize..4, 1i64..5, 0i64..12), 0..20),
            split in any::<bool>(),
        ) {
            let lines: Vec<RouteLine> = lines.into_iter().map(|(p, q)| line(p, q)).collect();
            let mut s = FreeStock::default();
            for (w, p, q) in free { if w < n { s.set(w, p, Decimal::from(q)); } }
            let plan = plan(&lines, n, &s, split);
            prop_assert_eq!(plan.per_line.len(), lines.len());
            prop_assert!(plan.per_line.iter().all(|w| *w < n) && plan.primary < n);
            let mut wanted: HashMap<i64, Decimal> = HashMap::new();
            for l in &lines { *wanted.entry(l.product).or_default() += l.quantity; }
            let short: Vec<usize> = plan.shortages.iter().map(|s| s.line).collect();
            for (i, l) in lines.iter().enumerate() {
                if !short.contains(&i) {
                    prop_assert!(s.get(plan.per_line[i], l.product) >= wanted[&l.product]);
                }
            }
            let whole = (0..n).any(|w| wanted.iter().all(|(p, q)| s.get(w, *p) >= *q));
            if whole { prop_assert!(!plan.is_split() && plan.shortages.is_empty()); }
            if !split { prop_assert!(!plan.is_split()); }
            if split {
                for sh in &plan.shortages {
                    let l = &lines[sh.line];
                    prop_assert!((0..n).all(|w| s.get(w, l.product) < wanted[&l.product]));
                }
            }
        }

        /// The chosen carrier always serves the destination and weight.
        #[test]
        fn carriers_always_serve_the_shipment(
            specs in proptest::collection::vec((0u8..3, 0u32..6, 1i64..50, proptest::option::of(1i64..40)), 0..6),
            level in 0usize..7, country in 0usize..3, weight in proptest::option::of(0i64..60),
            strategy in 0usize..3,
        ) {
            let levels = [ServiceLevel::Economy, ServiceLevel::Standard, ServiceLevel::TwoDay, ServiceLevel::NextDay, ServiceLevel::SameDay, ServiceLevel::Prime, ServiceLevel::Unknown];
            let countries = ["US", "FR", "DE"];
            let cs: Vec<CarrierRule> = specs.iter().enumerate().map(|(i, (k, days, cost, maxw))| CarrierRule {
                name: format!("C{i}"),
                service_levels: vec![levels[*k as usize]],
                countries: if *k == 0 { vec![] } else { vec![countries[*k as usize].into()] },
                max_weight: maxw.map(Decimal::from),
                cost: Decimal::from(*cost),
                transit_days: *days,
            }).collect();
            let strategy = [CarrierStrategy::Cheapest, CarrierStrategy::Fastest, CarrierStrategy::ServiceLevel][strategy];
            let s = Shipment { level: levels[level], country: Some(countries[country]), weight: weight.map(Decimal::from) };
            if let Some(c) = choose_carrier(&cs, strategy, &s) {
                prop_assert!(c.countries.is_empty() || c.countries.iter().any(|k| k == countries[country]));
                if let (Some(m), Some(w)) = (c.max_weight, s.weight) { prop_assert!(w <= m); }
            } else {
                prop_assert!(cs.iter().all(|c| !(c.countries.is_empty() || c.countries.iter().any(|k| k == countries[country])) || matches!((c.max_weight, s.weight), (Some(m), Some(w)) if w > m)));
            }
        }
    }
}
