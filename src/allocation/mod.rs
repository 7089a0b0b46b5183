//! Available-to-sell and per-channel offers: pure functions over plain data.
//!
//! The seed's core problem: with 100 units and several channels, listing 100 everywhere
//! oversells, a fixed split starves the hot channel, and the right answer is a shared pool with
//! fast sync and safety buffers. This module turns one SKU's stock (per warehouse) and the
//! channels' rules into the quantity each channel should show, and says which rule decided.
//!
//! It does no I/O and allocates nothing per SKU (the caller passes a reusable [`Scratch`]): the
//! stock job calls it for every SKU of a catalogue on every cycle, and the benchmark holds it to
//! ten million SKU-channel allocations per second on one core. Quantities are whole units
//! (`i64`): a marketplace lists integers, and fractional stock is floored at the edge.
//!
//! The algorithm, with a worked example, is in ARCHITECTURE.md ("Allocation").

mod divide;
mod rules;
#[cfg(test)]
mod tests;
pub mod transfers;

pub use divide::{divide_capped, divide_capped_naive};
pub use rules::{BufferMode, BufferRounding, ChannelRule, Reason, buffer_held, desired_offer};

/// How offers relate to the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Every channel is offered the pool less its own buffer (the seed's recommendation): the
    /// same unit may be visible on several channels, and buffers plus fast sync absorb the
    /// race. Sums across channels may exceed the pool.
    Shared,
    /// Offers never sum to more than available-to-sell: when channels would take more than
    /// the pool, units go by priority tier, split within a tier by weight.
    Strict,
}

/// Policy shared by all channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub mode: Mode,
    /// When the product's usable stock is at or below this many units it is *scarce*: only
    /// the highest-priority channels keep listing, fewer as stock falls (0 disables).
    pub scarce_at_or_below: i64,
    /// Weight channels within a priority tier by their recent sales velocity for the SKU.
    pub velocity_weighting: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            mode: Mode::Shared,
            scarce_at_or_below: 0,
            velocity_weighting: false,
        }
    }
}

/// One warehouse's stock of one product, in whole units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WarehouseStock {
    pub on_hand: i64,
    pub reserved: i64,
    /// Safety stock kept in this warehouse (already resolved: per-warehouse rule, else 0).
    pub safety: i64,
}

impl WarehouseStock {
    /// What this warehouse can sell: never below zero.
    pub fn available(&self) -> i64 {
        (self.on_hand - self.reserved - self.safety).max(0)
    }
}

/// Everything the allocator needs to know about one SKU.
#[derive(Debug, Clone, Copy)]
pub struct SkuInput<'a> {
    /// Indexed by warehouse slot (the bit positions used in [`ChannelRule::warehouses`]).
    pub warehouses: &'a [WarehouseStock],
    /// Safety stock for the product as a whole (global default or per-product rule),
    /// subtracted once from every pool.
    pub product_safety: i64,
    /// Units accepted on marketplaces that Odoo has not reserved yet (known to the daemon).
    pub pending: i64,
    /// Per channel: a fixed quantity for this SKU (`None`: rules apply). Empty: none.
    pub fixed: &'a [Option<i64>],
    /// Per channel: recent sales velocity for this SKU (any unit, e.g. units per week).
    /// Empty: all equal. Used only with [`Policy::velocity_weighting`].
    pub velocity: &'a [u32],
}

/// The quantity offered to one channel, and why.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Offer {
    /// What the channel should list.
    pub qty: i64,
    /// What the channel's own rules would list from its pool, before scarcity and strict sharing.
    pub desired: i64,
    /// Available-to-sell over the channel's warehouses (after safety and pending).
    pub pool: i64,
    pub reason: Reason,
}

/// Why an allocator could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AllocError {
    #[error("at most {max} channels can be allocated together, got {got}")]
    TooManyChannels { max: usize, got: usize },
    #[error("channel #{index}: {message}")]
    BadRule { index: usize, message: String },
}

/// Reusable per-thread working memory, so that [`Allocator::allocate`] never allocates.
#[derive(Debug, Clone)]
pub struct Scratch {
    avail: Vec<i64>,
    caps: Vec<i64>,
    weights: Vec<u64>,
    share: Vec<i64>,
    members: Vec<usize>,
}

impl Scratch {
    pub fn new(channels: usize, warehouses: usize) -> Self {
        Scratch {
            avail: Vec::with_capacity(warehouses.max(1)),
            caps: vec![0; channels],
            weights: vec![0; channels],
            share: vec![0; channels],
            members: Vec::with_capacity(channels),
        }
    }
}

