//! One channel's own rules: from its pool to what it would list.
//!
//! Kept separate from the multi-channel sharing so that each rule can be read (and tested)
//! on its own, and so that `allocate --dry-run` can say exactly which rule decided.

use serde::{Deserialize, Serialize};

/// How a percentage buffer and a unit buffer combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BufferMode {
    /// Hold back whichever is larger ("5 % or 5 units"): the usual merchant meaning.
    #[default]
    Max,
    /// Hold back both.
    Sum,
}

/// How a percentage buffer rounds (see ARCHITECTURE.md, "Allocation": the simulator found
/// that rounding the held part up hides a SKU's last unit on every channel with a buffer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BufferRounding {
    /// The held part rounds up, so the offer rounds down (10 % of 19 holds 2, lists 17; one
    /// unit with any percentage lists 0). The safest against oversells.
    #[default]
    Up,
    /// The held part rounds down: a percentage holds only whole units of it (10 % of 19
    /// holds 1, lists 18; 10 % of 9 holds 0, so the last units stay visible). Pair it with
    /// `scarce_at_or_below` so that only the top channels show the last units.
    Down,
}

/// A channel's stock rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRule {
    /// Higher sells first when stock is scarce.
    pub priority: u32,
    /// Bit `w` set: the channel sells from warehouse slot `w`.
    pub warehouses: u64,
    /// Buffer in basis points of the pool (10 % = 1000), rounded as `buffer_rounding` says.
    pub buffer_bp: u32,
    /// Buffer in units.
    pub buffer_units: i64,
    pub buffer_mode: BufferMode,
    pub buffer_rounding: BufferRounding,
    /// Below this the channel lists 0 (listing 1 or 2 units invites oversells on slow-syncing
    /// channels).
    pub min_qty: i64,
    /// Never list more than this (`i64::MAX`: no cap).
    pub max_qty: i64,
    /// Keep the last N units of the pool off this channel (they stay for faster channels).
    pub keep_last: i64,
    pub enabled: bool,
}

impl Default for ChannelRule {
    fn default() -> Self {
        ChannelRule {
            priority: 0,
            warehouses: u64::MAX,
            buffer_bp: 0,
            buffer_units: 0,
            buffer_mode: BufferMode::Max,
            buffer_rounding: BufferRounding::Up,
            min_qty: 0,
            max_qty: i64::MAX,
            keep_last: 0,
            enabled: true,
        }
    }
}

impl ChannelRule {
    pub(crate) fn validate(&self) -> Result<(), String> {
        if self.buffer_bp > 10_000 {
            return Err(format!("buffer {} bp is above 100 %", self.buffer_bp));
        }
        if self.buffer_units < 0 || self.min_qty < 0 || self.keep_last < 0 {
            return Err("buffer_units, min_qty and keep_last must not be negative".into());
        }
        if self.max_qty < self.min_qty {
            return Err(format!(
                "max_qty {} is below min_qty {}",
                self.max_qty, self.min_qty
            ));
        }
        Ok(())
    }
}

/// Which rule decided an offer (shown by `allocate --dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The channel is disabled.
    Disabled,
    /// Nothing available in the channel's warehouses.
    #[default]
    NoStock,
    /// A fixed quantity is configured for this SKU on this channel.
    Fixed,
    /// A fixed quantity larger than the pool: capped at the pool (never oversell).
    FixedCappedAtPool,
    /// The pool is within the last units kept off this channel.
    KeepLast,
    /// The buffer leaves nothing to list.
    Buffer,
    /// What is left after the buffer is below the channel's minimum.
    BelowMinimum,
    /// Capped at the channel's maximum.
    Maximum,
    /// The pool less the buffer.
    Buffered,
    /// Scarce stock: a higher-priority channel keeps the remaining units.
    ScarceLowerPriority,
    /// Strict mode: this channel's share of a contended pool.
    StrictShare,
    /// Strict mode: higher tiers took every unit.
    StrictNoneLeft,
}

impl Reason {
    pub fn describe(self) -> &'static str {
        match self {
            Reason::Disabled => "channel disabled",
            Reason::NoStock => "nothing available",
            Reason::Fixed => "fixed quantity for this SKU",
            Reason::FixedCappedAtPool => "fixed quantity capped at available",
            Reason::KeepLast => "last units kept off this channel",
            Reason::Buffer => "buffer leaves nothing",
            Reason::BelowMinimum => "below the channel minimum",
            Reason::Maximum => "channel maximum",
            Reason::Buffered => "available less buffer",
            Reason::ScarceLowerPriority => "scarce: higher-priority channels first",
            Reason::StrictShare => "strict: share of a contended pool",
            Reason::StrictNoneLeft => "strict: higher priorities took all",
        }
    }
}

/// What a channel's own rules list from `pool` (its available-to-sell), and why.
///
/// Order of rules: disabled → fixed quantity (capped at the pool) → keep-last → buffer
/// (percent rounded as [`ChannelRule::buffer_rounding`] says, and/or units) → minimum →
/// maximum.
/// Monotone in `pool`: a larger pool never yields a smaller offer.
pub fn desired_offer(rule: &ChannelRule, pool: i64, fixed: Option<i64>) -> (i64, Reason) {
    if !rule.enabled {
        return (0, Reason::Disabled);
    }
    if pool <= 0 {
        return (0, Reason::NoStock);
    }
    if let Some(f) = fixed {
        let f = f.max(0);
        return if f <= pool {
            (f, Reason::Fixed)
        } else {
            (pool, Reason::FixedCappedAtPool)
        };
    }
    let base = pool - rule.keep_last;
    if base <= 0 {
        return (0, Reason::KeepLast);
    }
    let held = buffer_held(rule, base);
    let after = base - held;
    if after <= 0 {
        return (0, Reason::Buffer);
    }
    if after < rule.min_qty {
        return (0, Reason::BelowMinimum);
    }
    if after > rule.max_qty {
        return (rule.max_qty, Reason::Maximum);
    }
    (after, Reason::Buffered)
}

/// Units the buffer holds back from `base` (the pool less the keep-last units): percent
/// (rounded as the rule says) and units combined by the buffer mode. Monotone in `base`, and
/// `base - held` is monotone too.
pub fn buffer_held(rule: &ChannelRule, base: i64) -> i64 {
    if base <= 0 {
        return 0;
    }
    let keep_bp = i128::from(10_000 - rule.buffer_bp.min(10_000));
    let pct = match rule.buffer_rounding {
        // base - floor(base × (1 − p)) without floats.
        BufferRounding::Up => base - (i128::from(base) * keep_bp / 10_000) as i64,
        // floor(base × p).
        BufferRounding::Down => (i128::from(base) * i128::from(rule.buffer_bp) / 10_000) as i64,
    };
    match rule.buffer_mode {
        BufferMode::Max => pct.max(rule.buffer_units),
        BufferMode::Sum => pct.saturating_add(rule.buffer_units),
    }
}
