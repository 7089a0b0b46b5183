//! The policies compared: what quantity the daemon pushes to each channel for a SKU.
//!
//! A policy is anything implementing [`Policy`]: the engine asks it for every channel's offer
//! whenever the daemon's view of a SKU changes, and tells it what the daemon saw (orders,
//! restocks). It sees only what the real daemon would see — stock in Odoo after the orders that
//! reached it — never the marketplaces' displays or orders still in flight.
//!
//! Four built-ins, and named variants of them from the scenario (`[[policies]]`):
//!
//! * `everywhere`: every channel lists the whole available stock (the seed's naive approach).
//! * `fixed_split`: each channel gets a fixed share of the stock (by `split_weight`, D'Hondt)
//!   and only ever sells that share; restocks are split the same way; nothing rebalances.
//! * `shared`: the real allocator ([`crate::allocation`]) in [`Mode::Shared`] with the
//!   channels' buffers, minimums, maximums, keep-last and priorities, and the scarcity
//!   threshold.
//! * `strict`: the allocator in [`Mode::Strict`].

use crate::allocation::{
    Allocator, BufferMode, ChannelRule, Mode, Offer, Policy as AllocPolicy, Scratch, SkuInput,
    WarehouseStock, divide_capped,
};

use super::scenario::Scenario;

/// What the daemon knows about one SKU when it recomputes offers.
#[derive(Debug, Clone, Copy)]
pub struct SkuView<'a> {
    /// Stock per warehouse slot as Odoo sees it (orders that reached the daemon are out).
    pub warehouses: &'a [WarehouseStock],
    /// Units of this SKU the daemon has seen sold, per channel (sales velocity).
    pub sold: &'a [u32],
}

/// A stock policy under simulation.
pub trait Policy: Send {
    fn name(&self) -> &str;
    /// One line for the report.
    fn describe(&self) -> String;
    /// Called once before a run, with the scenario's initial stock.
    fn start(&mut self, scenario: &Scenario) -> Result<(), String>;
    /// Every channel's offer for `sku` (one entry per channel, scenario order, ≥ 0).
    fn offers(&mut self, sku: usize, view: &SkuView<'_>, out: &mut [i64]);
    /// An order of `qty` units reached the daemon.
    fn order_seen(&mut self, _sku: usize, _channel: usize, _qty: i64) {}
    /// `qty` units arrived for `sku`.
    fn restocked(&mut self, _sku: usize, _qty: i64) {}
}

/// The built-in policy families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BaseKind {
    Everywhere,
    FixedSplit,
    Shared,
    Strict,
}

impl BaseKind {
    pub const ALL: [BaseKind; 4] = [
        BaseKind::Everywhere,
        BaseKind::FixedSplit,
        BaseKind::Shared,
        BaseKind::Strict,
    ];

    pub fn name(self) -> &'static str {
        match self {
            BaseKind::Everywhere => "everywhere",
            BaseKind::FixedSplit => "fixed_split",
            BaseKind::Shared => "shared",
            BaseKind::Strict => "strict",
        }
    }

    pub fn parse(s: &str) -> Option<BaseKind> {
        let s = s.replace('-', "_");
        BaseKind::ALL.into_iter().find(|b| b.name() == s)
    }
}

impl std::fmt::Display for BaseKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Changes to the channels' rules a candidate policy makes (unset: the scenario's value).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleOverrides {
    pub priority: Option<u32>,
    pub buffer_bp: Option<u32>,
    pub buffer_units: Option<i64>,
    pub buffer_mode: Option<BufferMode>,
    pub min_qty: Option<i64>,
    pub max_qty: Option<i64>,
    pub keep_last: Option<i64>,
    pub split_weight: Option<u64>,
}

impl RuleOverrides {
    fn apply(&self, rule: &mut ChannelRule, weight: &mut u64) {
        if let Some(v) = self.priority {
            rule.priority = v;
        }
        if let Some(v) = self.buffer_bp {
            rule.buffer_bp = v;
        }
        if let Some(v) = self.buffer_units {
            rule.buffer_units = v;
        }
        if let Some(v) = self.buffer_mode {
            rule.buffer_mode = v;
        }
        if let Some(v) = self.min_qty {
            rule.min_qty = v;
        }
        if let Some(v) = self.max_qty {
            rule.max_qty = v;
        }
        if let Some(v) = self.keep_last {
            rule.keep_last = v;
        }
        if let Some(v) = self.split_weight {
            *weight = v;
        }
    }

    fn is_empty(&self) -> bool {
        *self == RuleOverrides::default()
    }
}

