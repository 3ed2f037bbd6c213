//! Pricing: the best pattern of one list for given per-case profits, by an exact 0/1 knapsack
//! over (capacity units, case count) with the list penalty applied exactly.
//!
//! The same knapsack serves the bound (profit = c[p,s] − π_p) and the search (profit = c[p,s] −
//! what taking p from its current list costs). It is exact, and three reductions keep it small
//! without losing exactness:
//! - a case whose profit cannot pay even with the most one case can save of the list penalty
//!   (one shortfall case and its minutes of under-use) never enters a best pattern;
//! - within one duration class, only the best ⌊free / load⌋ cases can ever enter the list;
//! - when under-use costs nothing, case counts beyond the list's target all cost the same, so the
//!   count layers stop at the target (the last layer holds "target or more").
//!
//! Capacity is counted in the largest unit that divides every load and the free minutes, so
//! the arithmetic is exact.

use super::dense::{Dense, DenseList};

/// Cells of the knapsack table updated: the unit of deterministic work.
pub type Work = u64;

#[derive(Debug, Clone, Copy)]
struct Item {
    k: u32,
    units: u32,
    profit: f64,
}

/// The best pattern found for a list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Best {
    /// Σ profit of the chosen cases + the pinned cases' value − the list penalty (0 for the
    /// empty pattern of a list without pinned cases).
    pub value: f64,
    /// Cells updated.
    pub work: Work,
}

/// Reusable buffers for the knapsack; one per worker.
#[derive(Default)]
pub struct Knapsack {
    items: Vec<Item>,
    dp: Vec<f64>,
    take: Vec<u8>,
    self_take: Vec<u8>,
    old: Vec<f64>,
}

/// The capacity unit of a list: the gcd of its free minutes and every candidate's load.
pub fn unit_of(list: &DenseList) -> i64 {
    let free = (list.capacity - list.pinned_load).max(0);
    list.load.iter().fold(free, |g, &l| gcd(g, l)).max(1)
}

fn gcd(a: i64, b: i64) -> i64 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// One item's pass over a row: dst[c] = max(dst[c], src[c] + r), recording where it improved.
/// Written so that the compiler vectorises it; on x86-64 processors with AVX2 (detected once),
/// the same loop compiled for AVX2 runs instead, four cells a step. Only additions and
/// comparisons, so both give the same bits.
#[inline]
fn relax(src: &[f64], dst: &mut [f64], take: &mut [u8], r: f64) {
    #[cfg(target_arch = "x86_64")]
    {
        if wide() {
            // SAFETY: `wide` has checked that this processor has AVX2.
            unsafe { relax_avx2(src, dst, take, r) };
            return;
        }
    }
    relax_plain(src, dst, take, r);
}

