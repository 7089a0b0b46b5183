//! `[fulfilment]` and `[channels.fulfilment]`: orders back to the channels (shipments,
//! cancellations, returns).
//!
//! The daemon-wide table sets the pace and how far back Odoo is searched; each channel's
//! table says how that marketplace wants to hear things: its carrier codes, whether it insists
//! on a tracking number, the reason it is given when a person cancels in Odoo, and its return
//! policy (restock or scrap, the return window). Defaults live here once, as in [`super::raw`];
//! `config.example.toml` documents them.

use std::collections::BTreeMap;
use std::time::Duration;

use channels_core::CancelReason;
use serde::Deserialize;

use super::{KeyPath, Problems, parse_duration};

// ---------------------------------------------------------------------------------------------
// Raw layer
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawFulfilment {
    pub enabled: bool,
    pub every: String,
    pub lookback: String,
    pub reconcile_every: String,
}

impl Default for RawFulfilment {
    fn default() -> Self {
        RawFulfilment {
            enabled: true,
            every: "1m".into(),
            lookback: "3d".into(),
            reconcile_every: "1h".into(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawChannelFulfilment {
    pub carriers: BTreeMap<String, String>,
    pub default_carrier: Option<String>,
    pub require_tracking: bool,
    pub cancel_reason: String,
    pub cancel_reasons: BTreeMap<String, String>,
    pub return_policy: String,
    pub return_window_days: i64,
    pub scrap_reasons: Vec<String>,
}

impl Default for RawChannelFulfilment {
    fn default() -> Self {
        RawChannelFulfilment {
            carriers: BTreeMap::new(),
            default_carrier: None,
            require_tracking: true,
            cancel_reason: "out_of_stock".into(),
            cancel_reasons: BTreeMap::new(),
            return_policy: "restock".into(),
            return_window_days: 30,
            scrap_reasons: Vec::new(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Typed configuration
// ---------------------------------------------------------------------------------------------

/// `[fulfilment]`: the outbound job's pace and reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FulfilmentConfig {
    /// Run shipments, cancellations and returns at all.
    pub enabled: bool,
    /// How often each channel's outbound round runs (a pulled order wakes it sooner).
    pub every: Duration,
    /// How far back Odoo is searched on the first run and by reconciliation: older done
    /// deliveries and cancellations are never sent (they predate the daemon).
    pub lookback: Duration,
    /// How often the whole lookback window is searched again, besides the write_date cursor.
    pub reconcile_every: Duration,
}

impl Default for FulfilmentConfig {
    fn default() -> Self {
        FulfilmentConfig {
            enabled: true,
            every: Duration::from_secs(60),
            lookback: Duration::from_secs(3 * 86_400),
            reconcile_every: Duration::from_secs(3600),
        }
    }
}

/// What to do with returned goods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnPolicy {
    /// Back to stock (sellable again).
    Restock,
    /// Received, then scrapped.
    Scrap,
}

impl ReturnPolicy {
    pub const NAMES: &[&str] = &["restock", "scrap"];
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnPolicy::Restock => "restock",
            ReturnPolicy::Scrap => "scrap",
        }
    }
}

/// `[channels.fulfilment]`: how one marketplace wants to hear about shipments, cancellations
/// and returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFulfilment {
    /// Odoo carrier name (`delivery.carrier.name`, compared case-insensitively) → the
    /// marketplace's carrier code.
    pub carriers: BTreeMap<String, String>,
    /// Code for carriers not in `carriers` (e.g. Amazon's `Other`, with the Odoo name sent as
    /// the carrier's name). `None`: the Odoo carrier name is sent as the code.
    pub default_carrier: Option<String>,
    /// The marketplace needs a tracking number: a done delivery without one waits (with a note
    /// on the picking) until one is entered. When false the picking's name stands in.
    pub require_tracking: bool,
    /// Reason sent when a person cancels a channel order in Odoo.
    pub cancel_reason: CancelReason,
    /// Odoo sales tag name (compared case-insensitively) → reason, for orders that carry one.
    pub cancel_reasons: BTreeMap<String, CancelReason>,
    pub return_policy: ReturnPolicy,
    /// A return requested more than this many days after shipping is held for a person;
    /// 0 = no window.
    pub return_window_days: u32,
    /// Return reasons (as the marketplace words them, case-insensitive) whose goods are scrapped
    /// whatever the policy (`damaged`, `defective`…).
    pub scrap_reasons: Vec<String>,
}

impl Default for ChannelFulfilment {
    fn default() -> Self {
        ChannelFulfilment {
            carriers: BTreeMap::new(),
            default_carrier: None,
            require_tracking: true,
            cancel_reason: CancelReason::OutOfStock,
            cancel_reasons: BTreeMap::new(),
            return_policy: ReturnPolicy::Restock,
            return_window_days: 30,
            scrap_reasons: Vec::new(),
        }
    }
}

impl ChannelFulfilment {
    /// The channel's code for an Odoo carrier name, and the name to send beside it.
    pub fn carrier_code(&self, odoo_name: &str) -> (String, Option<String>) {
        let mapped = self
            .carriers
            .iter()
            .find(|(k, _)| k.trim().eq_ignore_ascii_case(odoo_name.trim()))
            .map(|(_, v)| v.clone());
        match (mapped, &self.default_carrier) {
            (Some(code), _) => (code, Some(odoo_name.to_owned())),
            (None, Some(code)) => (code.clone(), Some(odoo_name.to_owned())),
            (None, None) => (odoo_name.to_owned(), None),
        }
    }

    /// The reason for an Odoo-side cancellation of an order carrying `tags`.
    pub fn reason_for(&self, tags: &[String]) -> (CancelReason, Option<String>) {
        for t in tags {
            if let Some((name, r)) = self
                .cancel_reasons
                .iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(t.trim()))
            {
                return (*r, Some(name.clone()));
            }
        }
        (self.cancel_reason, None)
    }

    /// Whether returned goods with this reason are scrapped.
    pub fn scraps(&self, reason: Option<&str>) -> bool {
        self.return_policy == ReturnPolicy::Scrap
            || reason.is_some_and(|r| {
                self.scrap_reasons
                    .iter()
                    .any(|s| s.trim().eq_ignore_ascii_case(r.trim()))
            })
    }
}

/// Every reason name the configuration accepts (`channels_core::CancelReason`'s snake case).
pub const CANCEL_REASONS: &[&str] = &[
    "out_of_stock",
    "buyer_request",
    "address_undeliverable",
    "pricing_error",
    "fraud",
    "shipping_delay",
    "other",
];

pub fn parse_cancel_reason(s: &str) -> Option<CancelReason> {
    Some(match s {
        "out_of_stock" => CancelReason::OutOfStock,
        "buyer_request" => CancelReason::BuyerRequest,
        "address_undeliverable" => CancelReason::AddressUndeliverable,
        "pricing_error" => CancelReason::PricingError,
        "fraud" => CancelReason::Fraud,
        "shipping_delay" => CancelReason::ShippingDelay,
        "other" => CancelReason::Other,
        _ => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------------------------

fn duration(p: &mut Problems<'_>, path: &KeyPath, text: &str, min: Duration) -> Option<Duration> {
    match parse_duration(text) {
        Ok(d) if d < min => {
            p.err(
                path,
                format!(
                    "must be at least {} (got `{text}`)",
                    super::format_duration(min)
                ),
            );
            None
        }
        Ok(d) => Some(d),
        Err(e) => {
            p.err(path, e);
            None
        }
    }
}

pub(super) fn validate(raw: RawFulfilment, p: &mut Problems<'_>) -> Option<FulfilmentConfig> {
    let base = KeyPath::root("fulfilment");
    let every = duration(p, &base.key("every"), &raw.every, Duration::from_secs(1));
    let lookback = duration(
        p,
        &base.key("lookback"),
        &raw.lookback,
        Duration::from_secs(60),
    );
    let reconcile = duration(
        p,
        &base.key("reconcile_every"),
        &raw.reconcile_every,
        Duration::from_secs(60),
    );
    Some(FulfilmentConfig {
        enabled: raw.enabled,
        every: every?,
        lookback: lookback?,
        reconcile_every: reconcile?,
    })
}

pub(super) fn validate_channel(
    raw: RawChannelFulfilment,
    channel: &KeyPath,
    p: &mut Problems<'_>,
) -> Option<ChannelFulfilment> {
    let base = channel.key("fulfilment");
    let mut ok = true;
    let reason = |p: &mut Problems<'_>, path: &KeyPath, s: &str| {
        let r = parse_cancel_reason(s);
        if r.is_none() {
            p.err(
                path,
                format!(
                    "unknown cancellation reason `{s}` (expected one of: {})",
                    CANCEL_REASONS.join(", ")
                ),
            );
        }
        r
    };
    let cancel_reason = reason(p, &base.key("cancel_reason"), &raw.cancel_reason);
    let mut cancel_reasons = BTreeMap::new();
    for (tag, r) in &raw.cancel_reasons {
        let path = base.key("cancel_reasons").key(tag);
        if tag.trim().is_empty() {
            p.err(&path, "empty tag name");
            ok = false;
        }
        match reason(p, &path, r) {
            Some(r) => {
                cancel_reasons.insert(tag.clone(), r);
            }
            None => ok = false,
        }
    }
    for (name, code) in &raw.carriers {
        if name.trim().is_empty() || code.trim().is_empty() {
            p.err(
                &base.key("carriers").key(name),
                "carrier names and codes must not be empty",
            );
            ok = false;
        }
    }
    if raw
        .default_carrier
        .as_deref()
        .is_some_and(|c| c.trim().is_empty())
    {
        p.err(&base.key("default_carrier"), "must not be empty when set");
        ok = false;
    }
    let policy = match raw.return_policy.as_str() {
        "restock" => Some(ReturnPolicy::Restock),
        "scrap" => Some(ReturnPolicy::Scrap),
        other => {
            p.err(
                &base.key("return_policy"),
                format!(
                    "unknown return policy `{other}` (expected one of: {})",
                    ReturnPolicy::NAMES.join(", ")
                ),
            );
            None
        }
    };
    let window = p.range(
        &base.key("return_window_days"),
        raw.return_window_days,
        0,
        3650,
    );
    if !ok {
        return None;
    }
    Some(ChannelFulfilment {
        carriers: raw.carriers,
        default_carrier: raw.default_carrier,
        require_tracking: raw.require_tracking,
        cancel_reason: cancel_reason?,
        cancel_reasons,
        return_policy: policy?,
        return_window_days: window as u32,
        scrap_reasons: raw.scrap_reasons,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carriers_map_case_insensitively_and_fall_back() {
        let mut c = ChannelFulfilment::default();
        assert_eq!(c.carrier_code("UPS"), ("UPS".into(), None));
        c.carriers.insert("Standard delivery".into(), "USPS".into());
        c.default_carrier = Some("Other".into());
        assert_eq!(
            c.carrier_code("standard DELIVERY "),
            ("USPS".into(), Some("standard DELIVERY ".into()))
        );
        assert_eq!(
            c.carrier_code("Bpost"),
            ("Other".into(), Some("Bpost".into()))
        );
    }

    #[test]
    fn reasons_come_from_tags_else_the_default() {
        let mut c = ChannelFulfilment::default();
        c.cancel_reasons
            .insert("Buyer asked".into(), CancelReason::BuyerRequest);
        assert_eq!(
            c.reason_for(&["VIP".into(), "buyer ASKED".into()]),
            (CancelReason::BuyerRequest, Some("Buyer asked".into()))
        );
        assert_eq!(c.reason_for(&[]), (CancelReason::OutOfStock, None));
    }

    #[test]
    fn scrap_reasons_override_a_restock_policy() {
        let mut c = ChannelFulfilment {
            scrap_reasons: vec!["damaged".into()],
            ..Default::default()
        };
        assert!(c.scraps(Some("Damaged")));
        assert!(!c.scraps(Some("customer_changed_mind")));
        assert!(!c.scraps(None));
        c.return_policy = ReturnPolicy::Scrap;
        assert!(c.scraps(None));
    }

    #[test]
    fn every_reason_name_parses() {
        for r in CANCEL_REASONS {
            assert!(parse_cancel_reason(r).is_some(), "{r}");
        }
        assert!(parse_cancel_reason("nope").is_none());
    }
}
