//! `[inventory]`: how stock becomes offers, and when the daemon reorders or moves stock.
//!
//! The allocation policy (mode, scarcity, velocity weighting, percentage rounding), the
//! pace of the stock job (poll, overlap of the `write_date` cursor, full reconciliation),
//! reorders and transfers, and two rule lists keyed by SKU:
//!
//! ```toml
//! [[inventory.safety]]          # safety stock: the whole product, or one warehouse of it
//! sku = "TSHIRT-*"              # a product's internal reference; a trailing * is a prefix
//! warehouse = "WH2"             # optional: only in this warehouse
//! units = 3
//!
//! [[inventory.fixed]]           # a fixed quantity for a SKU on one channel
//! sku = "GIFT-CARD"
//! channel = "amz-eu"
//! qty = 50
//! ```
//!
//! The most specific rule wins: an exact SKU over a prefix, a longer prefix over a shorter
//! one. Product-level safety stock replaces `default_safety_stock` for the products it
//! matches; warehouse-level safety stock is held in that warehouse only (on top). Rules match
//! the product's internal reference (`default_code`), whatever SKU a channel lists it under.
//! Warehouse codes are checked against Odoo when the stock job starts (the file alone cannot
//! know them); channel ids are checked here.

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::{KeyPath, Problems, parse_duration};
use crate::allocation::{BufferRounding, Mode};

// ---------------------------------------------------------------------------------------------
// The file as written (defaults live here, once)
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawInventory {
    pub default_safety_stock: i64,
    pub mode: String,
    pub scarce_at_or_below: i64,
    pub velocity_weighting: bool,
    pub velocity_window: String,
    pub percent_buffer_rounding: String,
    pub poll_every: String,
    pub cursor_overlap: String,
    pub full_reconcile_every: String,
    pub refresh_every: String,
    pub reorder_enabled: bool,
    pub propose_transfers: bool,
    pub create_draft_transfers: bool,
    pub transfer_cover_days: i64,
    pub transfer_min_qty: i64,
    pub transfer_repeat_after: String,
    pub safety: Vec<RawSafety>,
    pub fixed: Vec<RawFixed>,
}

impl Default for RawInventory {
    fn default() -> Self {
        RawInventory {
            default_safety_stock: 0,
            mode: "shared".into(),
            scarce_at_or_below: 0,
            velocity_weighting: false,
            velocity_window: "14d".into(),
            percent_buffer_rounding: "up".into(),
            poll_every: "1m".into(),
            cursor_overlap: "2m".into(),
            full_reconcile_every: "6h".into(),
            refresh_every: "15m".into(),
            reorder_enabled: false,
            propose_transfers: false,
            create_draft_transfers: false,
            transfer_cover_days: 7,
            transfer_min_qty: 1,
            transfer_repeat_after: "1d".into(),
            safety: Vec::new(),
            fixed: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawSafety {
    pub sku: Option<String>,
    pub warehouse: Option<String>,
    pub units: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFixed {
    pub sku: Option<String>,
    pub channel: Option<String>,
    pub qty: Option<i64>,
}

// ---------------------------------------------------------------------------------------------
// The validated section
// ---------------------------------------------------------------------------------------------

/// `[inventory]`, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryConfig {
    /// Units held back from every channel for every product (unless a product rule says
    /// otherwise).
    pub default_safety_stock: u32,
    pub mode: Mode,
    /// Usable stock at or below which only the highest priorities list (0: off).
    pub scarce_at_or_below: u32,
    pub velocity_weighting: bool,
    /// Sales counted for velocity (transfers use it too).
    pub velocity_window: Duration,
    pub percent_buffer_rounding: BufferRounding,
    /// Odoo's stock is polled (incrementally) this often even without an order.
    pub poll_every: Duration,
    /// The `write_date` cursor re-reads this far back (longer than Odoo's longest
    /// transaction: `write_date` is the transaction's start).
    pub cursor_overlap: Duration,
    /// A full read of every product's stock (repairs what incremental reads cannot see).
    pub full_reconcile_every: Duration,
    /// Reordering rules and sales velocity are re-read this often between full reads (a rule
    /// a person adds in Odoo changes no stock, so only a re-read can notice it).
    pub refresh_every: Duration,
    pub reorder_enabled: bool,
    pub propose_transfers: bool,
    pub create_draft_transfers: bool,
    pub transfer_cover_days: u32,
    pub transfer_min_qty: u32,
    /// The same transfer is not proposed again within this time.
    pub transfer_repeat_after: Duration,
    pub safety: Vec<SafetyRule>,
    pub fixed: Vec<FixedRule>,
}

impl Default for InventoryConfig {
    fn default() -> Self {
        let locator = super::Locator {
            text: "",
            doc: None,
        };
        let mut p = Problems {
            list: Vec::new(),
            warnings: Vec::new(),
            locator: &locator,
        };
        validate(RawInventory::default(), &[], &mut p).expect("the defaults are valid")
    }
}

/// Which SKUs a rule applies to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SkuPattern {
    Exact(String),
    /// `"ABC-*"`: every SKU starting with `ABC-`; `"*"`: every SKU.
    Prefix(String),
}

impl SkuPattern {
    pub fn parse(s: &str) -> Result<SkuPattern, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("empty SKU".into());
        }
        match s.find('*') {
            None => Ok(SkuPattern::Exact(s.to_owned())),
            Some(i) if i == s.len() - 1 => Ok(SkuPattern::Prefix(s[..i].to_owned())),
            Some(_) => Err(format!(
                "`{s}`: `*` may only end a SKU pattern (\"ABC-*\", or \"*\" for every SKU)"
            )),
        }
    }

