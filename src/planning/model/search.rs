//! The plan: a local search over whole lists, ruin and recreate.
//!
//! Each iteration empties 2-4 lists that share candidates (a seed list and lists next to it) and
//! rebuilds them one by one, in random order, with the pricing knapsack. A candidate's profit on
//! the list being rebuilt is c[p,s] less what taking it costs: nothing when it is unbooked, the
//! value its current list loses without it otherwise. Patients left unbooked are then offered
//! every list they may go on, best gain first. The new plan is kept when its exact value is at
//! least the old one's (equal values let the search move along plateaus) or at least the working
//! plan's value `LATE_ACCEPTANCE` iterations ago (late acceptance, so the search can cross small
//! dips); otherwise every change is undone. The best plan seen is kept apart and is the one
//! returned. Once the bound has priced the patients, the lists are drawn in proportion to their
//! waste: what the list's pattern in the plan falls short of its best pattern at the bound's
//! prices, its part of the plan's gap to the bound. The random choices come from a fixed-seed
//! generator, so the same component and seed give the same plan.

use super::dense::{Dense, Local};
use super::pricing::{unit_of, Knapsack, Work};

/// Lists ruined per iteration, at least and at most (measured on generated trust-scale
/// requests at a fixed work budget: 2-4 beat 2-6, 2-10, 1-3 and 2-2 on average).
const RUIN_MIN: usize = 2;
const RUIN_MAX: usize = 4;
/// Relative noise on the knapsack profits while rebuilding (the plan is judged exactly), for a
/// component too large for a proof. With the ruin drawn by waste, 0.02 beat 0.01, 0.05 and 0.1
/// and tied 0 with a better worst case on generated trust requests at a fixed work budget (0.05
/// was best before the ruin was drawn by waste, 0.2 before late acceptance and a second search).
pub const NOISE: f64 = 0.02;
/// The same for a component small enough for a proof, whose search runs a few hundred iterations
/// and hands its plan to the proof: 0.2 kept theatre solves as they were, where 0.05 made one
/// seed's proof 2.5 times longer.
pub const NOISE_BEFORE_PROOF: f64 = 0.2;
/// Late-acceptance history, in iterations: a worse plan is kept when it is at least as good as
/// the working plan this many iterations ago. 100 beat 0 (only non-worsening plans), 50 and 200
/// on generated trust requests at a fixed work budget; 1,000 and more wander off.
const LATE_ACCEPTANCE: usize = 100;

/// A small deterministic generator (SplitMix64).
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// One change to the plan, for undo.
#[derive(Debug, Clone, Copy)]
struct Change {
    patient: Local,
    from: Option<(u32, u32)>,
}

/// Prices from the bound and each list's best reduced value at them: a list's waste is its best
/// reduced value less its plan's.
struct Guide {
    price: Vec<f64>,
    night: Vec<f64>,
    best: Vec<f64>,
    /// Each list's prices of its free cases (π, and μ for a bed).
    held: Vec<f64>,
}

/// The search's plan of one component and its running totals.
pub struct Search {
    /// Each free patient's (list, position in the list's candidates), if booked.
    on: Vec<Option<(u32, u32)>>,
    /// Free patients on each list, by candidate position.
    members: Vec<Vec<u32>>,
    count: Vec<u32>,
    touch: Vec<i64>,
    load: Vec<i64>,
    coef_sum: Vec<f64>,
    value: Vec<f64>,
    /// Beds taken on each bed night by free patients.
    beds: Vec<i64>,
    /// The working plan's value.
    current: f64,
    /// The best plan seen (as `on`), and its value.
    best: Vec<Option<(u32, u32)>>,
    pub total: f64,
    /// The working plan's value at each of the last `LATE_ACCEPTANCE` iterations, by iteration
    /// modulo its length.
    history: Vec<f64>,
    units: Vec<i64>,
    neighbours: Vec<Vec<u32>>,
    rng: Rng,
    ks: Knapsack,
    chosen: Vec<u32>,
    journal: Vec<Change>,
    noise: Vec<f64>,
    /// The relative noise on the knapsack profits.
    spread: f64,
    /// The bound's prices, which steer the ruin towards the lists that waste most.
    guide: Option<Guide>,
    pub iterations: usize,
    pub improvements: usize,
    /// The iteration that last raised the plan's value (or adopted a better plan).
    pub improved_at: usize,
}