/// A named policy: a built-in family plus overrides. What `--policies` selects.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicySpec {
    pub name: String,
    pub base: BaseKind,
    pub description: Option<String>,
    pub scarce_at_or_below: Option<i64>,
    pub safety_stock: Option<i64>,
    pub velocity_weighting: Option<bool>,
    /// Applied to every channel, then `per_channel` (channel index, overrides).
    pub all: RuleOverrides,
    pub per_channel: Vec<(usize, RuleOverrides)>,
}

impl PolicySpec {
    pub fn builtin(base: BaseKind) -> PolicySpec {
        PolicySpec {
            name: base.name().to_owned(),
            base,
            description: None,
            scarce_at_or_below: None,
            safety_stock: None,
            velocity_weighting: None,
            all: RuleOverrides::default(),
            per_channel: Vec::new(),
        }
    }

    /// The four built-ins followed by the scenario's variants.
    pub fn all_for(scenario: &Scenario) -> Vec<PolicySpec> {
        let mut v: Vec<PolicySpec> = BaseKind::ALL.into_iter().map(Self::builtin).collect();
        v.extend(scenario.policies.iter().cloned());
        v
    }

    /// Pick policies by name, in the order given; an unknown name lists the known ones.
    pub fn select(scenario: &Scenario, names: &[String]) -> Result<Vec<PolicySpec>, String> {
        let all = Self::all_for(scenario);
        if names.is_empty() {
            return Ok(all);
        }
        let mut out: Vec<PolicySpec> = Vec::new();
        for n in names {
            let n = n.trim();
            let wanted = n.replace('-', "_");
            match all
                .iter()
                .find(|p| p.name == n || (BaseKind::parse(&p.name).is_some() && p.name == wanted))
            {
                Some(p) if out.iter().any(|o| o.name == p.name) => {}
                Some(p) => out.push(p.clone()),
                None => {
                    let known: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
                    return Err(format!(
                        "unknown policy `{n}` (known: {})",
                        known.join(", ")
                    ));
                }
            }
        }
        Ok(out)
    }

    /// The channels' rules and split weights with this policy's overrides.
    fn rules(&self, scenario: &Scenario) -> (Vec<ChannelRule>, Vec<u64>) {
        let mut rules = Vec::with_capacity(scenario.channels.len());
        let mut weights = Vec::with_capacity(scenario.channels.len());
        for (i, c) in scenario.channels.iter().enumerate() {
            let mut r = c.rule.clone();
            let mut w = c.split_weight;
            self.all.apply(&mut r, &mut w);
            for (j, o) in &self.per_channel {
                if *j == i {
                    o.apply(&mut r, &mut w);
                }
            }
            rules.push(r);
            weights.push(w);
        }
        (rules, weights)
    }

    /// A fresh policy for one run.
    pub fn build(&self, scenario: &Scenario) -> Result<Box<dyn Policy>, String> {
        let (rules, weights) = self.rules(scenario);
        let masks: Vec<u64> = rules.iter().map(|r| r.warehouses).collect();
        let describe = self.description.clone();
        Ok(match self.base {
            BaseKind::Everywhere => Box::new(Everywhere {
                name: self.name.clone(),
                note: describe,
                masks,
            }),
            BaseKind::FixedSplit => Box::new(FixedSplit {
                name: self.name.clone(),
                note: describe,
                masks,
                weights,
                ids: scenario.channels.iter().map(|c| c.id.clone()).collect(),
                remaining: Vec::new(),
                scratch: vec![0; scenario.channels.len()],
            }),
            BaseKind::Shared | BaseKind::Strict => {
                let settings = scenario.allocation;
                let policy = AllocPolicy {
                    mode: if self.base == BaseKind::Shared {
                        Mode::Shared
                    } else {
                        Mode::Strict
                    },
                    scarce_at_or_below: self
                        .scarce_at_or_below
                        .unwrap_or(settings.scarce_at_or_below),
                    velocity_weighting: self
                        .velocity_weighting
                        .unwrap_or(settings.velocity_weighting),
                };
                let allocator = Allocator::new(policy, rules)
                    .map_err(|e| format!("policy `{}`: {e}", self.name))?;
                let scratch = allocator.scratch();
                Box::new(Allocated {
                    name: self.name.clone(),
                    note: describe,
                    offers: vec![Offer::default(); allocator.rules().len()],
                    allocator,
                    scratch,
                    safety: self.safety_stock.unwrap_or(settings.safety_stock),
                    customised: !self.all.is_empty() || !self.per_channel.is_empty(),
                })
            }
        })
    }
}

