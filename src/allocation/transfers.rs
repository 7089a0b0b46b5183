//! Transfers between warehouses: which warehouse should send how many units to which.
//!
//! A warehouse that feeds channels which sell a SKU should hold enough of it to cover
//! `cover_days` of those sales; when it holds less while another warehouse holds more than its
//! own channels need, moving the difference beats listing 0 on the fast channel while the
//! units sit idle elsewhere. Pure: the stock job reads stock and velocities, calls
//! [`warehouse_needs`] and [`propose`], and does the I/O (a log line, a note in Odoo, a draft
//! internal transfer when configured).
//!
//! Demand is estimated from each channel's recent sales of the SKU (units over the velocity
//! window), split evenly over the warehouses the channel sells from. Estimates are `f64`
//! (rates, never money), rounded up to whole units once per warehouse.

use super::{ChannelRule, MAX_WAREHOUSES};

/// Settings of transfer proposals (from `[inventory]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferPolicy {
    /// Days of sales each warehouse should cover for the channels it feeds.
    pub cover_days: u32,
    /// The period the velocities were counted over, in days (at least 1).
    pub window_days: u32,
    /// Smallest transfer worth proposing (at least 1).
    pub min_qty: i64,
}

/// Move `qty` units from warehouse slot `from` to slot `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub from: usize,
    pub to: usize,
    pub qty: i64,
}

/// Units each of the first `nw` warehouse slots needs to cover `cover_days` of the sales of
/// the enabled channels it feeds (`velocity[c]` = units channel `c` sold in the window; empty
/// or missing = 0).
pub fn warehouse_needs(
    rules: &[ChannelRule],
    velocity: &[u32],
    nw: usize,
    policy: &TransferPolicy,
    out: &mut Vec<i64>,
) {
    let nw = nw.min(MAX_WAREHOUSES);
    let mut demand = [0f64; MAX_WAREHOUSES];
    let per_day = f64::from(policy.cover_days) / f64::from(policy.window_days.max(1));
    for (c, rule) in rules.iter().enumerate() {
        let v = velocity.get(c).copied().unwrap_or(0);
        if !rule.enabled || v == 0 {
            continue;
        }
        let fed = (0..nw)
            .filter(|&w| rule.warehouses & (1u64 << w) != 0)
            .count();
        if fed == 0 {
            continue;
        }
        let share = f64::from(v) * per_day / fed as f64;
        for (w, d) in demand.iter_mut().enumerate().take(nw) {
            if rule.warehouses & (1u64 << w) != 0 {
                *d += share;
            }
        }
    }
    out.clear();
    // A hair below an integer counts as that integer (sums of thirds and the like).
    out.extend(
        demand[..nw]
            .iter()
            .map(|d| (d - 1e-9).ceil().max(0.0) as i64),
    );
}