    pub fn matches(&self, sku: &str) -> bool {
        match self {
            SkuPattern::Exact(e) => e == sku,
            SkuPattern::Prefix(p) => sku.starts_with(p.as_str()),
        }
    }
}

impl std::fmt::Display for SkuPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SkuPattern::Exact(s) => f.write_str(s),
            SkuPattern::Prefix(p) => write!(f, "{p}*"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SafetyRule {
    pub sku: SkuPattern,
    /// `None`: the product as a whole (replaces `default_safety_stock`).
    pub warehouse: Option<String>,
    pub units: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedRule {
    pub sku: SkuPattern,
    pub channel: String,
    pub qty: u32,
}

fn parse_mode(s: &str) -> Option<Mode> {
    match s {
        "shared" => Some(Mode::Shared),
        "strict" => Some(Mode::Strict),
        _ => None,
    }
}

fn parse_rounding(s: &str) -> Option<BufferRounding> {
    match s {
        "up" => Some(BufferRounding::Up),
        "down" => Some(BufferRounding::Down),
        _ => None,
    }
}

/// Validate `[inventory]`; `channel_ids` are the ids of `[[channels]]` (for `fixed.channel`).
pub(super) fn validate(
    raw: RawInventory,
    channel_ids: &[String],
    p: &mut Problems<'_>,
) -> Option<InventoryConfig> {
    let base = KeyPath::root("inventory");
    let safety = p.range(
        &base.key("default_safety_stock"),
        raw.default_safety_stock,
        0,
        u32::MAX as i64,
    );
    let mode = parse_mode(&raw.mode);
    if mode.is_none() {
        p.err(
            &base.key("mode"),
            format!("unknown mode `{}` (expected shared or strict)", raw.mode),
        );
    }
    let rounding = parse_rounding(&raw.percent_buffer_rounding);
    if rounding.is_none() {
        p.err(
            &base.key("percent_buffer_rounding"),
            format!(
                "unknown rounding `{}` (expected up or down)",
                raw.percent_buffer_rounding
            ),
        );
    }
    let scarce = p.range(
        &base.key("scarce_at_or_below"),
        raw.scarce_at_or_below,
        0,
        1_000_000,
    );
    let mut duration =
        |key: &str, text: &str, min: Duration, max: Duration| match parse_duration(text) {
            Ok(d) if d < min || d > max => {
                p.err(
                    &base.key(key),
                    format!(
                        "must be between {} and {} (got {text})",
                        super::format_duration(min),
                        super::format_duration(max)
                    ),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                p.err(&base.key(key), e);
                None
            }
        };
    let secs = Duration::from_secs;
    let day = 86_400;
    let velocity_window = duration(
        "velocity_window",
        &raw.velocity_window,
        secs(day),
        secs(365 * day),
    );
    let poll_every = duration("poll_every", &raw.poll_every, secs(1), secs(day));
    let cursor_overlap = duration("cursor_overlap", &raw.cursor_overlap, secs(1), secs(day));
    let full = duration(
        "full_reconcile_every",
        &raw.full_reconcile_every,
        secs(1),
        secs(30 * day),
    );
    let refresh = duration("refresh_every", &raw.refresh_every, secs(1), secs(day));
    let repeat = duration(
        "transfer_repeat_after",
        &raw.transfer_repeat_after,
        secs(60),
        secs(365 * day),
    );
    let cover = p.range(
        &base.key("transfer_cover_days"),
        raw.transfer_cover_days,
        1,
        365,
    );
    let min_qty = p.range(
        &base.key("transfer_min_qty"),
        raw.transfer_min_qty,
        1,
        u32::MAX as i64,
    );
    if raw.create_draft_transfers && !raw.propose_transfers {
        p.warn(
            &base.key("create_draft_transfers"),
            "has no effect unless propose_transfers = true",
        );
    }

    let mut safety_rules = Vec::with_capacity(raw.safety.len());
    let mut seen_safety: HashMap<(SkuPattern, Option<String>), usize> = HashMap::new();
    for (i, r) in raw.safety.into_iter().enumerate() {
        let key = base.key("safety").index(i);
        let sku = rule_sku(r.sku, &key, p);
        let units = match r.units {
            Some(u) => Some(p.range(&key.key("units"), u, 0, u32::MAX as i64) as u32),
            None => {
                p.err(&key.key("units"), "required");
                None
            }
        };
        let warehouse = match r.warehouse {
            Some(w) if w.trim().is_empty() => {
                p.err(&key.key("warehouse"), "empty warehouse code");
                None
            }
            w => w,
        };
        if let (Some(sku), Some(units)) = (sku, units) {
            let k = (sku.clone(), warehouse.clone());
            if let Some(first) = seen_safety.get(&k) {
                p.err(
                    &key,
                    format!("same SKU and warehouse as inventory.safety[{first}]"),
                );
            } else {
                seen_safety.insert(k, i);
                safety_rules.push(SafetyRule {
                    sku,
                    warehouse,
                    units,
                });
            }
        }
    }
    let mut fixed_rules = Vec::with_capacity(raw.fixed.len());
    let mut seen_fixed: HashMap<(SkuPattern, String), usize> = HashMap::new();
    for (i, r) in raw.fixed.into_iter().enumerate() {
        let key = base.key("fixed").index(i);
        let sku = rule_sku(r.sku, &key, p);
        let qty = match r.qty {
            Some(q) => Some(p.range(&key.key("qty"), q, 0, u32::MAX as i64) as u32),
            None => {
                p.err(&key.key("qty"), "required");
                None
            }
        };
        let channel = match r.channel {
            Some(c) if channel_ids.contains(&c) => Some(c),
            Some(c) => {
                p.err(&key.key("channel"), format!("no [[channels]] has id `{c}`"));
                None
            }
            None => {
                p.err(&key.key("channel"), "required");
                None
            }
        };
        if let (Some(sku), Some(qty), Some(channel)) = (sku, qty, channel) {
            let k = (sku.clone(), channel.clone());
            if let Some(first) = seen_fixed.get(&k) {
                p.err(
                    &key,
                    format!("same SKU and channel as inventory.fixed[{first}]"),
                );
            } else {
                seen_fixed.insert(k, i);
                fixed_rules.push(FixedRule { sku, channel, qty });
            }
        }
    }

    Some(InventoryConfig {
        default_safety_stock: safety as u32,
        mode: mode?,
        scarce_at_or_below: scarce as u32,
        velocity_weighting: raw.velocity_weighting,
        velocity_window: velocity_window?,
        percent_buffer_rounding: rounding?,
        poll_every: poll_every?,
        cursor_overlap: cursor_overlap?,
        full_reconcile_every: full?,
        refresh_every: refresh?,
        reorder_enabled: raw.reorder_enabled,
        propose_transfers: raw.propose_transfers,
        create_draft_transfers: raw.create_draft_transfers,
        transfer_cover_days: cover as u32,
        transfer_min_qty: min_qty as u32,
        transfer_repeat_after: repeat?,
        safety: safety_rules,
        fixed: fixed_rules,
    })
}

fn rule_sku(sku: Option<String>, key: &KeyPath, p: &mut Problems<'_>) -> Option<SkuPattern> {
    match sku {
        Some(s) => match SkuPattern::parse(&s) {
            Ok(pat) => Some(pat),
            Err(e) => {
                p.err(&key.key("sku"), e);
                None
            }
        },
        None => {
            p.err(&key.key("sku"), "required");
            None
        }
    }
}

impl InventoryConfig {
    /// The allocator's policy.
    pub fn policy(&self) -> crate::allocation::Policy {
        crate::allocation::Policy {
            mode: self.mode,
            scarce_at_or_below: i64::from(self.scarce_at_or_below),
            velocity_weighting: self.velocity_weighting,
        }
    }

    /// Rules resolved against the warehouses (codes, by slot) and channels (ids, in
    /// allocator order) the stock job works with. Unknown warehouse codes are returned as
    /// problems (the stock job refuses to start on them: a safety stock that silently applies
    /// nowhere could oversell).
    pub fn resolve(
        &self,
        warehouse_codes: &[String],
        channel_ids: &[String],
    ) -> Result<RuleSet, Vec<String>> {
        let mut problems = Vec::new();
        let mut set = RuleSet {
            default_safety: i64::from(self.default_safety_stock),
            warehouses: warehouse_codes.len(),
            channels: channel_ids.len(),
            ..RuleSet::default()
        };
        for (i, r) in self.safety.iter().enumerate() {
            let target = match &r.warehouse {
                None => Target::Product,
                Some(code) => match warehouse_codes.iter().position(|c| c == code) {
                    Some(w) => Target::Warehouse(w),
                    None => {
                        problems.push(format!(
                            "inventory.safety[{i}].warehouse: warehouse `{code}` does not exist in Odoo"
                        ));
                        continue;
                    }
                },
            };
            set.add(&r.sku, target, i64::from(r.units));
        }
        for r in &self.fixed {
            // Channels may be disabled (then absent here): their rules simply do not apply.
            if let Some(c) = channel_ids.iter().position(|id| id == &r.channel) {
                set.add(&r.sku, Target::Channel(c), i64::from(r.qty));
            }
        }
        for list in set.prefix.values_mut() {
            list.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        }
        if problems.is_empty() {
            Ok(set)
        } else {
            Err(problems)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Product,
    Warehouse(usize),
    Channel(usize),
}

/// The SKU rules, indexed for one lookup per SKU and target (the stock job resolves every
/// SKU of a catalogue on a full read).
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    default_safety: i64,
    warehouses: usize,
    channels: usize,
    exact: HashMap<(String, Target), i64>,
    /// Per target, prefixes longest first.
    prefix: HashMap<Target, Vec<(String, i64)>>,
}

impl RuleSet {
    fn add(&mut self, sku: &SkuPattern, target: Target, value: i64) {
        match sku {
            SkuPattern::Exact(s) => {
                self.exact.insert((s.clone(), target), value);
            }
            SkuPattern::Prefix(p) => self
                .prefix
                .entry(target)
                .or_default()
                .push((p.clone(), value)),
        }
    }

    fn lookup(&self, sku: &str, target: Target) -> Option<i64> {
        if self.exact.is_empty() && self.prefix.is_empty() {
            return None;
        }
        if let Some(v) = self.exact.get(&(sku.to_owned(), target)) {
            return Some(*v);
        }
        self.prefix
            .get(&target)?
            .iter()
            .find(|(p, _)| sku.starts_with(p.as_str()))
            .map(|(_, v)| *v)
    }

    /// Whether any SKU rule exists (the common case is none: lookups are then free).
    pub fn is_empty(&self) -> bool {
        self.exact.is_empty() && self.prefix.is_empty()
    }

    /// Safety stock of the product as a whole.
    pub fn product_safety(&self, sku: &str) -> i64 {
        self.lookup(sku, Target::Product)
            .unwrap_or(self.default_safety)
    }

    /// Safety stock held in warehouse slot `w` for this SKU (0 without a rule).
    pub fn warehouse_safety(&self, sku: &str, w: usize) -> i64 {
        if w >= self.warehouses {
            return 0;
        }
        self.lookup(sku, Target::Warehouse(w)).unwrap_or(0)
    }

    /// A fixed quantity for this SKU on channel `c` (allocator order).
    pub fn fixed(&self, sku: &str, c: usize) -> Option<i64> {
        if c >= self.channels {
            return None;
        }
        self.lookup(sku, Target::Channel(c))
    }

    /// Whether any fixed quantity is configured (else the allocator gets an empty slice).
    pub fn has_fixed(&self) -> bool {
        self.exact
            .keys()
            .any(|(_, t)| matches!(t, Target::Channel(_)))
            || self.prefix.keys().any(|t| matches!(t, Target::Channel(_)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::test_support::load;

    #[test]
    fn defaults() {
        let c = load("").unwrap();
        let i = &c.inventory;
        assert_eq!(i, &InventoryConfig::default());
        assert_eq!(i.mode, Mode::Shared);
        assert_eq!(i.scarce_at_or_below, 0);
        assert!(!i.velocity_weighting);
        assert_eq!(i.velocity_window, Duration::from_secs(14 * 86_400));
        assert_eq!(i.percent_buffer_rounding, BufferRounding::Up);
        assert_eq!(i.poll_every, Duration::from_secs(60));
        assert_eq!(i.cursor_overlap, Duration::from_secs(120));
        assert_eq!(i.full_reconcile_every, Duration::from_secs(6 * 3600));
        assert_eq!(i.transfer_cover_days, 7);
        assert!(i.safety.is_empty() && i.fixed.is_empty());
    }

    #[test]
    fn policy_and_rules_parse() {
        let c = load(
            r#"
[inventory]
mode = "strict"
scarce_at_or_below = 20
velocity_weighting = true
percent_buffer_rounding = "down"
[[inventory.safety]]
sku = "TSHIRT-*"
units = 3
[[inventory.safety]]
sku = "TSHIRT-RED"
units = 5
[[inventory.safety]]
sku = "TSHIRT-*"
warehouse = "WH2"
units = 2
[[inventory.safety]]
sku = "*"
warehouse = "WH2"
units = 1
[[inventory.fixed]]
sku = "GIFT"
channel = "amz"
qty = 50
"#,
        )
        .unwrap();
        let i = &c.inventory;
        assert_eq!(
            i.policy(),
            crate::allocation::Policy {
                mode: Mode::Strict,
                scarce_at_or_below: 20,
                velocity_weighting: true
            }
        );
        let rules = i
            .resolve(&["WH".into(), "WH2".into()], &["shop".into(), "amz".into()])
            .unwrap();
        assert_eq!(rules.product_safety("TSHIRT-RED"), 5); // exact beats prefix
        assert_eq!(rules.product_safety("TSHIRT-BLUE"), 3);
        assert_eq!(rules.product_safety("MUG"), 0); // the default
        assert_eq!(rules.warehouse_safety("TSHIRT-RED", 1), 2); // longer prefix beats "*"
        assert_eq!(rules.warehouse_safety("MUG", 1), 1);
        assert_eq!(rules.warehouse_safety("MUG", 0), 0);
        assert_eq!(rules.fixed("GIFT", 1), Some(50));
        assert_eq!(rules.fixed("GIFT", 0), None);
        assert!(rules.has_fixed());
        // An unknown warehouse is refused when resolving against Odoo's warehouses.
        let e = i.resolve(&["WH".into()], &[]).unwrap_err();
        assert!(e[0].contains("inventory.safety[2].warehouse"), "{e:?}");
    }

    #[test]
    fn every_problem_is_reported_with_its_key() {
        let ps = load(
            r#"
[inventory]
mode = "fair"
percent_buffer_rounding = "sideways"
poll_every = "0s"
velocity_window = "1h"
transfer_cover_days = 0
[[inventory.safety]]
sku = "A*B"
units = 1
[[inventory.safety]]
units = -1
sku = "X"
[[inventory.fixed]]
sku = "X"
channel = "ebay"
qty = 1
[[inventory.fixed]]
sku = "Y"
channel = "amz"
[[inventory.fixed]]
sku = "Z"
channel = "amz"
qty = 1
[[inventory.fixed]]
sku = "Z"
channel = "amz"
qty = 2
"#,
        )
        .unwrap_err();
        for (key, needle) in [
            ("inventory.mode", "unknown mode `fair`"),
            ("inventory.percent_buffer_rounding", "expected up or down"),
            ("inventory.poll_every", ""),
            ("inventory.velocity_window", "between 1d"),
            ("inventory.transfer_cover_days", "between 1"),
            ("inventory.safety[0].sku", "may only end"),
            ("inventory.safety[1].units", "between 0"),
            (
                "inventory.fixed[0].channel",
                "no [[channels]] has id `ebay`",
            ),
            ("inventory.fixed[1].qty", "required"),
            (
                "inventory.fixed[3]",
                "same SKU and channel as inventory.fixed[2]",
            ),
        ] {
            assert!(
                ps.iter()
                    .any(|p| p.starts_with(&format!("{key}: ")) && p.contains(needle)),
                "no `{key}: …{needle}…` in {ps:#?}"
            );
        }
    }

    #[test]
    fn draft_transfers_without_proposals_warn() {
        let c = load("[inventory]\ncreate_draft_transfers = true\n").unwrap();
        assert_eq!(c.warnings.len(), 1);
        assert_eq!(c.warnings[0].key, "inventory.create_draft_transfers");
    }
}
