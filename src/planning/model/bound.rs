//! The bound: Lagrangian relaxation of "each patient on at most one list" and of "the overnight
//! cases of a bed night fit in its beds", minimised by a projected, deflected subgradient method.
//!
//! For patient prices π ≥ 0 (pinned patients have one list and need none) and bed-night prices
//! μ ≥ 0,
//!
//!   UB(π, μ) = Σ_p π_p + Σ_g μ_g·beds_g + Σ_s max_P ( v(s, P) − Σ_{p∈P} (π_p + μ_g(s)·bed_p) )
//!
//! (bed_p = 1 for a case that takes a bed of list s's night g(s), beds_g the night's beds left
//! after its pinned cases) is an upper bound on every plan's value: each list's maximum is an
//! exact knapsack (`pricing`), and a plan's lists are among the patterns maximised over, its
//! unused patients and beds only adding non-negative prices. The bound reported is the smallest
//! UB seen, so it is valid whenever the method is stopped.
//!
//! A step: g_p = 1 − (lists whose best pattern takes p), g_g = beds_g − (beds the best patterns
//! of the night's lists take); direction d = g + ½·d_prev, with the components that would push a
//! zero price below zero set to zero (projection); step length by Polyak's rule
//! t = θ·(UB − LB)/‖d‖² towards the best plan value LB; θ halves after a run of steps that do not
//! lower the bound by a share of the gap (`PROGRESS`).

use super::dense::{Dense, DenseList, LocalPlan};
use super::pricing::{unit_of, Knapsack, Work};

/// Weight of the previous direction in the next (deflection).
const DEFLECTION: f64 = 0.5;
/// The first Polyak step factor θ.
const FIRST_THETA: f64 = 1.0;
/// Steps without progress before θ halves.
const PATIENCE: u32 = 8;
/// θ below which the method has stalled.
const MIN_THETA: f64 = 1e-4;
/// A step counts as progress (and keeps θ) only when it lowers the bound by more than this share
/// of the gap to the best plan; smaller gains are kept but let θ shrink, so a bound that creeps
/// hands its work to the search sooner. 3e-4 beat 0 and 1e-3 on generated trust requests at a
/// fixed work budget.
const PROGRESS: f64 = 3e-4;

/// The subgradient method's state for one component; resumable.
pub struct Subgradient {
    pub price: Vec<f64>,
    dir: Vec<f64>,
    /// Bed-night prices μ, and their direction.
    pub night_price: Vec<f64>,
    night_dir: Vec<f64>,
    /// The smallest UB(π, μ) seen, and the prices that gave it.
    pub bound: f64,
    pub best_price: Vec<f64>,
    pub best_night_price: Vec<f64>,
    theta: f64,
    since_better: u32,
    pub steps: usize,
    /// Work of the first step (a full pricing pass at zero prices): the component's scale.
    pub step_work: Work,
    units: Vec<i64>,
    usage: Vec<u32>,
    /// Beds each night's best patterns take.
    night_usage: Vec<i64>,
    /// How often each (list, candidate position) was in its list's best pattern.
    pub picked: Vec<Vec<u32>>,
    chosen: Vec<u32>,
    /// Each list's best pattern at the last prices, and its reduced value.
    patterns: Vec<Vec<u32>>,
    pub reduced: Vec<f64>,
    /// The prices `reduced` was priced at.
    pub priced: Vec<f64>,
    pub priced_night: Vec<f64>,
    /// The best plan the Lagrangian heuristic built from the patterns, and its value.
    pub plan: Option<(LocalPlan, f64)>,
}

impl Subgradient {
    pub fn new(dense: &Dense) -> Subgradient {
        let n = dense.patients.len();
        let nights = dense.night_beds.len();
        Subgradient {
            price: vec![0.0; n],
            dir: vec![0.0; n],
            night_price: vec![0.0; nights],
            night_dir: vec![0.0; nights],
            bound: f64::INFINITY,
            best_price: vec![0.0; n],
            best_night_price: vec![0.0; nights],
            theta: FIRST_THETA,
            since_better: 0,
            steps: 0,
            step_work: 0,
            units: dense.lists.iter().map(unit_of).collect(),
            usage: vec![0; n],
            night_usage: vec![0; nights],
            picked: dense.lists.iter().map(|l| vec![0; l.cands.len()]).collect(),
            chosen: Vec::new(),
            patterns: vec![Vec::new(); dense.lists.len()],
            reduced: vec![0.0; dense.lists.len()],
            priced: vec![0.0; n],
            priced_night: vec![0.0; nights],
            plan: None,
        }
    }

    /// The method has stopped making progress (θ too small, or the prices are optimal).
    pub fn stalled(&self) -> bool {
        self.theta < MIN_THETA
    }

