//! The proof for small components, when the Lagrangian bound and the search leave a gap.
//!
//! Every plan takes one pattern per list. At prices π with Lagrangian value UB(π), a plan's value
//! is
//!
//!   V = UB(π) − Σ_s rc_s − Σ_{p unbooked} π_p,   rc_s = best_s(π) − (v(s, P_s) − π(P_s)) ≥ 0,
//!
//! so a plan worth more than a target T has Σ_s rc_s + Σ_{p unbooked} π_p < UB(π) − T, and in
//! particular every one of its patterns has rc < UB(π) − T. The proof lists, for every list, the
//! patterns within that margin (`pricing::enumerate`), then searches depth first for disjoint
//! patterns, one per list, whose reduced costs and lost prices stay within it. A branch is cut
//! when its reduced costs so far, the prices of the patients no list still to choose can take,
//! and each remaining list's cheapest completion (its cheapest pattern that fits with the cases
//! taken, plus the prices of the cases only it can still take and leaves out) already reach the
//! margin. A plan found raises T; when the search ends, no plan is worth more than T, which is
//! then a proven bound. The patterns that fit with the cases taken are read from bit columns
//! (`Columns`), and the list chosen last is sorted so that its first fitting pattern is the best
//! completion (`Last`).
//!
//! Bed nights: with bed-night prices μ as well, a plan's value is UB(π, μ) less the same terms
//! and less μ_g times each night's unused beds, so the cuts (which leave that last term out)
//! stay valid; the walk counts each night's beds as it chooses patterns, never takes a pattern
//! that would overfill a night, and values a complete plan with its unused beds.

use super::bound::reduced;
use super::dense::{Dense, Local, LocalPlan};
use super::pricing::{enumerate, unit_of, Knapsack, Work};

/// Free patients a component may have for the proof (one bit each).
pub const MAX_PATIENTS: usize = 128;

/// What a proof attempt found.
pub struct Proof {
    /// A proven upper bound, when the search ran to its end.
    pub bound: Option<f64>,
    /// A better plan than the incumbent, and its value.
    pub plan: Option<(LocalPlan, f64)>,
    pub work: Work,
}

/// One list's patterns within the margin: (cases as bits of local patients, reduced cost,
/// candidate positions), cheapest first.
type Patterns = Vec<(u128, f64, Vec<u32>)>;

struct Walk<'a> {
    /// Per list, its patterns' case bits and reduced costs, cheapest first (the patterns' own
    /// order, kept apart so that the scans read only what they need).
    masks: &'a [Vec<u128>],
    rcs: &'a [Vec<f64>],
    /// Per list, its patterns as bit columns in that order.
    columns: &'a [Columns],
    /// Lists in the order they are chosen.
    order: &'a [usize],
    /// Bits of the patients the lists from each depth on may take (`reach_from[order.len()]` = 0).
    reach_from: &'a [u128],
    /// Per depth d and position j ≥ d: the patients the list at j may take and no other list
    /// from depth d on may.
    exclusive: &'a [Vec<u128>],
    /// The list chosen last, in the order that values a complete plan.
    last: &'a Last,
    price: &'a [f64],
    /// Per list, its patterns' beds taken on the list's night, and the night.
    beds: &'a [Vec<i64>],
    night_of: &'a [Option<u32>],
    night_beds: &'a [i64],
    night_price: &'a [f64],
    /// Beds taken on each night by the patterns chosen so far.
    taken: Vec<i64>,
    /// Whether the beds taken fit in the memo's key (mixed radix); else there is no memo.
    memo: bool,
    free: u128,
    /// A branch is cut when its waste reaches this.
    limit: f64,
    /// Where the best plan's waste must go below to count (UB − (value + margin)).
    nodes: Work,
    max_nodes: Work,
    chosen: Vec<usize>,
    /// The best choice found: pattern index per list in `order`, and its waste.
    found: Option<(Vec<usize>, f64)>,
    ub: f64,
    margin: f64,
    /// Per depth, the least reduced cost each set of cases taken was reached with: a later visit
    /// with no less is no better. (The set as two words: an entry of 24 bytes rather than 48,
    /// which keeps more of the table in cache.)
    seen: Vec<std::collections::HashMap<(u64, u64, u64), f64, BuildMix>>,
}