impl Search {
    /// A search starting from `start`: each local patient's (list, position), if booked.
    pub fn new(dense: &Dense, start: &[Option<(u32, u32)>], seed: u64, spread: f64) -> Search {
        let m = dense.lists.len();
        let mut s = Search {
            on: vec![None; dense.patients.len()],
            members: vec![Vec::new(); m],
            count: dense.lists.iter().map(|l| l.pinned.len() as u32).collect(),
            touch: dense.lists.iter().map(|l| l.pinned_touch).collect(),
            load: dense.lists.iter().map(|l| l.pinned_load).collect(),
            coef_sum: dense.lists.iter().map(|l| l.pinned_value).collect(),
            value: vec![0.0; m],
            beds: vec![0; dense.night_beds.len()],
            current: 0.0,
            best: Vec::new(),
            total: 0.0,
            history: Vec::new(),
            units: dense.lists.iter().map(unit_of).collect(),
            neighbours: neighbours(dense),
            rng: Rng::new(seed),
            ks: Knapsack::default(),
            chosen: Vec::new(),
            journal: Vec::new(),
            noise: Vec::new(),
            spread,
            guide: None,
            iterations: 0,
            improvements: 0,
            improved_at: 0,
        };
        for l in 0..m {
            s.value[l] = s.list_value(dense, l);
        }
        s.current = s.value.iter().sum();
        for (p, at) in start.iter().enumerate() {
            if let Some((l, k)) = *at {
                if s.fits(dense, l as usize, k as usize) {
                    s.put(dense, p as Local, Some((l, k)));
                }
            }
        }
        s.journal.clear();
        s.fill(dense, &(0..dense.patients.len() as Local).collect::<Vec<_>>());
        s.journal.clear();
        s.keep_best();
        s
    }

    /// The working plan becomes the best, and the late-acceptance history starts from it.
    fn keep_best(&mut self) {
        self.best.clone_from(&self.on);
        self.total = self.current;
        self.history.clear();
        self.history.resize(LATE_ACCEPTANCE, self.current);
    }

    fn list_value(&self, dense: &Dense, l: usize) -> f64 {
        self.coef_sum[l] - dense.costs.penalty(&dense.lists[l], self.count[l], self.touch[l])
    }

    /// Whether candidate `k` can join list `l`: its minutes fit, and it needs no bed, or its
    /// night has one left, or it already holds one of that night on another list.
    fn fits(&self, dense: &Dense, l: usize, k: usize) -> bool {
        let list = &dense.lists[l];
        self.load[l] + list.load[k] <= list.capacity
            && (bed_free(dense, &self.beds, l, k) || self.holds_bed_of(dense, l, k))
    }

    /// Whether the patient of candidate `k` of list `l` holds a bed of `l`'s night already.
    fn holds_bed_of(&self, dense: &Dense, l: usize, k: usize) -> bool {
        let list = &dense.lists[l];
        match self.on[list.cands[k] as usize] {
            Some((from, at)) => {
                let from = &dense.lists[from as usize];
                from.night.is_some() && from.night == list.night && from.bed[at as usize]
            }
            None => false,
        }
    }

    /// Moves patient `p` to `to` (None: unbooked), keeping the totals and the journal.
    fn put(&mut self, dense: &Dense, p: Local, to: Option<(u32, u32)>) {
        let from = self.on[p as usize];
        if from == to {
            return;
        }
        let minutes = dense.minutes[p as usize];
        if let Some((l, k)) = from {
            let (l, k) = (l as usize, k as usize);
            let list = &dense.lists[l];
            let at = self.members[l]
                .iter()
                .position(|&x| x as usize == k)
                .expect("member");
            self.members[l].swap_remove(at);
            self.count[l] -= 1;
            self.touch[l] -= minutes;
            self.load[l] -= list.load[k];
            self.coef_sum[l] -= list.coef[k];
            if let (Some(g), true) = (list.night, list.bed[k]) {
                self.beds[g as usize] -= 1;
            }
            if let Some(guide) = &mut self.guide {
                guide.held[l] -= guide_price(guide, list, k);
            }
            let v = self.list_value(dense, l);
            self.current += v - self.value[l];
            self.value[l] = v;
        }
        if let Some((l, k)) = to {
            let (l, k) = (l as usize, k as usize);
            let list = &dense.lists[l];
            self.members[l].push(k as u32);
            self.count[l] += 1;
            self.touch[l] += minutes;
            self.load[l] += list.load[k];
            self.coef_sum[l] += list.coef[k];
            if let (Some(g), true) = (list.night, list.bed[k]) {
                self.beds[g as usize] += 1;
            }
            if let Some(guide) = &mut self.guide {
                guide.held[l] += guide_price(guide, list, k);
            }
            let v = self.list_value(dense, l);
            self.current += v - self.value[l];
            self.value[l] = v;
        }
        self.on[p as usize] = to;
        self.journal.push(Change { patient: p, from });
    }

