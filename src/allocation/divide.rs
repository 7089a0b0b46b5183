//! Splitting a contended pool: the divisor method (D'Hondt) with per-channel caps.
//!
//! Why D'Hondt: it is *house-monotone* — giving out one more unit never takes a unit away from
//! anyone — which is what makes strict-mode offers monotone in stock. Largest-remainder
//! (Hamilton) splitting is not (the Alabama paradox) and would make a channel's quantity drop
//! when stock rises.
//!
//! Definition (the naive form, kept for tests): hand out units one at a time; each goes to the
//! channel with the largest `weight / (given + 1)` among those below their cap, ties to the
//! lower index. [`divide_capped`] computes the same result in O(n²) per call independently of
//! the number of units, which matters when thousands of units are split every cycle.

/// Split `total` units: `out[c]` receives channel `c`'s share, never above `caps[c]`.
/// Weights of 0 count as 1. `caps`, `weights` and `out` have the same length (≤ 128).
pub fn divide_capped(total: i64, caps: &[i64], weights: &[u64], out: &mut [i64]) {
    let n = caps.len();
    debug_assert!(n <= 128 && weights.len() == n && out.len() == n);
    let cap_sum: i64 = caps.iter().map(|c| (*c).max(0)).sum();
    if total >= cap_sum {
        for c in 0..n {
            out[c] = caps[c].max(0);
        }
        return;
    }
    if total <= 0 {
        out.fill(0);
        return;
    }
    // Water-filling: allocate among the unfixed channels as if uncapped; every channel that
    // overshoots its cap is fixed at the cap (it would be capped in the capped allocation too,
    // since removing capacity only lowers the quotient threshold); repeat with what is left.
    let mut fixed: u128 = 0;
    for c in 0..n {
        if caps[c] <= 0 {
            out[c] = 0;
            fixed |= 1 << c;
        }
    }
    let mut remaining = total;
    loop {
        dhondt_uncapped(remaining, weights, fixed, out);
        let mut over = false;
        for c in 0..n {
            if fixed & (1 << c) == 0 && out[c] > caps[c] {
                out[c] = caps[c];
                fixed |= 1 << c;
                remaining -= caps[c];
                over = true;
            }
        }
        if !over {
            return;
        }
    }
}

fn weight(w: u64) -> u128 {
    u128::from(w.max(1))
}

/// Uncapped D'Hondt over the channels not in `fixed`, writing only their entries.
fn dhondt_uncapped(total: i64, weights: &[u64], fixed: u128, out: &mut [i64]) {
    let n = weights.len();
    let active = |c: usize| fixed & (1 << c) == 0;
    let w_sum: u128 = (0..n)
        .filter(|&c| active(c))
        .map(|c| weight(weights[c]))
        .sum();
    if w_sum == 0 {
        return;
    }
    let total_u = total.max(0) as u128;
    // Lower quota: every quotient ≥ W/T is among the top T, so start there.
    let mut given: i64 = 0;
    for c in 0..n {
        if active(c) {
            let a = (total_u * weight(weights[c]) / w_sum) as i64;
            out[c] = a;
            given += a;
        }
    }
    // Fewer than n units remain: hand them out by the largest next quotient.
    for _ in given..total {
        let mut best: Option<usize> = None;
        for c in 0..n {
            if !active(c) {
                continue;
            }
            best = match best {
                None => Some(c),
                Some(b) => {
                    // w_c/(a_c+1) > w_b/(a_b+1)  ⇔  w_c·(a_b+1) > w_b·(a_c+1); ties keep b.
                    let lhs = weight(weights[c]) * (out[b] as u128 + 1);
                    let rhs = weight(weights[b]) * (out[c] as u128 + 1);
                    if lhs > rhs { Some(c) } else { Some(b) }
                }
            };
        }
        match best {
            Some(b) => out[b] += 1,
            None => return,
        }
    }
}

/// The definition, one unit at a time. Slow; the reference for [`divide_capped`] in tests.
pub fn divide_capped_naive(total: i64, caps: &[i64], weights: &[u64], out: &mut [i64]) {
    let n = caps.len();
    out.fill(0);
    for _ in 0..total.max(0) {
        let mut best: Option<usize> = None;
        for c in 0..n {
            if out[c] >= caps[c] {
                continue;
            }
            best = match best {
                None => Some(c),
                Some(b) => {
                    let lhs = weight(weights[c]) * (out[b] as u128 + 1);
                    let rhs = weight(weights[b]) * (out[c] as u128 + 1);
                    if lhs > rhs { Some(c) } else { Some(b) }
                }
            };
        }
        match best {
            Some(b) => out[b] += 1,
            None => return,
        }
    }
}