fn price_of(mut mask: u128, price: &[f64]) -> f64 {
    let mut sum = 0.0;
    while mask != 0 {
        sum += price[mask.trailing_zeros() as usize];
        mask &= mask - 1;
    }
    sum
}

/// A list's patterns as bit columns: for each case the list may take, a row with one bit per
/// pattern (in the list's order) that holds the case. The patterns that avoid a set of cases
/// are the zero bits of the OR of those cases' rows, read 64 patterns at a time.
struct Columns {
    reach: u128,
    /// Row of each local patient (`u32::MAX` for those outside `reach`); fewer than
    /// `MAX_PATIENTS`, so a row number fits in a byte.
    row: Vec<u32>,
    words: usize,
    bits: Vec<u64>,
}

impl Columns {
    fn new(masks: &[u128], reach: u128) -> Columns {
        let words = masks.len().div_ceil(64);
        let mut row = vec![u32::MAX; MAX_PATIENTS];
        let mut rows = 0;
        let mut m = reach;
        while m != 0 {
            row[m.trailing_zeros() as usize] = rows;
            rows += 1;
            m &= m - 1;
        }
        let mut bits = vec![0u64; rows as usize * words];
        for (j, &mask) in masks.iter().enumerate() {
            let mut m = mask;
            while m != 0 {
                let r = row[m.trailing_zeros() as usize] as usize;
                bits[r * words + j / 64] |= 1 << (j % 64);
                m &= m - 1;
            }
        }
        Columns {
            reach,
            row,
            words,
            bits,
        }
    }

    /// The positions below `end` of the patterns that take none of `used`, in order.
    fn avoiding(&self, used: u128, end: usize) -> Avoiding<'_> {
        let mut rows = [0u8; MAX_PATIENTS];
        let mut n = 0;
        let mut m = used & self.reach;
        while m != 0 {
            rows[n] = self.row[m.trailing_zeros() as usize] as u8;
            n += 1;
            m &= m - 1;
        }
        Avoiding {
            columns: self,
            rows,
            n,
            next_word: 0,
            base: 0,
            fits: 0,
            end,
        }
    }
}

struct Avoiding<'a> {
    columns: &'a Columns,
    rows: [u8; MAX_PATIENTS],
    n: usize,
    next_word: usize,
    /// Position of bit 0 of `fits`.
    base: usize,
    fits: u64,
    end: usize,
}

impl Iterator for Avoiding<'_> {
    type Item = usize;

    fn next(&mut self) -> Option<usize> {
        loop {
            if self.fits != 0 {
                let j = self.base + self.fits.trailing_zeros() as usize;
                self.fits &= self.fits - 1;
                return Some(j);
            }
            let w = self.next_word;
            if w * 64 >= self.end {
                return None;
            }
            self.next_word += 1;
            let words = self.columns.words;
            let clash = self.rows[..self.n]
                .iter()
                .fold(0u64, |c, &r| c | self.columns.bits[r as usize * words + w]);
            let mut fits = !clash;
            let left = self.end - w * 64;
            if left < 64 {
                fits &= (1u64 << left) - 1;
            }
            self.base = w * 64;
            self.fits = fits;
        }
    }
}

/// The list chosen last. Once it is chosen every case is booked or not, so a complete plan
/// wastes the waste so far, the prices of the cases still open to this list, and its pattern's
/// reduced cost less the prices of the cases it takes: its patterns in the order of that last
/// term (`key`), so that the best completion is the first pattern that avoids the cases taken.
struct Last {
    keys: Vec<f64>,
    /// The pattern (its position in the list's own order) at each position of this order.
    index: Vec<u32>,
    columns: Columns,
}