    /// What list `l` loses if patient at candidate position `k` leaves it.
    fn loss(&self, dense: &Dense, l: usize, k: usize) -> f64 {
        let list = &dense.lists[l];
        let p = list.cands[k] as usize;
        let without = self.coef_sum[l]
            - list.coef[k]
            - dense
                .costs
                .penalty(list, self.count[l] - 1, self.touch[l] - dense.minutes[p]);
        self.value[l] - without
    }

    /// What list `l` gains if the patient at candidate position `k` joins it.
    fn gain(&self, dense: &Dense, l: usize, k: usize) -> f64 {
        let list = &dense.lists[l];
        let p = list.cands[k] as usize;
        let with = self.coef_sum[l] + list.coef[k]
            - dense
                .costs
                .penalty(list, self.count[l] + 1, self.touch[l] + dense.minutes[p]);
        with - self.value[l]
    }

    /// Offers each unbooked patient of `patients` its best list with room, while that adds value.
    fn fill(&mut self, dense: &Dense, patients: &[Local]) -> Work {
        let mut work = 0;
        for &p in patients {
            if self.on[p as usize].is_some() || dense.pinned[p as usize] {
                continue;
            }
            let mut best: Option<(f64, (u32, u32))> = None;
            for &(l, k) in &dense.options[p as usize] {
                work += 1;
                if !self.fits(dense, l as usize, k as usize) {
                    continue;
                }
                let g = self.gain(dense, l as usize, k as usize);
                if g > 1e-9 && best.is_none_or(|(b, _)| g > b) {
                    best = Some((g, (l, k)));
                }
            }
            if let Some((_, at)) = best {
                self.put(dense, p, Some(at));
            }
        }
        work
    }

    /// Replaces the plan with `plan` (each local patient's (list, position), if booked), which
    /// must respect every list's capacity and every night's beds.
    pub fn adopt(&mut self, dense: &Dense, plan: &[Option<(u32, u32)>]) {
        for p in 0..self.on.len() {
            self.put(dense, p as Local, None);
        }
        for (p, at) in plan.iter().enumerate() {
            if at.is_some() && !dense.pinned[p] {
                self.put(dense, p as Local, *at);
            }
        }
        debug_assert!((0..dense.lists.len()).all(|l| self.load[l] <= dense.lists[l].capacity));
        debug_assert!(self.beds.iter().zip(&dense.night_beds).all(|(u, b)| u <= b));
        self.journal.clear();
        self.keep_best();
        self.improved_at = self.iterations;
    }

    /// Steers the ruin by the bound's prices `price` and `night` and each list's best reduced
    /// value `best` at them.
    pub fn guide(&mut self, dense: &Dense, price: &[f64], night: &[f64], best: &[f64]) {
        let mut guide = self.guide.take().unwrap_or(Guide {
            price: Vec::new(),
            night: Vec::new(),
            best: Vec::new(),
            held: Vec::new(),
        });
        guide.price.clear();
        guide.price.extend_from_slice(price);
        guide.night.clear();
        guide.night.extend_from_slice(night);
        guide.best.clear();
        guide.best.extend_from_slice(best);
        guide.held.clear();
        for (l, list) in dense.lists.iter().enumerate() {
            let held = self.members[l]
                .iter()
                .map(|&k| guide_price(&guide, list, k as usize))
                .sum();
            guide.held.push(held);
        }
        self.guide = Some(guide);
    }