    /// UB at the current prices; fills `usage`, `night_usage` and `picked`.
    fn evaluate(&mut self, dense: &Dense, ks: &mut Knapsack) -> (f64, Work) {
        self.usage.iter_mut().for_each(|u| *u = 0);
        self.priced.clone_from(&self.price);
        self.priced_night.clone_from(&self.night_price);
        self.night_usage.iter_mut().for_each(|u| *u = 0);
        let mut ub: f64 = self.price.iter().sum::<f64>()
            + self
                .night_price
                .iter()
                .zip(&dense.night_beds)
                .map(|(mu, &beds)| mu * beds as f64)
                .sum::<f64>();
        let mut work = 0;
        for (l, list) in dense.lists.iter().enumerate() {
            let price = &self.price;
            let mu = list.night.map_or(0.0, |g| self.night_price[g as usize]);
            let profit = |k: usize| Some(reduced(list, k, price, mu));
            let best = ks.best(dense, l, self.units[l], profit, &mut self.chosen);
            work += best.work;
            ub += best.value;
            for &k in &self.chosen {
                self.usage[list.cands[k as usize] as usize] += 1;
                self.picked[l][k as usize] += 1;
                if let (Some(g), true) = (list.night, list.bed[k as usize]) {
                    self.night_usage[g as usize] += 1;
                }
            }
            self.patterns[l].clone_from(&self.chosen);
            self.reduced[l] = best.value;
        }
        (ub, work)
    }

    /// The Lagrangian heuristic: a plan from the lists' best patterns at the last prices, lists
    /// with the most reduced value first; kept when it beats the best so far.
    fn heuristic(&mut self, dense: &Dense) -> Work {
        let mut order: Vec<u32> = (0..dense.lists.len() as u32).collect();
        order.sort_by(|&a, &b| {
            self.reduced[b as usize]
                .total_cmp(&self.reduced[a as usize])
                .then(a.cmp(&b))
        });
        let (plan, value) = super::search::plan_from_patterns(dense, &self.patterns, &order);
        if self.plan.as_ref().is_none_or(|(_, v)| value > *v + 1e-9) {
            self.plan = Some((plan, value));
        }
        dense.pairs() as Work + 1
    }

    /// One subgradient step towards `lower` (the value of the best plan known). Returns the work
    /// done.
    pub fn step(&mut self, dense: &Dense, ks: &mut Knapsack, lower: f64) -> Work {
        let (ub, mut work) = self.evaluate(dense, ks);
        work += self.heuristic(dense);
        self.steps += 1;
        if self.step_work == 0 {
            self.step_work = work;
        }
        let progress =
            self.bound.is_infinite() || ub < self.bound - 1e-9 - PROGRESS * (self.bound - lower).max(0.0);
        if ub < self.bound - 1e-9 {
            self.bound = ub;
            self.best_price.clone_from(&self.price);
            self.best_night_price.clone_from(&self.night_price);
        }
        if progress {
            self.since_better = 0;
        } else {
            self.since_better += 1;
            if self.since_better >= PATIENCE {
                self.theta /= 2.0;
                self.since_better = 0;
            }
        }
        let mut norm = 0.0;
        for p in 0..self.price.len() {
            if dense.pinned[p] {
                continue;
            }
            let g = 1.0 - f64::from(self.usage[p]);
            let mut d = g + DEFLECTION * self.dir[p];
            // Projection: a price at zero cannot fall.
            if self.price[p] <= 0.0 && d > 0.0 {
                d = 0.0;
            }
            self.dir[p] = d;
            norm += d * d;
        }
        for g in 0..self.night_price.len() {
            let slack = (dense.night_beds[g] - self.night_usage[g]) as f64;
            let mut d = slack + DEFLECTION * self.night_dir[g];
            if self.night_price[g] <= 0.0 && d > 0.0 {
                d = 0.0;
            }
            self.night_dir[g] = d;
            norm += d * d;
        }
        if norm <= 1e-12 {
            if self
                .usage
                .iter()
                .zip(&dense.pinned)
                .all(|(&u, &pinned)| pinned || u <= 1)
                && self
                    .night_usage
                    .iter()
                    .zip(&dense.night_beds)
                    .all(|(u, b)| u <= b)
            {
                // Every patient used at most once and every night within its beds, every unused
                // one at price 0: UB equals the value of a plan, so these prices are optimal.
                self.theta = 0.0;
            }
            return work;
        }
        let gap = (ub - lower).max(1e-6 * ub.abs().max(1.0));
        let t = self.theta * gap / norm;
        for p in 0..self.price.len() {
            if !dense.pinned[p] {
                self.price[p] = (self.price[p] - t * self.dir[p]).max(0.0);
            }
        }
        for g in 0..self.night_price.len() {
            self.night_price[g] = (self.night_price[g] - t * self.night_dir[g]).max(0.0);
        }
        work
    }
}

/// The reduced profit of candidate `k` on `list` at patient prices `price` and the list's
/// bed-night price `mu`: c[p,s] − π_p − μ·bed.
#[inline]
pub fn reduced(list: &DenseList, k: usize, price: &[f64], mu: f64) -> f64 {
    let r = list.coef[k] - price[list.cands[k] as usize];
    if list.bed[k] {
        r - mu
    } else {
        r
    }
}