impl Last {
    fn new(masks: &[u128], rcs: &[f64], price: &[f64], reach: u128) -> Last {
        let key = |i: u32| rcs[i as usize] - price_of(masks[i as usize], price);
        let mut index: Vec<u32> = (0..masks.len() as u32).collect();
        index.sort_by(|&a, &b| key(a).total_cmp(&key(b)).then(a.cmp(&b)));
        let keys = index.iter().map(|&i| key(i)).collect();
        let ordered: Vec<u128> = index.iter().map(|&i| masks[i as usize]).collect();
        Last {
            keys,
            index,
            columns: Columns::new(&ordered, reach),
        }
    }
}

impl<'a> Walk<'a> {
    /// The beds taken so far as one number (mixed radix over the nights' beds).
    fn beds_key(&self) -> u64 {
        self.taken
            .iter()
            .zip(self.night_beds)
            .fold(0u64, |key, (&t, &b)| key * (b as u64 + 1) + t as u64)
    }

    /// Depth-first over the lists in order; false when the node budget ran out.
    fn walk(&mut self, depth: usize, used: u128, rc: f64) -> bool {
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return false;
        }
        // The cut comes before the memo: a state cut here is cut again on any later visit with
        // no less reduced cost (the limit only falls), so it need not be remembered.
        let waste = rc + price_of(self.free & !used & !self.reach_from[depth], self.price);
        if waste >= self.limit {
            return true;
        }
        if self.memo {
            let key = (used as u64, (used >> 64) as u64, self.beds_key());
            match self.seen[depth].entry(key) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    if *e.get() <= rc + 1e-12 {
                        return true;
                    }
                    e.insert(rc);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(rc);
                }
            }
        }
        if depth == self.order.len() {
            // A plan worth UB − waste − the prices of its unused beds: the best so far.
            let unused: f64 = (0..self.taken.len())
                .map(|g| self.night_price[g] * (self.night_beds[g] - self.taken[g]) as f64)
                .sum();
            let waste = waste + unused;
            if waste >= self.limit {
                return true;
            }
            self.found = Some((self.chosen.clone(), waste));
            let value = self.ub - waste;
            self.limit = self.ub - value - self.margin;
            return true;
        }
        let open = self.free & !used;
        let l = self.order[depth];
        let own = self.exclusive[depth][depth] & open;
        let own_price = price_of(own, self.price);
        if depth + 1 == self.order.len() {
            return self.last(depth, used, rc, waste + own_price);
        }
        // Each list still to choose pays at least its cheapest pattern that fits, with the prices
        // of the patients only it can still take and leaves out (they are unbooked in any plan
        // below); the scan stops (and cuts the branch) once the patterns cost more than the
        // slack left.
        let mut rest = 0.0;
        for (j, &m) in self.order.iter().enumerate().skip(depth + 1) {
            let slack = self.limit - waste - rest;
            let only = self.exclusive[depth][j] & open;
            let only_price = price_of(only, self.price);
            let (masks, rcs) = (&self.masks[m], &self.rcs[m]);
            let end = rcs.partition_point(|&r| r < slack);
            let mut cheapest = f64::INFINITY;
            for i in self.columns[m].avoiding(used, end) {
                let r = rcs[i];
                if r >= cheapest {
                    break;
                }
                if only_price <= 0.0 {
                    cheapest = r;
                    break;
                }
                cheapest = cheapest.min(r + only_price - price_of(only & masks[i], self.price));
            }
            if cheapest >= slack {
                return true;
            }
            rest += cheapest;
        }
        let columns: &'a Columns = &self.columns[l];
        let (masks, rcs): (&'a [u128], &'a [f64]) = (&self.masks[l], &self.rcs[l]);
        let end = rcs.partition_point(|&r| waste + r + rest < self.limit);
        for i in columns.avoiding(used, end) {
            let (mask, r) = (masks[i], rcs[i]);
            if waste + r + rest >= self.limit {
                break;
            }
            if own_price > 0.0
                && waste + r + rest + own_price - price_of(own & mask, self.price) >= self.limit
            {
                continue;
            }
            if !self.branch(depth, l, i, used | mask, rc + r) {
                return false;
            }
        }
        true
    }

    /// The last list's patterns that avoid the cases taken, best completion first; `base` is the
    /// waste so far with the prices of the cases still open to the list.
    fn last(&mut self, depth: usize, used: u128, rc: f64, base: f64) -> bool {
        let l = self.order[depth];
        let last: &'a Last = self.last;
        let end = last.keys.partition_point(|&k| base + k < self.limit);
        for j in last.columns.avoiding(used, end) {
            if base + last.keys[j] >= self.limit {
                break;
            }
            let i = last.index[j] as usize;
            if !self.branch(depth, l, i, used | self.masks[l][i], rc + self.rcs[l][i]) {
                return false;
            }
        }
        true
    }

    /// Takes pattern `i` of list `l` at `depth` (when its night has the beds) and walks on;
    /// false when the node budget ran out.
    fn branch(&mut self, depth: usize, l: usize, i: usize, used: u128, rc: f64) -> bool {
        let (night, beds) = (self.night_of[l], self.beds[l][i]);
        if let Some(g) = night {
            if self.taken[g as usize] + beds > self.night_beds[g as usize] {
                return true;
            }
            self.taken[g as usize] += beds;
        }
        self.chosen.push(i);
        let complete = self.walk(depth + 1, used, rc);
        self.chosen.pop();
        if let Some(g) = night {
            self.taken[g as usize] -= beds;
        }
        complete
    }
}