/// Transfers that bring every warehouse up to its need from the warehouses that hold more
/// than theirs. `available[w]` is what warehouse `w` can give away at most (on hand less
/// reserved and its safety stock). Largest shortfall first, each from the donors with the
/// largest surplus first; a donor never drops below its own need, a receiver never gets more
/// than its shortfall, and no piece is smaller than `min_qty`. Deterministic (ties by slot).
pub fn propose(available: &[i64], need: &[i64], policy: &TransferPolicy, out: &mut Vec<Transfer>) {
    out.clear();
    let n = available.len().min(need.len()).min(MAX_WAREHOUSES);
    let min_qty = policy.min_qty.max(1);
    let mut surplus = [0i64; MAX_WAREHOUSES];
    let mut short: Vec<(i64, usize)> = Vec::new();
    for w in 0..n {
        let a = available[w].max(0);
        if a < need[w] {
            short.push((need[w] - a, w));
        } else {
            surplus[w] = a - need[w].max(0);
        }
    }
    short.sort_by_key(|&(d, w)| (std::cmp::Reverse(d), w));
    let mut donors: Vec<usize> = (0..n).filter(|&w| surplus[w] > 0).collect();
    for (deficit, to) in short {
        let mut left = deficit;
        donors.sort_by_key(|&w| (std::cmp::Reverse(surplus[w]), w));
        for &from in &donors {
            if left < min_qty {
                break;
            }
            let qty = left.min(surplus[from]);
            if qty < min_qty {
                continue;
            }
            surplus[from] -= qty;
            left -= qty;
            out.push(Transfer { from, to, qty });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn policy() -> TransferPolicy {
        TransferPolicy {
            cover_days: 7,
            window_days: 14,
            min_qty: 1,
        }
    }

    fn ch(warehouses: u64) -> ChannelRule {
        ChannelRule {
            warehouses,
            ..ChannelRule::default()
        }
    }

    #[test]
    fn a_fast_channel_s_warehouse_gets_units_from_the_idle_one() {
        // Amazon sells from W0 only, 28 units in 14 days: W0 should cover 7 days = 14 units.
        // eBay sells from W1, nothing sold. W0 holds 3, W1 holds 40.
        let rules = [ch(0b01), ch(0b10)];
        let mut need = Vec::new();
        warehouse_needs(&rules, &[28, 0], 2, &policy(), &mut need);
        assert_eq!(need, vec![14, 0]);
        let mut out = Vec::new();
        propose(&[3, 40], &need, &policy(), &mut out);
        assert_eq!(
            out,
            vec![Transfer {
                from: 1,
                to: 0,
                qty: 11
            }]
        );
    }

    #[test]
    fn nothing_moves_when_no_one_has_spare_or_no_one_is_short() {
        let rules = [ch(0b01), ch(0b10)];
        let mut need = Vec::new();
        warehouse_needs(&rules, &[28, 28], 2, &policy(), &mut need);
        assert_eq!(need, vec![14, 14]);
        let mut out = Vec::new();
        propose(&[3, 14], &need, &policy(), &mut out);
        assert!(out.is_empty(), "{out:?}");
        propose(&[20, 30], &need, &policy(), &mut out);
        assert!(out.is_empty(), "{out:?}");
        // A disabled channel sells nothing here.
        let off = ChannelRule {
            enabled: false,
            ..ch(0b01)
        };
        warehouse_needs(&[off], &[28], 2, &policy(), &mut need);
        assert_eq!(need, vec![0, 0]);
    }

    #[test]
    fn demand_is_split_over_a_channel_s_warehouses_and_small_pieces_wait() {
        let rules = [ch(0b011), ch(0b100)];
        let mut need = Vec::new();
        // 30 units in 14 days, 7 days of cover, over two warehouses: 7.5 each → 8.
        warehouse_needs(&rules, &[30, 0], 3, &policy(), &mut need);
        assert_eq!(need, vec![8, 8, 0]);
        let mut out = Vec::new();
        let p = TransferPolicy {
            min_qty: 5,
            ..policy()
        };
        // W0 short by 2 (< 5): nothing; W1 short by 6: from W2.
        propose(&[6, 2, 50], &need, &p, &mut out);
        assert_eq!(
            out,
            vec![Transfer {
                from: 2,
                to: 1,
                qty: 6
            }]
        );
    }

    proptest! {
        #[test]
        fn proposals_respect_needs_and_surpluses(
            available in prop::collection::vec(-5i64..60, 1..6),
            need_in in prop::collection::vec(0i64..40, 6),
            min_qty in 1i64..6,
        ) {
            let n = available.len();
            let need = &need_in[..n];
            let p = TransferPolicy { min_qty, ..policy() };
            let mut out = Vec::new();
            propose(&available, need, &p, &mut out);
            let mut got = vec![0i64; n];
            let mut gave = vec![0i64; n];
            for t in &out {
                prop_assert!(t.from != t.to);
                prop_assert!(t.qty >= min_qty);
                got[t.to] += t.qty;
                gave[t.from] += t.qty;
            }
            for w in 0..n {
                let a = available[w].max(0);
                prop_assert!(got[w] == 0 || gave[w] == 0, "{w} both gives and gets: {out:?}");
                prop_assert!(a + got[w] <= need[w].max(a), "{w} gets more than its shortfall: {out:?}");
                prop_assert!(a - gave[w] >= need[w].min(a), "{w} gives below its own need: {out:?}");
            }
        }
    }
}