fn free_in(warehouses: &[WarehouseStock], mask: u64) -> i64 {
    warehouses
        .iter()
        .enumerate()
        .filter(|(w, _)| *w < 64 && mask & (1u64 << w) != 0)
        .map(|(_, s)| s.available())
        .sum()
}

/// Every channel lists everything available in its warehouses.
struct Everywhere {
    name: String,
    note: Option<String>,
    masks: Vec<u64>,
}

impl Policy for Everywhere {
    fn name(&self) -> &str {
        &self.name
    }
    fn describe(&self) -> String {
        self.note
            .clone()
            .unwrap_or_else(|| "list the whole available stock on every channel".into())
    }
    fn start(&mut self, _: &Scenario) -> Result<(), String> {
        Ok(())
    }
    fn offers(&mut self, _sku: usize, view: &SkuView<'_>, out: &mut [i64]) {
        for (o, &m) in out.iter_mut().zip(&self.masks) {
            *o = free_in(view.warehouses, m);
        }
    }
}

/// Fixed shares of the stock per channel, never rebalanced.
struct FixedSplit {
    name: String,
    note: Option<String>,
    masks: Vec<u64>,
    weights: Vec<u64>,
    ids: Vec<String>,
    /// Units of its share each channel has not sold yet (sku × channel).
    remaining: Vec<i64>,
    scratch: Vec<i64>,
}

impl FixedSplit {
    /// Split `qty` units by weight (D'Hondt, the allocator's divisor method); channels with
    /// weight 0 get nothing.
    fn split(&mut self, qty: i64, out_sku: usize) {
        let n = self.weights.len();
        let caps: Vec<i64> = self
            .weights
            .iter()
            .map(|&w| if w == 0 { 0 } else { qty })
            .collect();
        divide_capped(qty, &caps, &self.weights, &mut self.scratch[..n]);
        for c in 0..n {
            self.remaining[out_sku * n + c] += self.scratch[c];
        }
    }
}

impl Policy for FixedSplit {
    fn name(&self) -> &str {
        &self.name
    }
    fn describe(&self) -> String {
        if let Some(n) = &self.note {
            return n.clone();
        }
        let equal = self.weights.windows(2).all(|w| w[0] == w[1]);
        if equal {
            "each channel sells only an equal share of the stock; no rebalancing".into()
        } else {
            let w: Vec<String> = self
                .ids
                .iter()
                .zip(&self.weights)
                .map(|(id, w)| format!("{id} {w}"))
                .collect();
            format!(
                "each channel sells only its share of the stock (weights {}); no rebalancing",
                w.join(", ")
            )
        }
    }
    fn start(&mut self, scenario: &Scenario) -> Result<(), String> {
        if self.weights.iter().all(|&w| w == 0) {
            return Err(format!("policy `{}`: every split_weight is 0", self.name));
        }
        let n = self.weights.len();
        self.remaining = vec![0; scenario.skus.len() * n];
        for (s, sku) in scenario.skus.iter().enumerate() {
            self.split(sku.stock.iter().sum(), s);
        }
        Ok(())
    }
    fn offers(&mut self, sku: usize, view: &SkuView<'_>, out: &mut [i64]) {
        let n = self.weights.len();
        let remaining = &self.remaining[sku * n..(sku + 1) * n];
        for ((o, &mask), &r) in out.iter_mut().zip(&self.masks).zip(remaining) {
            *o = r.min(free_in(view.warehouses, mask)).max(0);
        }
    }
    fn order_seen(&mut self, sku: usize, channel: usize, qty: i64) {
        let n = self.weights.len();
        let r = &mut self.remaining[sku * n + channel];
        *r = (*r - qty).max(0);
    }
    fn restocked(&mut self, sku: usize, qty: i64) {
        self.split(qty, sku);
    }
}

/// The daemon's allocator, shared or strict.
struct Allocated {
    name: String,
    note: Option<String>,
    allocator: Allocator,
    scratch: Scratch,
    offers: Vec<Offer>,
    safety: i64,
    customised: bool,
}