    /// What list `l` wastes of the bound: its best reduced value at the guide's prices less its
    /// plan's (zero before the search is guided).
    fn waste(&self, l: usize) -> f64 {
        match &self.guide {
            Some(g) => (g.best[l] - (self.value[l] - g.held[l])).max(0.0),
            None => 0.0,
        }
    }

    /// One of `lists`, drawn in proportion to its waste; uniformly when none wastes anything.
    /// `lists` must not be empty.
    fn draw(&mut self, lists: impl Iterator<Item = usize> + Clone) -> usize {
        let total: f64 = lists.clone().map(|l| self.waste(l)).sum();
        if total > 1e-9 {
            let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * total;
            let mut acc = 0.0;
            let mut last = 0;
            for l in lists {
                let w = self.waste(l);
                acc += w;
                if w > 0.0 {
                    last = l;
                    if acc > u {
                        return l;
                    }
                }
            }
            return last;
        }
        let n = lists.clone().count();
        let mut lists = lists;
        lists.nth(self.rng.below(n)).expect("a list")
    }

    /// Each list's waste without the floor at zero, and whether the running price sums equal
    /// sums taken afresh; None before the search is guided.
    #[cfg(test)]
    pub fn guided_waste(&self, dense: &Dense) -> Option<(Vec<f64>, bool)> {
        let g = self.guide.as_ref()?;
        let mut same = true;
        let waste = (0..dense.lists.len())
            .map(|l| {
                let list = &dense.lists[l];
                let held: f64 = self.members[l]
                    .iter()
                    .map(|&k| guide_price(g, list, k as usize))
                    .sum();
                same &= (held - g.held[l]).abs() < 1e-6;
                g.best[l] - (self.value[l] - g.held[l])
            })
            .collect();
        Some((waste, same))
    }

    /// A ruin's seed list, as `iterate` draws it.
    #[cfg(test)]
    pub fn draw_seed(&mut self) -> usize {
        self.draw(0..self.value.len())
    }

    /// The working plan's value (the best plan's is `total`).
    #[cfg(test)]
    pub fn working_value(&self) -> f64 {
        self.current
    }

    /// The best plan seen: each local patient's (list, position), if booked (pinned: none).
    pub fn plan(&self) -> &[Option<(u32, u32)>] {
        &self.best
    }

    /// One ruin-and-recreate iteration; returns the work done.
    pub fn iterate(&mut self, dense: &Dense) -> Work {
        let m = dense.lists.len();
        if m == 0 {
            return 1;
        }
        self.iterations += 1;
        self.journal.clear();
        let before = self.current;
        let mut work: Work = 0;

        // Ruin: a seed list and lists next to it.
        let want = RUIN_MIN + self.rng.below(RUIN_MAX - RUIN_MIN + 1);
        let mut ruined: Vec<u32> = vec![self.draw(0..m) as u32];
        for _ in 0..4 * want {
            if ruined.len() >= want.min(m) {
                break;
            }
            let from = ruined[self.rng.below(ruined.len())] as usize;
            if self.neighbours[from].is_empty() {
                continue;
            }
            let near = std::mem::take(&mut self.neighbours[from]);
            let next = self.draw(near.iter().map(|&l| l as usize)) as u32;
            self.neighbours[from] = near;
            if !ruined.contains(&next) {
                ruined.push(next);
            }
        }
        // Half the time a ruined list is emptied, otherwise each case leaves it at even odds.
        let mut freed: Vec<Local> = Vec::new();
        for &l in &ruined {
            let l = l as usize;
            let all = self.rng.below(2) == 0;
            let members = self.members[l].clone();
            for k in members {
                if all || self.rng.below(2) == 0 {
                    let p = dense.lists[l].cands[k as usize];
                    self.put(dense, p, None);
                    freed.push(p);
                }
            }
        }

        // Recreate: each ruined list rebuilt by the knapsack, in random order.
        for i in (1..ruined.len()).rev() {
            let j = self.rng.below(i + 1);
            ruined.swap(i, j);
        }
        for &l in &ruined {
            let l = l as usize;
            let list = &dense.lists[l];
            let mut chosen = std::mem::take(&mut self.chosen);
            work += self.ks_best(dense, l, &mut chosen);
            for &k in &chosen {
                let p = list.cands[k as usize];
                if self.on[p as usize].is_some_and(|(from, _)| from as usize != l) {
                    freed.push(p);
                }
                if self.fits(dense, l, k as usize) {
                    self.put(dense, p, Some((l as u32, k)));
                }
            }
            self.chosen = chosen;
        }
        work += self.fill(dense, &freed);
        // Every move made (and undone) costs a unit per case on its lists.
        work += self.journal.len() as Work * 8;

        let slot = self.iterations % LATE_ACCEPTANCE;
        if self.current < before - 1e-9 && self.current < self.history[slot] - 1e-9 {
            self.undo(dense);
        }
        self.history[slot] = self.current;
        if self.current > self.total + 1e-9 {
            self.best.clone_from(&self.on);
            self.total = self.current;
            self.improvements += 1;
            self.improved_at = self.iterations;
            // Copying the plan costs a unit per eight patients.
            work += self.on.len() as Work / 8;
        }
        self.journal.clear();
        work.max(1)
    }

