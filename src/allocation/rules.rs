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

/// A channel's stock rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRule {
    /// Higher sells first when stock is scarce.
    pub priority: u32,
    /// Bit `w` set: the channel sells from warehouse slot `w`.
    pub warehouses: u64,
    /// Buffer in basis points of the pool (10 % = 1000); the offer is rounded down.
    pub buffer_bp: u32,
    /// Buffer in units.
    pub buffer_units: i64,
    pub buffer_mode: BufferMode,
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
/// (percent rounded so the offer rounds down, and/or units) → minimum → maximum.
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
    // floor(base × (1 − bp/10000)) without floats: the held-back part rounds up.
    let keep_pct = base - (base as i128 * (10_000 - rule.buffer_bp) as i128 / 10_000) as i64;
    let held = match rule.buffer_mode {
        BufferMode::Max => keep_pct.max(rule.buffer_units),
        BufferMode::Sum => keep_pct.saturating_add(rule.buffer_units),
    };
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