impl Policy for Allocated {
    fn name(&self) -> &str {
        &self.name
    }
    fn describe(&self) -> String {
        if let Some(n) = &self.note {
            return n.clone();
        }
        let p = self.allocator.policy();
        let mut s = match p.mode {
            Mode::Shared => "shared pool: each channel lists the pool less its buffers (allocator, shared mode)".to_owned(),
            Mode::Strict => "strict: offers never sum above the stock, by priority then D'Hondt (allocator, strict mode)".to_owned(),
        };
        if p.scarce_at_or_below > 0 {
            s.push_str(&format!(
                "; at or below {} units only the higher priorities list",
                p.scarce_at_or_below
            ));
        }
        if self.safety > 0 {
            s.push_str(&format!("; safety stock {}", self.safety));
        }
        if self.customised {
            s.push_str("; with this variant's rule overrides");
        }
        s
    }
    fn start(&mut self, _: &Scenario) -> Result<(), String> {
        Ok(())
    }
    fn offers(&mut self, _sku: usize, view: &SkuView<'_>, out: &mut [i64]) {
        let input = SkuInput {
            warehouses: view.warehouses,
            product_safety: self.safety,
            // Orders reach the simulated Odoo as reservations at once: nothing is pending.
            pending: 0,
            fixed: &[],
            velocity: view.sold,
        };
        self.allocator
            .allocate(&input, &mut self.scratch, &mut self.offers);
        for (o, offer) in out.iter_mut().zip(&self.offers) {
            *o = offer.qty.max(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wh(n: i64) -> [WarehouseStock; 1] {
        [WarehouseStock {
            on_hand: n,
            reserved: 0,
            safety: 0,
        }]
    }

    fn two_channel(extra: &str) -> Scenario {
        Scenario::from_toml_str(&format!(
            r#"
[[skus]]
sku = "A"
stock = 10
[[channels]]
id = "a"
kind = "amazon"
priority = 2
buffer_percent = 20
split_weight = 3
[[channels]]
id = "b"
kind = "ebay"
priority = 1
buffer_percent = 10
{extra}
"#
        ))
        .unwrap()
    }

    fn offers(spec: &PolicySpec, sc: &Scenario, stock: i64) -> Vec<i64> {
        let mut p = spec.build(sc).unwrap();
        p.start(sc).unwrap();
        let mut out = vec![0; sc.channels.len()];
        p.offers(
            0,
            &SkuView {
                warehouses: &wh(stock),
                sold: &[0, 0],
            },
            &mut out,
        );
        out
    }

    #[test]
    fn builtins_on_ten_units() {
        let sc = two_channel("");
        let b = |k| PolicySpec::builtin(k);
        assert_eq!(offers(&b(BaseKind::Everywhere), &sc, 10), [10, 10]);
        // Weights 3:1, D'Hondt over 10 units: the ten largest of a's quotients 3, 1.5, 1, .75,
        // .6, .5, .43, .375 and b's 1, .5, .33 are eight of a's and two of b's.
        assert_eq!(offers(&b(BaseKind::FixedSplit), &sc, 10), [8, 2]);
        assert_eq!(offers(&b(BaseKind::Shared), &sc, 10), [8, 9]);
        assert_eq!(offers(&b(BaseKind::Strict), &sc, 10), [8, 2]);
    }

    #[test]
    fn fixed_split_sells_only_its_share_and_splits_restocks() {
        let sc = two_channel("");
        let mut p = PolicySpec::builtin(BaseKind::FixedSplit)
            .build(&sc)
            .unwrap();
        p.start(&sc).unwrap();
        let mut out = [0; 2];
        p.order_seen(0, 1, 2);
        p.offers(
            0,
            &SkuView {
                warehouses: &wh(8),
                sold: &[0, 2],
            },
            &mut out,
        );
        assert_eq!(out, [8, 0], "b sold its 2 and gets nothing of a's share");
        p.restocked(0, 4);
        p.offers(
            0,
            &SkuView {
                warehouses: &wh(12),
                sold: &[0, 2],
            },
            &mut out,
        );
        assert_eq!(out, [11, 1]);
        // Never more than is physically there.
        p.offers(
            0,
            &SkuView {
                warehouses: &wh(5),
                sold: &[0, 2],
            },
            &mut out,
        );
        assert_eq!(out, [5, 1]);
    }

    #[test]
    fn variants_override_rules() {
        let sc = two_channel(
            r#"
[[policies]]
name = "shared-5units"
base = "shared"
buffer_percent = 0
buffer_units = 5
[policies.channels.a]
buffer_units = 1
"#,
        );
        let spec = PolicySpec::select(&sc, &["shared-5units".into()]).unwrap();
        assert_eq!(offers(&spec[0], &sc, 10), [9, 5]);
        let e = PolicySpec::select(&sc, &["nope".into()]).unwrap_err();
        assert!(
            e.contains("shared-5units") && e.contains("everywhere"),
            "{e}"
        );
        let all = PolicySpec::select(&sc, &[]).unwrap();
        let names: Vec<&str> = all.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "everywhere",
                "fixed_split",
                "shared",
                "strict",
                "shared-5units"
            ]
        );
        let dashed = PolicySpec::select(&sc, &["fixed-split".into()]).unwrap();
        assert_eq!(dashed[0].name, "fixed_split");
    }
}
