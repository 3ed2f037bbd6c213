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
//! patterns, one per list, whose reduced costs and lost prices stay within it, branching at each
//! node on the list with the fewest patterns that still fit (fail first). A branch is cut
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
use super::columns::{price_of, Columns, Last};
use super::dense::{Dense, Local, LocalPlan};
use super::pricing::{enumerate, unit_of, Found, Knapsack, Work};

/// Free patients a component may have for the proof (one bit each).
pub const MAX_PATIENTS: usize = super::columns::MAX_ROWS;

/// Lists a component may have for the proof.
pub const MAX_LISTS: usize = 60;

/// What a proof attempt found.
pub struct Proof {
    /// A proven upper bound, when the search ran to its end.
    pub bound: Option<f64>,
    /// A better plan than the incumbent, and its value.
    pub plan: Option<(LocalPlan, f64)>,
    pub work: Work,
}

struct Walk<'a> {
    /// Per list, its patterns' case bits and reduced costs, cheapest first (the patterns' own
    /// order, kept apart so that the scans read only what they need).
    masks: &'a [Vec<u128>],
    rcs: &'a [Vec<f64>],
    /// Per list, its patterns as bit columns in that order.
    columns: &'a [Columns],
    /// Per list, the patients it may take.
    reach: &'a [u128],
    /// Lists by their number of patterns (the order ties are broken in).
    lists: &'a [usize],
    /// Per list, its patterns in the order that values a complete plan when it is chosen last
    /// (built when first needed).
    lasts: &'a [std::cell::OnceCell<Last>],
    price: &'a [f64],
    /// Per list, its patterns' beds taken on the list's night, and the night.
    beds: &'a [Vec<i64>],
    night_of: &'a [Option<u32>],
    night_beds: &'a [i64],
    night_price: &'a [f64],
    /// Beds taken on each night by the patterns chosen so far.
    taken: Vec<i64>,
    /// Whether the beds taken and the lists chosen fit in the memo's key; else there is no memo.
    memo: bool,
    free: u128,
    /// A branch is cut when its waste reaches this.
    limit: f64,
    nodes: Work,
    max_nodes: Work,
    /// The (list, pattern) pairs chosen so far.
    chosen: Vec<(usize, usize)>,
    /// The best choice found, and its waste.
    found: Option<(Vec<(usize, usize)>, f64)>,
    ub: f64,
    margin: f64,
    /// Per depth, the least reduced cost each state (cases taken, beds taken, lists chosen) was
    /// reached with: a later visit with no less is no better.
    seen: Vec<std::collections::HashMap<(u64, u64, u64), f64, BuildMix>>,
}

/// A remaining list's cheapest completion at a node, and the cases only it can still take.
#[derive(Clone, Copy)]
struct Completion {
    list: usize,
    cheapest: f64,
    /// The patients only this list, of those remaining, can take.
    only: u128,
}

impl<'a> Walk<'a> {
    /// The beds taken and the lists chosen as one number (mixed radix over the nights' beds,
    /// then a bit per list).
    fn state_key(&self, done: u64) -> u64 {
        let beds = self
            .taken
            .iter()
            .zip(self.night_beds)
            .fold(0u64, |key, (&t, &b)| key * (b as u64 + 1) + t as u64);
        (beds << self.lists.len()) | done
    }