    /// The knapsack for list `l` at the current plan: a candidate's profit is its coefficient
    /// less what its current list loses without it.
    fn ks_best(&mut self, dense: &Dense, l: usize, chosen: &mut Vec<u32>) -> Work {
        let mut ks = std::mem::take(&mut self.ks);
        let list = &dense.lists[l];
        let mut noise = std::mem::take(&mut self.noise);
        noise.clear();
        for _ in 0..list.cands.len() {
            let u = (self.rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            noise.push(1.0 + self.spread * (2.0 * u - 1.0));
        }
        let this = &*self;
        let profit = |k: usize| -> Option<f64> {
            let p = list.cands[k] as usize;
            if !bed_free(dense, &this.beds, l, k) && !this.holds_bed_of(dense, l, k) {
                return None;
            }
            let r = match this.on[p] {
                None => list.coef[k],
                Some((from, _)) if from as usize == l => return None,
                Some((from, at)) => list.coef[k] - this.loss(dense, from as usize, at as usize),
            };
            Some(r * noise[k])
        };
        let work = ks.best(dense, l, self.units[l], profit, chosen).work;
        self.ks = ks;
        self.noise = noise;
        work
    }

    fn undo(&mut self, dense: &Dense) {
        let journal = std::mem::take(&mut self.journal);
        for change in journal.iter().rev() {
            self.put(dense, change.patient, change.from);
        }
        self.journal.clear();
    }
}

/// The price of candidate `k` of `list` in `guide`: its patient's, and its night's for a bed.
fn guide_price(guide: &Guide, list: &super::dense::DenseList, k: usize) -> f64 {
    let p = guide.price[list.cands[k] as usize];
    match (list.night, list.bed[k]) {
        (Some(g), true) => p + guide.night[g as usize],
        _ => p,
    }
}

/// For each list, the other lists that share a candidate with it.
fn neighbours(dense: &Dense) -> Vec<Vec<u32>> {
    let m = dense.lists.len();
    let mut out: Vec<Vec<u32>> = vec![Vec::new(); m];
    let mut mark = vec![usize::MAX; m];
    for (l, list) in dense.lists.iter().enumerate() {
        mark[l] = l;
        for &p in &list.cands {
            for &(other, _) in &dense.options[p as usize] {
                if mark[other as usize] != l {
                    mark[other as usize] = l;
                    out[l].push(other);
                }
            }
        }
        out[l].sort_unstable();
    }
    out
}

/// Running totals of a plan under construction.
struct Tally {
    plan: Vec<Option<(u32, u32)>>,
    count: Vec<u32>,
    touch: Vec<i64>,
    load: Vec<i64>,
    coef: Vec<f64>,
    beds: Vec<i64>,
}

impl Tally {
    fn new(dense: &Dense) -> Tally {
        Tally {
            plan: vec![None; dense.patients.len()],
            count: dense.lists.iter().map(|l| l.pinned.len() as u32).collect(),
            touch: dense.lists.iter().map(|l| l.pinned_touch).collect(),
            load: dense.lists.iter().map(|l| l.pinned_load).collect(),
            coef: dense.lists.iter().map(|l| l.pinned_value).collect(),
            beds: vec![0; dense.night_beds.len()],
        }
    }