/// Whether this processor has AVX2 (asked once).
#[cfg(target_arch = "x86_64")]
fn wide() -> bool {
    static WIDE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *WIDE.get_or_init(|| std::arch::is_x86_feature_detected!("avx2"))
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn relax_avx2(src: &[f64], dst: &mut [f64], take: &mut [u8], r: f64) {
    relax_plain(src, dst, take, r);
}

#[inline(always)]
fn relax_plain(src: &[f64], dst: &mut [f64], take: &mut [u8], r: f64) {
    let n = dst.len().min(src.len()).min(take.len());
    let (src, dst, take) = (&src[..n], &mut dst[..n], &mut take[..n]);
    for c in 0..n {
        let v = src[c] + r;
        let better = v > dst[c];
        dst[c] = if better { v } else { dst[c] };
        take[c] = u8::from(better);
    }
}

impl Knapsack {
    /// The best pattern of list `l`: `profit(k)` is the profit of candidate `k` (position in the
    /// list's `cands`), `None` when it may not be taken. The chosen positions are written to
    /// `chosen` (pinned cases are implied and not listed).
    pub fn best(
        &mut self,
        dense: &Dense,
        l: usize,
        unit: i64,
        profit: impl Fn(usize) -> Option<f64>,
        chosen: &mut Vec<u32>,
    ) -> Best {
        chosen.clear();
        let list = &dense.lists[l];
        let costs = &dense.costs;
        let forced = list.pinned.len() as u32;
        let (forced_value, forced_touch) = (list.pinned_value, list.pinned_touch);
        let cap = (dense.free_minutes(l) / unit) as usize;
        let short_bonus = dense.shortfall_relief(l);

        // Candidates that could ever be in a best pattern, by duration class (the list's
        // candidates are kept sorted by load); within a class only the best ⌊cap / units⌋ can
        // enter, since any of them can stand in for any other.
        self.items.clear();
        let mut i = 0;
        let order = &list.by_load;
        while i < order.len() {
            let load = list.load[order[i] as usize];
            let mut j = i;
            while j < order.len() && list.load[order[j] as usize] == load {
                j += 1;
            }
            let units = (load / unit) as usize;
            if units <= cap {
                let room = cap.checked_div(units).unwrap_or(usize::MAX);
                let start = self.items.len();
                for &k in &order[i..j] {
                    let Some(r) = profit(k as usize) else { continue };
                    let relief =
                        short_bonus + costs.under * dense.minutes[list.cands[k as usize] as usize] as f64;
                    if r + relief <= 1e-12 {
                        continue;
                    }
                    self.items.push(Item {
                        k,
                        units: units as u32,
                        profit: r,
                    });
                }
                if self.items.len() - start > room {
                    self.items[start..]
                        .sort_unstable_by(|a, b| b.profit.total_cmp(&a.profit).then(a.k.cmp(&b.k)));
                    self.items.truncate(start + room);
                }
            }
            i = j;
        }

        // Count layers: exact counts, or up to the target with "target or more" in the last.
        let min_units = self
            .items
            .iter()
            .map(|it| it.units.max(1) as usize)
            .min()
            .unwrap_or(1);
        let max_n = self.items.len().min(cap / min_units);
        // Counts beyond the target all cost the same when under-use is free.
        let layers_cap = if costs.under > 0.0 {
            max_n
        } else {
            list.target.saturating_sub(forced) as usize
        };
        let (top, absorb) = if max_n > layers_cap {
            (layers_cap, true)
        } else {
            (max_n, false)
        };
        let width = cap + 1;
        let cells = (top + 1) * width;
        self.dp.clear();
        self.dp.resize(cells, f64::NEG_INFINITY);
        self.dp[0] = 0.0;
        // take[i][n][c]: item i improved cell (n, c) from layer n − 1; self_take[i][c]: from the
        // top layer itself (counts beyond the target). Rows an item cannot reach are never read.
        self.take.resize(self.items.len() * cells, 0);
        if absorb {
            self.self_take.resize(self.items.len() * width, 0);
            self.old.resize(width, 0.0);
        }
        // Gathering the candidates costs a unit each.
        let mut work: Work = list.cands.len() as Work;
        for (i, it) in self.items.iter().enumerate() {
            let u = it.units as usize;
            let r = it.profit;
            if absorb {
                let row = top * width;
                self.old.copy_from_slice(&self.dp[row..row + width]);
                let dst = &mut self.dp[row..row + width];
                let take = &mut self.self_take[i * width..(i + 1) * width];
                take[..u].fill(0);
                relax(&self.old[..width - u], &mut dst[u..], &mut take[u..], r);
                work += (width - u) as u64;
            }
            let reach = top.min(i + 1);
            for n in (0..reach).rev() {
                let (lower, upper) = self.dp.split_at_mut((n + 1) * width);
                let src = &lower[n * width..n * width + width - u];
                let dst = &mut upper[u..width];
                let base = i * cells + (n + 1) * width;
                let take = &mut self.take[base..base + width];
                take[..u].fill(0);
                relax(src, dst, &mut take[u..], r);
                work += (width - u) as u64;
            }
        }

        // The best state, list penalty applied.
        let t = costs.turnaround;
        let mut best = (f64::NEG_INFINITY, 0usize, 0usize);
        for n in 0..=top {
            let count = forced + n as u32;
            for c in 0..=cap {
                let v = self.dp[n * width + c];
                if v == f64::NEG_INFINITY {
                    continue;
                }
                let touch = forced_touch + c as i64 * unit - t * n as i64;
                let total = forced_value + v - costs.penalty(list, count, touch);
                if total > best.0 + 1e-12 {
                    best = (total, n, c);
                }
            }
        }
        work += cells as u64;
        let (value, mut n, mut c) = best;
        if value == f64::NEG_INFINITY {
            return Best { value, work };
        }
        for i in (0..self.items.len()).rev() {
            let it = self.items[i];
            let u = it.units as usize;
            if n >= 1 && self.take[i * cells + n * width + c] != 0 {
                chosen.push(it.k);
                n -= 1;
                c -= u;
            } else if absorb && n == top && self.self_take[i * width + c] != 0 {
                chosen.push(it.k);
                c -= u;
            }
        }
        debug_assert!(n == 0 && c == 0, "traceback ends at the empty state");
        Best { value, work }
    }
}

/// Patterns of one list, each as its candidate positions, with its value.
#[derive(Debug, Default)]
pub struct Found {
    /// Every pattern's positions, one pattern after another.
    positions: Vec<u32>,
    /// Where each pattern's positions end in `positions`.
    ends: Vec<u32>,
    pub values: Vec<f64>,
}

impl Found {
    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Pattern `i`'s positions, in the order of the list's candidates by falling profit.
    pub fn get(&self, i: usize) -> &[u32] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.positions[start..self.ends[i] as usize]
    }
}