    /// Depth-first; `done` holds the lists chosen. False when the node budget ran out.
    fn walk(&mut self, depth: usize, done: u64, used: u128, rc: f64) -> bool {
        self.nodes += 1;
        if self.nodes > self.max_nodes {
            return false;
        }
        let lists: &'a [usize] = self.lists;
        let left = || lists.iter().copied().filter(move |&l| done & (1 << l) == 0);
        let reach_left = left().fold(0u128, |m, l| m | self.reach[l]);
        // The cut comes before the memo: a state cut here is cut again on any later visit with
        // no less reduced cost (the limit only falls), so it need not be remembered.
        let waste = rc + price_of(self.free & !used & !reach_left, self.price);
        if waste >= self.limit {
            return true;
        }
        if self.memo {
            let key = (used as u64, (used >> 64) as u64, self.state_key(done));
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
        if depth == lists.len() {
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
        if depth + 1 == lists.len() {
            let l = left().next().expect("one list left");
            let base = waste + price_of(self.reach[l] & open, self.price);
            return self.last(depth, done, l, used, rc, base);
        }
        // Each list still to choose pays at least its cheapest completion: its cheapest pattern
        // that fits, with the prices of the patients only it can still take and leaves out
        // (they are unbooked in any plan below); the scan stops (and cuts the branch) once the
        // patterns cost more than the slack left.
        let mut completions = [Completion {
            list: 0,
            cheapest: 0.0,
            only: 0,
        }; MAX_LISTS];
        let mut n = 0;
        let mut rest = 0.0;
        for m in left() {
            let others = left().filter(|&o| o != m).fold(0u128, |r, o| r | self.reach[o]);
            let only = self.reach[m] & !others & open;
            let only_price = price_of(only, self.price);
            let slack = self.limit - waste - rest;
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
            completions[n] = Completion {
                list: m,
                cheapest,
                only,
            };
            n += 1;
        }
        // Branch on the list with the fewest patterns that fit within its slack (fail first).
        let mut pick = 0;
        let mut fewest = usize::MAX;
        for (c, completion) in completions[..n].iter().enumerate() {
            let m = completion.list;
            let others: f64 = completions[..n]
                .iter()
                .filter(|o| o.list != m)
                .map(|o| o.cheapest)
                .sum();
            let end = self.rcs[m].partition_point(|&r| waste + r + others < self.limit);
            let count = self.columns[m].count_avoiding(used, end, fewest);
            if count < fewest {
                fewest = count;
                pick = c;
            }
        }
        let Completion { list: l, only, .. } = completions[pick];
        let rest: f64 = completions[..n]
            .iter()
            .filter(|o| o.list != l)
            .map(|o| o.cheapest)
            .sum();
        let only_price = price_of(only, self.price);
        let columns: &'a Columns = &self.columns[l];
        let (masks, rcs): (&'a [u128], &'a [f64]) = (&self.masks[l], &self.rcs[l]);
        let end = rcs.partition_point(|&r| waste + r + rest < self.limit);
        for i in columns.avoiding(used, end) {
            let (mask, r) = (masks[i], rcs[i]);
            if waste + r + rest >= self.limit {
                break;
            }
            if only_price > 0.0
                && waste + r + rest + only_price - price_of(only & mask, self.price) >= self.limit
            {
                continue;
            }
            if !self.branch(depth, done, l, i, used | mask, rc + r) {
                return false;
            }
        }
        true
    }

    /// The last list's patterns that avoid the cases taken, best completion first; `base` is the
    /// waste so far with the prices of the cases still open to the list.
    fn last(&mut self, depth: usize, done: u64, l: usize, used: u128, rc: f64, base: f64) -> bool {
        let last: &'a Last =
            self.lasts[l].get_or_init(|| Last::new(&self.masks[l], &self.rcs[l], self.price, self.reach[l]));
        let end = last.keys.partition_point(|&k| base + k < self.limit);
        for j in last.columns.avoiding(used, end) {
            if base + last.keys[j] >= self.limit {
                break;
            }
            let i = last.index[j] as usize;
            if !self.branch(depth, done, l, i, used | self.masks[l][i], rc + self.rcs[l][i]) {
                return false;
            }
        }
        true
    }

    /// Takes pattern `i` of list `l` at `depth` (when its night has the beds) and walks on;
    /// false when the node budget ran out.
    fn branch(&mut self, depth: usize, done: u64, l: usize, i: usize, used: u128, rc: f64) -> bool {
        let (night, beds) = (self.night_of[l], self.beds[l][i]);
        if let Some(g) = night {
            if self.taken[g as usize] + beds > self.night_beds[g as usize] {
                return true;
            }
            self.taken[g as usize] += beds;
        }
        self.chosen.push((l, i));
        let complete = self.walk(depth + 1, done | 1 << l, used, rc);
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
    // Per list: its patterns as found, and their order by reduced cost.
    let mut found: Vec<(Found, Vec<u32>)> = Vec::with_capacity(dense.lists.len());
    let mut masks: Vec<Vec<u128>> = Vec::with_capacity(dense.lists.len());
    let mut rcs: Vec<Vec<f64>> = Vec::with_capacity(dense.lists.len());
    let mut beds: Vec<Vec<i64>> = Vec::with_capacity(dense.lists.len());
    let mut reach: Vec<u128> = Vec::with_capacity(dense.lists.len());
    for (l, list) in dense.lists.iter().enumerate() {
        let unit = unit_of(list);
        let mu = list.night.map_or(0.0, |g| night_price[g as usize]);
        let profit = |k: usize| Some(reduced(list, k, price, mu));
        let best = ks.best(dense, l, unit, profit, &mut chosen);
        work += best.work;
        let Some(own) = enumerate(dense, l, unit, profit, best.value, delta, max_patterns) else {
            return give_up(work);
        };
        work += own.len() as Work;
        let rc: Vec<f64> = own.values.iter().map(|v| best.value - v).collect();
        // Patterns are distinct sets of positions, so the order is total and an unstable sort
        // gives the same one.
        let mut index: Vec<u32> = (0..own.len() as u32).collect();
        index.sort_unstable_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            rc[a].total_cmp(&rc[b]).then_with(|| own.get(a).cmp(own.get(b)))
        });
        // Each pattern's cases as bits, reduced cost and beds, in that order.
        let (mut own_masks, mut own_rcs, mut own_beds) = (
            Vec::with_capacity(own.len()),
            Vec::with_capacity(own.len()),
            Vec::with_capacity(own.len()),
        );
        for &i in &index {
            let ks = own.get(i as usize);
            own_masks.push(ks.iter().fold(0u128, |m, &k| m | 1 << list.cands[k as usize]));
            own_rcs.push(rc[i as usize]);
            own_beds.push(ks.iter().filter(|&&k| list.bed[k as usize]).count() as i64);
        }
        masks.push(own_masks);
        rcs.push(own_rcs);
        beds.push(own_beds);
        reach.push(list.cands.iter().fold(0u128, |m, &p| m | 1 << p));
        found.push((own, index));
    }
    // The lists chosen are a bit each in one word (with the beds taken, in the memo's key).
    if dense.lists.len() > MAX_LISTS {
        return give_up(work);
    }
    let mut order: Vec<usize> = (0..dense.lists.len()).collect();
    order.sort_by_key(|&l| (masks[l].len(), l));
    let free_mask = free.iter().fold(0u128, |m, &p| m | 1 << p);
    let night_of: Vec<Option<u32>> = dense.lists.iter().map(|l| l.night).collect();
    // The memo's key holds the beds taken and the lists chosen when they fit in 64 bits.
    let memo = dense
        .night_beds
        .iter()
        .try_fold(1u64 << dense.lists.len(), |range, &b| {
            range.checked_mul(b as u64 + 1)
        })
        .is_some();
    let columns: Vec<Columns> = masks
        .iter()
        .zip(&reach)
        .map(|(masks, &reach)| Columns::new(masks, reach))
        .collect();
    let lasts: Vec<std::cell::OnceCell<Last>> = (0..dense.lists.len())
        .map(|_| std::cell::OnceCell::new())
        .collect();
    let mut walk = Walk {
        lasts: &lasts,
        columns: &columns,
        reach: &reach,
        lists: &order,
        masks: &masks,
        rcs: &rcs,
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
    let complete = walk.walk(0, 0, 0, 0.0);
    work += walk.nodes * 4;
    let plan = walk.found.map(|(picks, _)| {
        let mut plan: Vec<Option<(u32, u32)>> = vec![None; dense.patients.len()];
        for &(l, i) in &picks {
            let (own, index) = &found[l];
            for &k in own.get(index[i] as usize) {
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