/// Tries to prove that no plan is worth more than `incumbent + margin`, at patient prices `price`
/// and bed-night prices `night_price` whose Lagrangian value is `ub`; finds better plans on the
/// way. Gives up (no bound) when a list has
/// more than `max_patterns` patterns within the margin or the search takes more than
/// `max_nodes` nodes.
#[allow(clippy::too_many_arguments)]
pub fn prove(
    dense: &Dense,
    price: &[f64],
    night_price: &[f64],
    ub: f64,
    incumbent: f64,
    margin: f64,
    max_patterns: usize,
    max_nodes: Work,
) -> Proof {
    let give_up = |work| Proof {
        bound: None,
        plan: None,
        work,
    };
    let free: Vec<usize> = (0..dense.patients.len()).filter(|&p| !dense.pinned[p]).collect();
    if free.len() > MAX_PATIENTS || dense.patients.len() > MAX_PATIENTS {
        return give_up(1);
    }
    let delta = ub - incumbent - margin;
    if delta <= 0.0 {
        return Proof {
            bound: Some(ub),
            plan: None,
            work: 1,
        };
    }
    let mut ks = Knapsack::default();
    let mut chosen = Vec::new();
    let mut work: Work = 0;
    let mut patterns: Vec<Patterns> = Vec::with_capacity(dense.lists.len());
    let mut reach: Vec<u128> = Vec::with_capacity(dense.lists.len());
    for (l, list) in dense.lists.iter().enumerate() {
        let unit = unit_of(list);
        let mu = list.night.map_or(0.0, |g| night_price[g as usize]);
        let profit = |k: usize| Some(reduced(list, k, price, mu));
        let best = ks.best(dense, l, unit, profit, &mut chosen);
        work += best.work;
        let Some(found) = enumerate(dense, l, unit, profit, best.value, delta, max_patterns) else {
            return give_up(work);
        };
        let mut own: Patterns = found
            .into_iter()
            .map(|(ks, value)| {
                let mask = ks.iter().fold(0u128, |m, &k| m | 1 << list.cands[k as usize]);
                (mask, best.value - value, ks)
            })
            .collect();
        work += own.len() as Work;
        own.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.2.cmp(&b.2)));
        patterns.push(own);
        reach.push(list.cands.iter().fold(0u128, |m, &p| m | 1 << p));
    }
    let mut order: Vec<usize> = (0..dense.lists.len()).collect();
    order.sort_by_key(|&l| (patterns[l].len(), l));
    let free_mask = free.iter().fold(0u128, |m, &p| m | 1 << p);
    let masks: Vec<Vec<u128>> = patterns
        .iter()
        .map(|own| own.iter().map(|p| p.0).collect())
        .collect();
    let rcs: Vec<Vec<f64>> = patterns
        .iter()
        .map(|own| own.iter().map(|p| p.1).collect())
        .collect();
    let beds: Vec<Vec<i64>> = patterns
        .iter()
        .zip(&dense.lists)
        .map(|(own, list)| {
            own.iter()
                .map(|p| p.2.iter().filter(|&&k| list.bed[k as usize]).count() as i64)
                .collect()
        })
        .collect();
    let night_of: Vec<Option<u32>> = dense.lists.iter().map(|l| l.night).collect();
    // The memo's key holds the beds taken when the nights' mixed radix fits in 64 bits.
    let memo = dense
        .night_beds
        .iter()
        .try_fold(1u64, |range, &b| range.checked_mul(b as u64 + 1))
        .is_some();
    let mut reach_from = vec![0u128; order.len() + 1];
    for d in (0..order.len()).rev() {
        reach_from[d] = reach_from[d + 1] | reach[order[d]];
    }
    let exclusive: Vec<Vec<u128>> = (0..=order.len())
        .map(|d| {
            (0..order.len())
                .map(|j| {
                    if j < d {
                        return 0;
                    }
                    let others = (d..order.len())
                        .filter(|&i| i != j)
                        .fold(0u128, |m, i| m | reach[order[i]]);
                    reach[order[j]] & !others
                })
                .collect()
        })
        .collect();
    let columns: Vec<Columns> = masks
        .iter()
        .zip(&reach)
        .map(|(masks, &reach)| Columns::new(masks, reach))
        .collect();
    let last = match order.last() {
        Some(&l) => Last::new(&masks[l], &rcs[l], price, reach[l]),
        None => Last::new(&[], &[], price, 0),
    };
    let mut walk = Walk {
        last: &last,
        exclusive: &exclusive,
        columns: &columns,
        masks: &masks,
        rcs: &rcs,
        order: &order,
        reach_from: &reach_from,
        price,
        beds: &beds,
        night_of: &night_of,
        night_beds: &dense.night_beds,
        night_price,
        taken: vec![0; dense.night_beds.len()],
        memo,
        free: free_mask,
        limit: delta,
        nodes: 0,
        max_nodes,
        chosen: Vec::with_capacity(order.len()),
        found: None,
        ub,
        margin,
        seen: (0..=order.len())
            .map(|_| std::collections::HashMap::default())
            .collect(),
    };
    let complete = walk.walk(0, 0, 0.0);
    work += walk.nodes * 4;
    let plan = walk.found.map(|(picks, _)| {
        let mut plan: Vec<Option<(u32, u32)>> = vec![None; dense.patients.len()];
        for (depth, &i) in picks.iter().enumerate() {
            let l = order[depth];
            for &k in &patterns[l][i].2 {
                let p: Local = dense.lists[l].cands[k as usize];
                plan[p as usize] = Some((l as u32, k));
            }
        }
        let (fits, value) = super::search::plan_value(dense, &plan);
        debug_assert!(fits, "disjoint patterns that each fit make a plan that fits");
        (plan, value)
    });
    let best = plan.as_ref().map_or(incumbent, |(_, v)| v.max(incumbent));
    Proof {
        bound: complete.then(|| ub.min(best + margin)),
        plan,
        work,
    }
}

/// The memo's hasher: its keys are (depth, set of used patients), not caller-controlled, so a
/// multiply-and-fold mix does; SipHash took a fifth of a small proof's time.
#[derive(Default, Clone, Copy)]
struct BuildMix;

impl std::hash::BuildHasher for BuildMix {
    type Hasher = Mix;
    fn build_hasher(&self) -> Mix {
        Mix(0)
    }
}

struct Mix(u64);

impl std::hash::Hasher for Mix {
    fn finish(&self) -> u64 {
        // A final avalanche, so that the table's low and high bits both depend on every bit of
        // the key (without it, probe sequences grew long and took half the proof's time).
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(23) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
    fn write_u128(&mut self, n: u128) {
        self.write_u64(n as u64);
        self.write_u64((n >> 64) as u64);
    }
}