    /// Whether candidate `k` fits on list `l` (minutes and bed).
    fn fits(&self, dense: &Dense, l: usize, k: usize) -> bool {
        let list = &dense.lists[l];
        self.load[l] + list.load[k] <= list.capacity && bed_free(dense, &self.beds, l, k)
    }

    fn add(&mut self, dense: &Dense, l: usize, k: usize) {
        let list = &dense.lists[l];
        let p = list.cands[k] as usize;
        self.plan[p] = Some((l as u32, k as u32));
        self.count[l] += 1;
        self.touch[l] += dense.minutes[p];
        self.load[l] += list.load[k];
        self.coef[l] += list.coef[k];
        if let (Some(g), true) = (list.night, list.bed[k]) {
            self.beds[g as usize] += 1;
        }
    }

    fn value(&self, dense: &Dense, l: usize) -> f64 {
        self.coef[l] - dense.costs.penalty(&dense.lists[l], self.count[l], self.touch[l])
    }
}

/// A plan from one pattern per list (positions in the lists' candidates), which may share
/// patients: lists take their patterns' cases in the order given, each case going to the first
/// list that wants it while its night has a bed for it; then every patient left unbooked goes
/// where it adds most, if anywhere.
/// Returns the plan and its value.
pub fn plan_from_patterns(
    dense: &Dense,
    patterns: &[Vec<u32>],
    order: &[u32],
) -> (Vec<Option<(u32, u32)>>, f64) {
    let mut t = Tally::new(dense);
    for &l in order {
        let l = l as usize;
        for &k in &patterns[l] {
            let p = dense.lists[l].cands[k as usize] as usize;
            if t.plan[p].is_none() && bed_free(dense, &t.beds, l, k as usize) {
                t.add(dense, l, k as usize);
            }
        }
    }
    // Unbooked patients, most valuable first, where they add most.
    let mut rest: Vec<(f64, usize)> = (0..dense.patients.len())
        .filter(|&p| t.plan[p].is_none() && !dense.pinned[p])
        .map(|p| {
            let best = dense.options[p]
                .iter()
                .map(|&(l, k)| dense.lists[l as usize].coef[k as usize])
                .fold(f64::NEG_INFINITY, f64::max);
            (best, p)
        })
        .collect();
    rest.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    for (_, p) in rest {
        let mut best: Option<(f64, usize, usize)> = None;
        for &(l, k) in &dense.options[p] {
            let (l, k) = (l as usize, k as usize);
            let list = &dense.lists[l];
            if !t.fits(dense, l, k) {
                continue;
            }
            let after = t.coef[l] + list.coef[k]
                - dense
                    .costs
                    .penalty(list, t.count[l] + 1, t.touch[l] + dense.minutes[p]);
            let gain = after - t.value(dense, l);
            if gain > 1e-9 && best.is_none_or(|(b, _, _)| gain > b) {
                best = Some((gain, l, k));
            }
        }
        if let Some((_, l, k)) = best {
            t.add(dense, l, k);
        }
    }
    let value = (0..dense.lists.len()).map(|l| t.value(dense, l)).sum();
    (t.plan, value)
}

/// Whether `plan` respects every list's capacity and every night's beds, and its value.
pub fn plan_value(dense: &Dense, plan: &[Option<(u32, u32)>]) -> (bool, f64) {
    let mut t = Tally::new(dense);
    for (p, at) in plan.iter().enumerate() {
        if let Some((l, k)) = *at {
            if dense.pinned[p] || dense.lists[l as usize].cands.get(k as usize) != Some(&(p as Local)) {
                return (false, f64::NEG_INFINITY);
            }
            t.add(dense, l as usize, k as usize);
        }
    }
    let fits = (0..dense.lists.len()).all(|l| t.load[l] <= dense.lists[l].capacity)
        && t.beds.iter().zip(&dense.night_beds).all(|(u, b)| u <= b);
    let value = (0..dense.lists.len()).map(|l| t.value(dense, l)).sum();
    (fits, value)
}

/// Whether candidate `k` of list `l` has a bed with `beds` taken: it needs none, or its night has
/// one left.
#[inline]
fn bed_free(dense: &Dense, beds: &[i64], l: usize, k: usize) -> bool {
    let list = &dense.lists[l];
    match list.night {
        Some(g) if list.bed[k] => beds[g as usize] < dense.night_beds[g as usize],
        _ => true,
    }
}