/// Every pattern of list `l` whose value is within `delta` of the best pattern's (`best`), at most
/// `limit` of them (None when there are more).
///
/// Depth first over sets of candidates, each grown only by candidates after its last (in order
/// of falling profit), so every set is met once. A set is kept when its exact value is within
/// `delta`; a candidate is added only when the set with it can still be completed to within
/// `delta` (a suffix knapsack table bounds the best completion, with the shortfall part of the
/// list penalty only: the under-use part can only lower a value), and the candidates after one
/// whose bound, at the whole room left, falls short are skipped together (the bound only falls
/// along the order). No pattern within `delta` is missed.
#[allow(clippy::too_many_arguments)]
pub fn enumerate(
    dense: &Dense,
    l: usize,
    unit: i64,
    profit: impl Fn(usize) -> Option<f64>,
    best: f64,
    delta: f64,
    limit: usize,
) -> Option<Found> {
    let list = &dense.lists[l];
    let costs = &dense.costs;
    let forced = list.pinned.len() as u32;
    let cap = (dense.free_minutes(l) / unit) as usize;
    let short_bonus = dense.shortfall_relief(l);
    let mut items: Vec<Item> = Vec::new();
    for k in 0..list.cands.len() {
        let Some(r) = profit(k) else { continue };
        let units = (list.load[k] / unit) as usize;
        let relief = short_bonus + costs.under * dense.minutes[list.cands[k] as usize] as f64;
        if units <= cap && r + relief > -delta {
            items.push(Item {
                k: k as u32,
                units: units as u32,
                profit: r,
            });
        }
    }
    items.sort_by(|a, b| b.profit.total_cmp(&a.profit).then(a.k.cmp(&b.k)));
    let m = items.len();
    let top = (list.target.saturating_sub(forced) as usize).min(m);
    let width = cap + 1;
    let layer = (top + 1) * width;
    // suffix[i][n][r]: best profit of items i.. with n of them ("top or more" in the last layer)
    // within r units.
    let mut suffix = vec![f64::NEG_INFINITY; (m + 1) * layer];
    for r in 0..=cap {
        suffix[m * layer + r] = 0.0;
    }
    for i in (0..m).rev() {
        let (u, p) = (items[i].units as usize, items[i].profit);
        for n in 0..=top {
            for r in 0..=cap {
                let mut v = suffix[(i + 1) * layer + n * width + r];
                if r >= u {
                    if n > 0 {
                        v = v.max(suffix[(i + 1) * layer + (n - 1) * width + r - u] + p);
                    }
                    if n == top {
                        v = v.max(suffix[(i + 1) * layer + n * width + r - u] + p);
                    }
                }
                suffix[i * layer + n * width + r] = v;
            }
        }
    }
    let shortfall = |count: u32| {
        if count == 0 {
            0.0
        } else {
            costs.shortfall * f64::from(list.target.saturating_sub(count))
        }
    };
    // The most a set with `n` cases (capped at `top`) worth `partial` can be worth with any of
    // items `i..` within `room` units.
    let completed = |i: usize, n: usize, room: usize, partial: f64| {
        let mut bound = f64::NEG_INFINITY;
        for extra in 0..=top {
            let s = suffix[i * layer + extra * width + room];
            if s != f64::NEG_INFINITY {
                let count = forced + (n + extra) as u32;
                bound = bound.max(list.pinned_value + partial + s - shortfall(count));
            }
        }
        bound
    };
    let floor = best - delta - 1e-9;
    let mut out = Found::default();
    let mut chosen: Vec<u32> = Vec::new();
    // Each frame: a set, as its last item (m for the empty set), the next item that may join
    // it, its size (capped at `top`), units, profit, touch minutes and size.
    let mut stack: Vec<(usize, usize, usize, usize, f64, i64, usize)> = vec![(m, 0, 0, 0, 0.0, 0, 0)];
    while let Some((last, next, n, used, partial, touch, size)) = stack.pop() {
        chosen.truncate(size.saturating_sub(1));
        if last < m {
            chosen.push(last as u32);
        }
        let count = forced + size as u32;
        let value = list.pinned_value + partial - costs.penalty(list, count, list.pinned_touch + touch);
        if value >= floor {
            if out.len() >= limit {
                return None;
            }
            out.positions.extend(chosen.iter().map(|&j| items[j as usize].k));
            out.ends.push(out.positions.len() as u32);
            out.values.push(value);
        }
        let room = cap - used;
        let grown = (n + 1).min(top);
        // Popped in the order pushed (the pushed frames are reversed), so sets are met in order.
        let first = stack.len();
        for (j, it) in items.iter().enumerate().skip(next) {
            let (u, p) = (it.units as usize, it.profit);
            if u <= room && completed(j + 1, grown, room - u, partial + p) >= floor {
                let minutes = dense.minutes[list.cands[it.k as usize] as usize];
                stack.push((j, j + 1, grown, used + u, partial + p, touch + minutes, size + 1));
            } else if completed(j + 1, grown, room, partial + p) < floor {
                break;
            }
        }
        stack[first..].reverse();
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::super::dense::Weights;
    use super::super::Lcg;
    use super::*;
    use crate::planning::objective::ListCosts;

    /// A one-list component with the given candidates (minutes, coefficient).
    fn dense(capacity: i64, target: u32, cands: &[(i64, f64)], costs: Weights) -> Dense {
        let n = cands.len();
        Dense {
            patients: (0..n).collect(),
            pinned: vec![false; n],
            minutes: cands.iter().map(|c| c.0).collect(),
            lists: vec![DenseList {
                session: 0,
                capacity,
                target,
                costs: ListCosts::new(target, 0.8 * capacity as f64, 0.0, costs.shortfall, costs.under),
                pinned: vec![],
                pinned_load: 0,
                pinned_touch: 0,
                pinned_value: 0.0,
                cands: (0..n as u32).collect(),
                coef: cands.iter().map(|c| c.1).collect(),
                load: cands.iter().map(|c| c.0 + costs.turnaround).collect(),
                by_load: {
                    let mut v: Vec<u32> = (0..n as u32).collect();
                    v.sort_by_key(|&k| (cands[k as usize].0, k));
                    v
                },
                night: None,
                bed: vec![false; n],
            }],
            options: (0..n).map(|k| vec![(0, k as u32)]).collect(),
            pinned_on: vec![None; n],
            costs,
            night_beds: vec![],
        }
    }

    /// Every subset, by brute force.
    fn brute(d: &Dense, profit: &[f64]) -> f64 {
        let list = &d.lists[0];
        let n = list.cands.len();
        let mut best = f64::NEG_INFINITY;
        for mask in 0u32..(1 << n) {
            let ks: Vec<u32> = (0..n as u32).filter(|k| mask >> k & 1 == 1).collect();
            let load: i64 = ks.iter().map(|&k| list.load[k as usize]).sum();
            if load > list.capacity {
                continue;
            }
            let touch: i64 = ks.iter().map(|&k| d.minutes[k as usize]).sum();
            let v: f64 = ks.iter().map(|&k| profit[k as usize]).sum::<f64>()
                - d.costs.penalty(list, ks.len() as u32, touch);
            best = best.max(v);
        }
        best
    }

    #[test]
    fn the_knapsack_is_exact_against_every_subset() {
        let mut rng = Lcg(7);
        let mut next = || rng.unit();
        for case in 0..2000 {
            let under = if case % 3 == 0 { 0.02 } else { 0.0 };
            let costs = Weights {
                shortfall: 3.0,
                under,
                turnaround: 10,
            };
            let n = 1 + (next() * 11.0) as usize;
            let cands: Vec<(i64, f64)> = (0..n)
                .map(|_| (5 * (3 + (next() * 20.0) as i64), next() * 8.0 - 3.0))
                .collect();
            let capacity = 60 + (next() * 300.0) as i64;
            let target = (next() * 7.0) as u32;
            let d = dense(capacity, target, &cands, costs);
            let profit: Vec<f64> = d.lists[0].coef.clone();
            let mut ks = Knapsack::default();
            let mut chosen = Vec::new();
            let unit = unit_of(&d.lists[0]);
            let got = ks.best(&d, 0, unit, |k| Some(profit[k]), &mut chosen);
            let want = brute(&d, &profit);
            assert!(
                (got.value - want).abs() < 1e-9,
                "case {case}: {} vs {want}",
                got.value
            );
            // The chosen cases fit and are worth what was reported.
            let list = &d.lists[0];
            let load: i64 = chosen.iter().map(|&k| list.load[k as usize]).sum();
            assert!(load <= list.capacity);
            assert!((d.list_value(0, chosen.iter().copied()) - got.value).abs() < 1e-9);
        }
    }

    /// The patterns within a margin of the best are exactly the subsets that fit and are worth
    /// that much, each once, at its exact value; past the limit there is no answer.
    #[test]
    fn enumerate_finds_every_pattern_within_the_margin_once() {
        let mut rng = Lcg(13);
        for case in 0..1500 {
            let costs = Weights {
                shortfall: 3.0,
                under: if case % 3 == 0 { 0.02 } else { 0.0 },
                turnaround: 10,
            };
            let n = 1 + rng.below(11);
            let cands: Vec<(i64, f64)> = (0..n)
                .map(|_| (5 * (3 + rng.below(20)) as i64, rng.unit() * 8.0 - 3.0))
                .collect();
            let capacity = 60 + rng.below(300) as i64;
            let target = rng.below(7) as u32;
            let d = dense(capacity, target, &cands, costs);
            let list = &d.lists[0];
            // Profits other than the coefficients, as at prices.
            let profit: Vec<f64> = list.coef.iter().map(|c| c - rng.unit() * 2.0).collect();
            let best = brute(&d, &profit);
            let delta = rng.unit() * 6.0;
            let mut want: Vec<(Vec<u32>, f64)> = Vec::new();
            for mask in 0u32..(1 << n) {
                let ks: Vec<u32> = (0..n as u32).filter(|k| mask >> k & 1 == 1).collect();
                let load: i64 = ks.iter().map(|&k| list.load[k as usize]).sum();
                let touch: i64 = ks.iter().map(|&k| d.minutes[k as usize]).sum();
                let value = ks.iter().map(|&k| profit[k as usize]).sum::<f64>()
                    - d.costs.penalty(list, ks.len() as u32, touch);
                if load <= capacity && value >= best - delta {
                    want.push((ks, value));
                }
            }
            want.sort_by(|a, b| a.0.cmp(&b.0));
            let unit = unit_of(list);
            let found =
                enumerate(&d, 0, unit, |k| Some(profit[k]), best, delta, 1 << 12).expect("under the limit");
            let mut got: Vec<(Vec<u32>, f64)> = (0..found.len())
                .map(|i| {
                    let mut ks = found.get(i).to_vec();
                    ks.sort_unstable();
                    (ks, found.values[i])
                })
                .collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(
                got.iter().map(|g| &g.0).collect::<Vec<_>>(),
                want.iter().map(|w| &w.0).collect::<Vec<_>>(),
                "case {case}"
            );
            for (g, w) in got.iter().zip(&want) {
                assert!((g.1 - w.1).abs() < 1e-9, "case {case}: {} vs {}", g.1, w.1);
            }
            if !want.is_empty() {
                let limited = enumerate(&d, 0, unit, |k| Some(profit[k]), best, delta, want.len() - 1);
                assert!(limited.is_none(), "case {case}: more patterns than the limit");
            }
        }
    }

    /// The row pass gives the same bits whichever loop runs: rows with unreachable cells,
    /// ties and odd lengths.
    #[test]
    fn the_row_pass_is_the_same_on_every_processor() {
        let mut rng = Lcg(11);
        let mut next = || rng.unit();
        for len in 0..70 {
            let mut row = || -> Vec<f64> {
                (0..len)
                    .map(|_| match (next() * 4.0) as u32 {
                        0 => f64::NEG_INFINITY,
                        1 => 1.5,
                        _ => next() * 10.0 - 5.0,
                    })
                    .collect()
            };
            let (src, dst) = (row(), row());
            let r = if len % 2 == 0 { 0.0 } else { next() * 4.0 - 2.0 };
            let (mut a, mut b) = (dst.clone(), dst.clone());
            let (mut ta, mut tb) = (vec![9u8; len], vec![9u8; len]);
            relax(&src, &mut a, &mut ta, r);
            relax_plain(&src, &mut b, &mut tb, r);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&a), bits(&b), "row of {len}");
            assert_eq!(ta, tb, "row of {len}");
            // And both did the pass: each cell is the larger, marked where the item improved it.
            for c in 0..len {
                let v = src[c] + r;
                assert_eq!(a[c].to_bits(), dst[c].max(v).to_bits());
                assert_eq!(ta[c], u8::from(v > dst[c]));
            }
        }
    }
}