/// The channels' rules, checked and pre-sorted once; then [`Allocator::allocate`] per SKU.
#[derive(Debug, Clone)]
pub struct Allocator {
    policy: Policy,
    rules: Vec<ChannelRule>,
    /// Channel indices by (priority desc, index asc).
    by_priority: Vec<usize>,
    /// Contiguous ranges of `by_priority` with equal priority, highest first.
    tiers: Vec<(usize, usize)>,
    /// Strict mode, precomputed from the rules: the enabled channels of each tier grouped by
    /// identical warehouse set (channels in one group share capacity exactly), tiers in order.
    groups: Vec<Group>,
    /// Warehouse slots by how many enabled channels sell from them, least shared first: the
    /// order strict mode draws units in, so contested stock stays for channels without an
    /// alternative.
    draw_order: Vec<u8>,
    /// Every enabled channel sells from the same warehouses.
    single_pool: bool,
}

#[derive(Debug, Clone)]
struct Group {
    set: u64,
    members: Vec<usize>,
}

/// Warehouse slots are bits of a `u64`.
pub const MAX_WAREHOUSES: usize = 64;
/// Bound on channels allocated together (far above any real shop; keeps scratch small).
pub const MAX_CHANNELS: usize = 128;

impl Allocator {
    pub fn new(policy: Policy, rules: Vec<ChannelRule>) -> Result<Self, AllocError> {
        if rules.len() > MAX_CHANNELS {
            return Err(AllocError::TooManyChannels {
                max: MAX_CHANNELS,
                got: rules.len(),
            });
        }
        for (index, r) in rules.iter().enumerate() {
            r.validate()
                .map_err(|message| AllocError::BadRule { index, message })?;
        }
        let mut by_priority: Vec<usize> = (0..rules.len()).collect();
        by_priority.sort_by_key(|&i| (std::cmp::Reverse(rules[i].priority), i));
        let mut tiers = Vec::new();
        let mut start = 0;
        for k in 1..=by_priority.len() {
            if k == by_priority.len()
                || rules[by_priority[k]].priority != rules[by_priority[start]].priority
            {
                tiers.push((start, k));
                start = k;
            }
        }
        let mut sharers = [0u32; MAX_WAREHOUSES];
        for r in rules.iter().filter(|r| r.enabled) {
            for (w, s) in sharers.iter_mut().enumerate() {
                if r.warehouses & (1u64 << w) != 0 {
                    *s += 1;
                }
            }
        }
        let mut draw_order: Vec<u8> = (0..MAX_WAREHOUSES as u8).collect();
        draw_order.sort_by_key(|&w| (sharers[w as usize], w));
        let mut groups: Vec<Group> = Vec::new();
        for &(start, end) in &tiers {
            let first_group = groups.len();
            for &c in &by_priority[start..end] {
                if !rules[c].enabled {
                    continue;
                }
                let set = rules[c].warehouses;
                match groups[first_group..].iter_mut().find(|g| g.set == set) {
                    Some(g) => g.members.push(c),
                    None => groups.push(Group {
                        set,
                        members: vec![c],
                    }),
                }
            }
        }
        let mut sets = rules.iter().filter(|r| r.enabled).map(|r| r.warehouses);
        let single_pool = match sets.next() {
            Some(first) => sets.all(|s| s == first),
            None => true,
        };
        Ok(Allocator {
            policy,
            rules,
            by_priority,
            tiers,
            groups,
            draw_order,
            single_pool,
        })
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn rules(&self) -> &[ChannelRule] {
        &self.rules
    }

    /// A scratch buffer sized for this allocator.
    pub fn scratch(&self) -> Scratch {
        Scratch::new(self.rules.len(), MAX_WAREHOUSES)
    }

    /// Compute every channel's offer for one SKU into `out` (one entry per channel, in the
    /// order the rules were given).
    pub fn allocate(&self, sku: &SkuInput<'_>, scratch: &mut Scratch, out: &mut [Offer]) {
        let n = self.rules.len();
        debug_assert_eq!(out.len(), n);
        let deduct = sku.product_safety.max(0) + sku.pending.max(0);

        // Warehouse availability, and the product's usable total after global deductions.
        scratch.avail.clear();
        let mut total_avail = 0i64;
        for w in sku.warehouses.iter().take(MAX_WAREHOUSES) {
            let a = w.available();
            scratch.avail.push(a);
            total_avail += a;
        }
        let usable = (total_avail - deduct).max(0);

        // Each channel's pool and what its own rules would list.
        for (c, rule) in self.rules.iter().enumerate() {
            let mut own = 0i64;
            for (w, a) in scratch.avail.iter().enumerate() {
                if rule.warehouses & (1u64 << w) != 0 {
                    own += a;
                }
            }
            let pool = (own - deduct).max(0);
            let fixed = sku.fixed.get(c).copied().flatten();
            let (desired, reason) = desired_offer(rule, pool, fixed);
            out[c] = Offer {
                qty: desired,
                desired,
                pool,
                reason,
            };
        }

        if self.policy.scarce_at_or_below > 0 && usable <= self.policy.scarce_at_or_below {
            self.drop_lowest_when_scarce(usable, sku, scratch, out);
        }
        if self.policy.mode == Mode::Strict {
            self.share_strictly(deduct, sku, scratch, out);
        }
    }

    fn weight(&self, c: usize, sku: &SkuInput<'_>) -> u64 {
        if self.policy.velocity_weighting {
            // +1 so that a channel with no recent sales still gets its turn.
            u64::from(sku.velocity.get(c).copied().unwrap_or(0)) + 1
        } else {
            1
        }
    }

    /// Scarcity: rank the enabled channels by (priority desc, weight desc, index asc) and keep
    /// only the first `k = ceil(n × usable / threshold)` (at least one while anything is
    /// usable); the rest list 0. The ranking does not depend on stock and `k` grows with it, so
    /// more stock never lists on fewer channels, and a lower-priority channel never lists while
    /// a higher-priority one was dropped.
    fn drop_lowest_when_scarce(
        &self,
        usable: i64,
        sku: &SkuInput<'_>,
        scratch: &mut Scratch,
        out: &mut [Offer],
    ) {
        let enabled = self.rules.iter().filter(|r| r.enabled).count() as i64;
        if enabled == 0 {
            return;
        }
        let threshold = self.policy.scarce_at_or_below;
        let keep = if usable <= 0 {
            0
        } else {
            ((enabled * usable + threshold - 1) / threshold).clamp(1, enabled)
        };
        let mut rank = 0i64;
        for &(start, end) in &self.tiers {
            let tier = &self.by_priority[start..end];
            scratch.members.clear();
            scratch
                .members
                .extend(tier.iter().copied().filter(|&c| self.rules[c].enabled));
            if self.policy.velocity_weighting {
                scratch
                    .members
                    .sort_by_key(|&c| (std::cmp::Reverse(self.weight(c, sku)), c));
            }
            for &c in &scratch.members {
                rank += 1;
                if rank > keep && out[c].qty > 0 {
                    out[c].qty = 0;
                    out[c].reason = Reason::ScarceLowerPriority;
                }
            }
        }
    }

    /// Strict mode: hand out the usable units tier by tier (highest priority first), within a
    /// tier by the capped divisor method (D'Hondt), drawing each channel's units from its own
    /// warehouses, least-shared warehouse first. Units a tier cannot take flow to the next.
    /// Guarantee: every set of channels can be served together from the warehouses they sell
    /// from, after pending orders and product safety stock.
    fn share_strictly(
        &self,
        deduct: i64,
        sku: &SkuInput<'_>,
        scratch: &mut Scratch,
        out: &mut [Offer],
    ) {
        if self.single_pool {
            let wanted: i64 = out.iter().map(|o| o.qty).sum();
            let pool = self
                .rules
                .iter()
                .zip(out.iter())
                .find(|(r, _)| r.enabled)
                .map_or(0, |(_, o)| o.pool);
            if wanted <= pool {
                return; // Nothing contended: every channel gets what its rules say.
            }
        }
        let nw = scratch.avail.len() as u8;
        for group in &self.groups {
            let set = group.set;
            // Pending orders and product safety may be served from any warehouse, so every
            // group leaves them in its own warehouses: then every set of channels can be
            // served together (Hall's condition), whatever warehouses they share.
            let mut in_set = 0i64;
            for (w, a) in scratch.avail.iter().enumerate() {
                if set & (1u64 << w) != 0 {
                    in_set += a;
                }
            }
            let capacity = (in_set - deduct).max(0);
            let m = group.members.len();
            for (k, &d) in group.members.iter().enumerate() {
                scratch.caps[k] = out[d].qty.min(out[d].pool);
                scratch.weights[k] = self.weight(d, sku);
            }
            divide_capped(
                capacity,
                &scratch.caps[..m],
                &scratch.weights[..m],
                &mut scratch.share[..m],
            );
            let mut taken = 0i64;
            for (k, &d) in group.members.iter().enumerate() {
                let got = scratch.share[k];
                if got < out[d].qty {
                    out[d].qty = got;
                    out[d].reason = if got == 0 {
                        Reason::StrictNoneLeft
                    } else {
                        Reason::StrictShare
                    };
                }
                taken += got;
            }
            // Take the group's units out of its warehouses, least shared first.
            for &w in &self.draw_order {
                if taken == 0 {
                    break;
                }
                if w < nw && set & (1u64 << w) != 0 {
                    let t = taken.min(scratch.avail[w as usize]);
                    scratch.avail[w as usize] -= t;
                    taken -= t;
                }
            }
            debug_assert_eq!(taken, 0, "a group took more than its warehouses hold");
        }
        // Minimums: a strict share below a channel's minimum lists nothing (the units stay
        // unlisted rather than moving to others, which keeps every offer monotone in stock).
        for (c, rule) in self.rules.iter().enumerate() {
            if out[c].qty > 0 && out[c].qty < rule.min_qty {
                out[c].qty = 0;
                out[c].reason = Reason::BelowMinimum;
            }
        }
    }
}
