//! The scheduler: every component keeps its bound and its search as resumable state, and the
//! work goes where the gap is.
//!
//! Work is counted, not timed: a round picks the components with the largest absolute gap
//! (bound − plan), gives each a slice of bound work and a slice of search work, runs the slices on
//! the worker threads, and merges. Which slices run, and what each does, depends only on the
//! state at the start of the round, never on which thread ran what or how fast; so the same
//! request, work budget and seed give the same plan with one worker or many, on a busy machine or
//! an idle one. The wall clock is a safety stop only: when it (or a cancel) cuts a solve short, the
//! answer says so.
//!
//! The solve stops when the whole plan is proven within the policy gap (decision gap: (bound −
//! plan) / (bound − the empty plan's value)), when the work budget is spent, or at the deadline.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::bound::Subgradient;
use super::dense::Dense;
use super::pricing::{Knapsack, Work};
use super::proof;
use super::search::{self, Search};

/// Tasks (bound or search slices) per round, at least: components join a round until it holds
/// this many.
const ROUND_TASKS: usize = 4;

/// A component is exhausted (no more work goes to it) once its bound has stalled, its proof (if
/// it is small enough for one) has run, and its search has gone this many iterations, and at
/// least `STALL_FACTOR` iterations per patient, without a better plan.
const STALL_ITERATIONS: usize = 2_000;
const STALL_FACTOR: usize = 20;
/// A slice is this many subgradient steps' worth of work, within the bounds below.
const SLICE_STEPS: u64 = 20;
const MIN_SLICE: Work = 200_000;
/// Patterns per list, and search nodes, the proof may take (then it gives up).
const PROOF_MAX_PATTERNS: usize = 200_000;
const PROOF_MAX_NODES: Work = 4_000_000;
/// A search slice's share of a bound slice, for a component small enough for a proof while its
/// bound has not stalled.
const SEARCH_SHARE_BEFORE_PROOF: f64 = 0.3;
/// Share of the largest margin a proof may leave that it is given (a little is kept back for
/// rounding).
const PROOF_MARGIN_SHARE: f64 = 0.999;
/// Mixed into a component's seed for its second search.
const PARTNER_SEED: u64 = 0x5851_F42D_4C95_7F2D;

/// How a scheduled solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Proven within the gap.
    Proven,
    /// The work budget was spent.
    WorkLimit,
    /// Every open component is exhausted: the bound and the search stopped improving.
    NoProgress,
    /// The wall-clock safety stop.
    TimeLimit,
    Cancelled,
}

/// One component's resumable state.
pub struct ComponentState {
    pub dense: Dense,
    pub sub: Subgradient,
    pub search: Search,
    /// A second search from the same plan with another seed, once the bound has stalled: it takes
    /// the core the bound no longer needs, and the two swap plans whenever one is better.
    pub partner: Option<Search>,
    seed: u64,
    /// Upper bound on the component's value (never below `search.total` unless there is a bug).
    pub trivial: f64,
    /// Value of the component's empty plan (pinned cases only).
    pub empty: f64,
    pub work: Work,
    /// A bound proven by the pattern search, once it has run (infinite when it gave up).
    pub proven: Option<f64>,
}

impl ComponentState {
    pub fn new(dense: Dense, start: &[Option<(u32, u32)>], trivial: f64, seed: u64) -> ComponentState {
        let sub = Subgradient::new(&dense);
        let search = Search::new(&dense, start, seed, spread(&dense));
        let empty = dense.empty_value();
        // With no candidate to place, the pinned cases are the only plan: its value is the bound.
        let trivial = if dense.pairs() == 0 {
            trivial.min(empty)
        } else {
            trivial
        };
        ComponentState {
            dense,
            sub,
            search,
            partner: None,
            seed,
            trivial,
            empty,
            work: 0,
            proven: None,
        }
    }

    pub fn bound(&self) -> f64 {
        self.sub
            .bound
            .min(self.trivial)
            .min(self.proven.unwrap_or(f64::INFINITY))
    }

    pub fn value(&self) -> f64 {
        self.search.total
    }

    pub fn gap(&self) -> f64 {
        (self.bound() - self.value()).max(0.0)
    }

    /// No more work goes to this component: its bound has stalled, its proof has run if it is
    /// small enough for one, and its search has stopped finding better plans.
    pub fn exhausted(&self) -> bool {
        let since = self.search.iterations - self.search.improved_at;
        self.sub.stalled()
            && !self.awaits_proof()
            && since >= STALL_ITERATIONS.max(STALL_FACTOR * self.dense.patients.len())
    }

    /// The two searches go on from the better plan of the two.
    fn share_plans(&mut self) {
        if let Some(partner) = &mut self.partner {
            if partner.total > self.search.total + 1e-9 {
                self.search.adopt(&self.dense, partner.plan());
            } else if self.search.total > partner.total + 1e-9 {
                partner.adopt(&self.dense, self.search.plan());
            }
        }
    }

    /// Small enough for a proof, and its proof has not run yet.
    fn awaits_proof(&self) -> bool {
        self.proven.is_none() && self.dense.patients.len() <= proof::MAX_PATIENTS
    }

    /// Closed within `gap` of its own decision range.
    fn closed(&self, gap: f64) -> bool {
        self.bound() - self.value() <= gap * (self.bound() - self.empty).max(0.0) + 1e-7
    }
}

/// What the scheduler is asked to do.
pub struct Schedule<'a> {
    /// Decision gap at which the whole plan counts as proven.
    pub gap: f64,
    /// Total work to spend at most.
    pub budget: Work,
    /// Work per slice.
    pub slice: Work,
    pub workers: usize,
    pub deadline: Instant,
    pub cancel: &'a AtomicBool,
}

/// The searches' noise on the knapsack profits: a small component's proof takes its plan from
/// the search (see `search::NOISE_BEFORE_PROOF`).
fn spread(dense: &Dense) -> f64 {
    if dense.patients.len() <= proof::MAX_PATIENTS {
        search::NOISE_BEFORE_PROOF
    } else {
        search::NOISE
    }
}

/// The whole plan's decision gap over the components.
pub fn decision_gap(states: &[ComponentState]) -> f64 {
    let (gap, range) = states.iter().fold((0.0, 0.0), |(g, r), s| {
        (g + s.gap(), r + (s.bound() - s.empty).max(0.0))
    });
    if range <= 1e-9 {
        0.0
    } else {
        gap / range
    }
}

/// The gap a proof may leave to its component: the largest m such that, once the component's
/// bound has fallen to its value plus m, the whole plan's decision gap is within `gap`. With the
/// component's gap `own` now, the other components' gaps `others` and the decision range `range`
/// (the sum of bound less empty value), the proof lowers the range by `own − m`, so
///
///   others + m ≤ gap·(range − own + m)  ⇔  m ≤ (gap·(range − own) − others) / (1 − gap);
///
/// a share of it is given, and none when the others already keep more than the whole plan may.
fn proof_margin(gap: f64, range: f64, own: f64, others: f64) -> f64 {
    ((gap * (range - own) - others) / (1.0 - gap) * PROOF_MARGIN_SHARE).max(0.0)
}

/// A slice of work on one component: the bound towards the plan value `lower`, or the search
/// towards the bound `upper`; `empty` is the component's empty-plan value.
enum Task<'a> {
    Bound {
        dense: &'a Dense,
        sub: &'a mut Subgradient,
        lower: f64,
        empty: f64,
        slice: Work,
    },
    Search {
        dense: &'a Dense,
        search: &'a mut Search,
        upper: f64,
        empty: f64,
        slice: Work,
    },
    /// The pattern search, for a small component whose bound has stalled with a gap left;
    /// `margin` is the gap the component may keep.
    Proof {
        state: &'a mut ComponentState,
        margin: f64,
    },
}

/// Runs the schedule on `states`; `progress` is told after every round.
pub fn run(
    states: &mut [ComponentState],
    schedule: &Schedule<'_>,
    progress: &dyn Fn(&[ComponentState]),
) -> Ending {
    let mut spent: Work = 0;
    loop {
        if schedule.cancel.load(Ordering::Relaxed) {
            return Ending::Cancelled;
        }
        if Instant::now() >= schedule.deadline {
            return Ending::TimeLimit;
        }
        if decision_gap(states) <= schedule.gap || states.iter().all(|s| s.closed(schedule.gap)) {
            return Ending::Proven;
        }
        if spent >= schedule.budget {
            return Ending::WorkLimit;
        }
        // The open components, most gap per unit of work first, until the round holds enough
        // tasks (a bound and a search slice each).
        let mut open: Vec<usize> = (0..states.len())
            .filter(|&i| !states[i].closed(schedule.gap) && !states[i].exhausted())
            .collect();
        if open.is_empty() {
            return Ending::NoProgress;
        }
        // Gap per unit of a bound step's work (at least 20 units per pair: a search slice's cost).
        let priority =
            |s: &ComponentState| s.gap() / (s.sub.step_work.max(s.dense.pairs() as u64 * 20).max(1) as f64);
        open.sort_by(|&a, &b| {
            priority(&states[b])
                .total_cmp(&priority(&states[a]))
                .then(a.cmp(&b))
        });
        let mut planned = 0;
        let mut take = 0;
        for &i in &open {
            if planned >= ROUND_TASKS {
                break;
            }
            planned += if states[i].sub.stalled() && states[i].awaits_proof() {
                1
            } else {
                2
            };
            take += 1;
        }
        open.truncate(take);
        open.sort_unstable();

        let gaps: Vec<f64> = states.iter().map(ComponentState::gap).collect();
        let range: f64 = states.iter().map(|s| (s.bound() - s.empty).max(0.0)).sum();
        let mut tasks: Vec<Task<'_>> = Vec::new();
        let mut picked = open.iter().peekable();
        for (i, state) in states.iter_mut().enumerate() {
            if picked.peek() != Some(&&i) {
                continue;
            }
            picked.next();
            let lower = state.search.total;
            let upper = state.bound();
            let provable = state.awaits_proof();
            if state.sub.stalled() && provable {
                let others: f64 = gaps
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .map(|(_, g)| g)
                    .sum();
                let margin = proof_margin(schedule.gap, range, gaps[i], others);
                tasks.push(Task::Proof { state, margin });
                continue;
            }
            if state.sub.stalled() && state.partner.is_none() {
                let seed = state.seed ^ PARTNER_SEED;
                let spread = spread(&state.dense);
                state.partner = Some(Search::new(&state.dense, state.search.plan(), seed, spread));
            }
            let ComponentState {
                dense,
                sub,
                search,
                partner,
                empty,
                ..
            } = state;
            let empty = *empty;
            // A slice: a fixed number of subgradient steps' worth of work, so small components
            // take small slices and come back to the scheduler often.
            let slice = (SLICE_STEPS * sub.step_work.max(1)).clamp(MIN_SLICE, schedule.slice);
            // A component that its proof will close needs the bound, which the proof waits for,
            // more than the search: until the bound stalls (and the proof runs), its search
            // takes a smaller slice.
            let search_slice = if provable {
                (slice as f64 * SEARCH_SHARE_BEFORE_PROOF) as Work
            } else {
                slice
            };
            if !sub.stalled() {
                tasks.push(Task::Bound {
                    dense,
                    sub,
                    lower,
                    empty,
                    slice,
                });
            }
            tasks.push(Task::Search {
                dense,
                search,
                upper,
                empty,
                slice: search_slice,
            });
            if let Some(partner) = partner {
                tasks.push(Task::Search {
                    dense,
                    search: partner,
                    upper,
                    empty,
                    slice: search_slice,
                });
            }
        }
        let gap = schedule.gap;
        let stop = || schedule.cancel.load(Ordering::Relaxed) || Instant::now() >= schedule.deadline;
        let run_task = |task: Task<'_>| -> Work {
            let mut done: Work = 0;
            match task {
                Task::Bound {
                    dense,
                    sub,
                    lower,
                    empty,
                    slice,
                } => {
                    let mut ks = Knapsack::default();
                    while done < slice && !sub.stalled() && !stop() {
                        done += sub.step(dense, &mut ks, lower);
                        if sub.bound - lower <= gap * (sub.bound - empty).max(0.0) + 1e-7 {
                            break;
                        }
                    }
                }
                Task::Search {
                    dense,
                    search,
                    upper,
                    empty,
                    slice,
                } => {
                    while done < slice && !stop() {
                        done += search.iterate(dense);
                        if upper - search.total <= gap * (upper - empty).max(0.0) + 1e-7 {
                            break;
                        }
                    }
                }
                Task::Proof { state, margin } => {
                    let began = Instant::now();
                    let found = proof::prove(
                        &state.dense,
                        &state.sub.best_price,
                        &state.sub.best_night_price,
                        state.sub.bound,
                        state.search.total,
                        margin,
                        PROOF_MAX_PATTERNS,
                        PROOF_MAX_NODES,
                    );
                    done += found.work;
                    tracing::trace!(
                        margin,
                        bound = ?found.bound,
                        better = found.plan.as_ref().map(|p| p.1),
                        work = found.work,
                        seconds = began.elapsed().as_secs_f64(),
                        "proof"
                    );
                    if let Some((plan, value)) = found.plan {
                        if value > state.search.total + 1e-9 {
                            state.search.adopt(&state.dense, &plan);
                        }
                    }
                    state.proven = Some(found.bound.unwrap_or(f64::INFINITY));
                }
            }
            done.max(1)
        };
        let work: Work = if schedule.workers <= 1 || tasks.len() <= 1 {
            tasks.into_iter().map(run_task).sum()
        } else {
            let queue = std::sync::Mutex::new(tasks);
            let total = std::sync::atomic::AtomicU64::new(0);
            let worker = || loop {
                let task = queue.lock().expect("tasks").pop();
                let Some(task) = task else { break };
                total.fetch_add(run_task(task), Ordering::Relaxed);
            };
            // This thread is one of the workers: a round starts one thread fewer.
            let helpers = schedule.workers.min(queue.lock().expect("tasks").len()) - 1;
            std::thread::scope(|scope| {
                for _ in 0..helpers {
                    scope.spawn(worker);
                }
                worker();
            });
            total.into_inner()
        };
        spent += work;
        for &i in &open {
            let state = &mut states[i];
            state.work += work / open.len() as u64;
            // A better plan from the Lagrangian heuristic replaces the search's.
            if let Some((plan, value)) = state.sub.plan.take() {
                if value > state.search.total + 1e-9 {
                    state.search.adopt(&state.dense, &plan);
                }
            }
            state.share_plans();
            // The searches draw their ruins where the plan wastes the bound at its latest prices.
            if state.sub.steps > 0 {
                let ComponentState {
                    dense,
                    sub,
                    search,
                    partner,
                    ..
                } = state;
                search.guide(dense, &sub.priced, &sub.priced_night, &sub.reduced);
                if let Some(partner) = partner {
                    partner.guide(dense, &sub.priced, &sub.priced_night, &sub.reduced);
                }
            }
        }
        progress(states);
    }
}

#[cfg(test)]
mod tests {
    use super::super::dense::{DenseList, Weights};
    use super::super::Lcg;
    use super::*;
    use crate::planning::objective::ListCosts;

    /// A random component: `lists` lists (1 to its end) and `patients` patients (2 to its end),
    /// each patient eligible for some lists; in half of them some patients stay overnight and the
    /// lists share a bed night of 0-2 beds.
    fn component(
        rng: &mut Lcg,
        lists: std::ops::RangeInclusive<usize>,
        patients: std::ops::RangeInclusive<usize>,
    ) -> Dense {
        let weights = Weights {
            shortfall: 2.0,
            under: if rng.unit() < 0.5 { 0.01 } else { 0.0 },
            turnaround: 10,
        };
        let m = lists.start() + rng.below(lists.end() - lists.start() + 1);
        let n = patients.start() + rng.below(patients.end() - patients.start() + 1);
        let minutes: Vec<i64> = (0..n).map(|_| 5 * (4 + rng.below(20)) as i64).collect();
        let with_beds = rng.unit() < 0.5;
        let overnight: Vec<bool> = (0..n).map(|_| with_beds && rng.unit() < 0.5).collect();
        let night_beds = if with_beds {
            vec![rng.below(3) as i64]
        } else {
            vec![]
        };
        // The third list is on another, unlimited night when the patients are even in number.
        let on_night = |l: usize| (with_beds && !(l == 2 && n.is_multiple_of(2))).then_some(0);
        let mut lists: Vec<DenseList> = (0..m)
            .map(|l| {
                let capacity = 90 + 10 * rng.below(25) as i64;
                let target = rng.below(5) as u32;
                DenseList {
                    session: l,
                    capacity,
                    target,
                    costs: ListCosts::new(
                        target,
                        0.8 * capacity as f64,
                        0.0,
                        weights.shortfall,
                        weights.under,
                    ),
                    pinned: vec![],
                    pinned_load: 0,
                    pinned_touch: 0,
                    pinned_value: 0.0,
                    cands: vec![],
                    coef: vec![],
                    load: vec![],
                    by_load: vec![],
                    night: on_night(l),
                    bed: vec![],
                }
            })
            .collect();
        let mut options = vec![Vec::new(); n];
        for (p, opts) in options.iter_mut().enumerate() {
            for (l, list) in lists.iter_mut().enumerate() {
                if rng.unit() < 0.7 {
                    opts.push((l as u32, list.cands.len() as u32));
                    list.cands.push(p as u32);
                    list.coef.push(rng.unit() * 6.0 - 1.0);
                    list.load.push(minutes[p] + weights.turnaround);
                    list.bed.push(list.night.is_some() && overnight[p]);
                }
            }
        }
        for list in &mut lists {
            list.sort_by_load();
        }
        Dense {
            patients: (0..n).collect(),
            pinned: vec![false; n],
            minutes,
            lists,
            options,
            pinned_on: vec![None; n],
            costs: weights,
            night_beds,
        }
    }

    /// A trivial upper bound: every candidate with a positive coefficient on every list it may go on.
    fn positive_sum(dense: &Dense) -> f64 {
        dense
            .lists
            .iter()
            .map(|l| l.coef.iter().map(|c| c.max(0.0)).sum::<f64>())
            .sum()
    }

    /// The best plan's value over every allocation (each patient unbooked or on one of its
    /// lists), capacity checked list by list and beds night by night, valued by
    /// `Dense::list_value`.
    fn brute_force(d: &Dense) -> f64 {
        let n = d.patients.len();
        let mut at: Vec<Option<(u32, u32)>> = vec![None; n];
        fn go(d: &Dense, p: usize, at: &mut Vec<Option<(u32, u32)>>, best: &mut f64) {
            if p == at.len() {
                let mut value = 0.0;
                let mut beds = vec![0i64; d.night_beds.len()];
                for (l, list) in d.lists.iter().enumerate() {
                    let ks: Vec<u32> = at
                        .iter()
                        .flatten()
                        .filter(|(m, _)| *m as usize == l)
                        .map(|&(_, k)| k)
                        .collect();
                    let load: i64 = ks.iter().map(|&k| list.load[k as usize]).sum();
                    if load > list.capacity {
                        return;
                    }
                    if let Some(g) = list.night {
                        beds[g as usize] += ks.iter().filter(|&&k| list.bed[k as usize]).count() as i64;
                    }
                    value += d.list_value(l, ks);
                }
                if beds.iter().zip(&d.night_beds).any(|(used, free)| used > free) {
                    return;
                }
                *best = best.max(value);
                return;
            }
            at[p] = None;
            go(d, p + 1, at, best);
            for &o in &d.options[p] {
                at[p] = Some(o);
                go(d, p + 1, at, best);
            }
            at[p] = None;
        }
        let mut best = f64::NEG_INFINITY;
        go(d, 0, &mut at, &mut best);
        best
    }

    /// A proof that leaves its component the margin it is given keeps the whole plan within the
    /// gap, and a margin a little larger would not (when there is one to give).
    #[test]
    fn a_proof_margin_keeps_the_whole_plan_within_the_gap() {
        let mut rng = Lcg(5);
        for case in 0..10_000 {
            let gap = [0.0, 0.001, 0.005, 0.01, 0.2][case % 5];
            let range = 1.0 + rng.unit() * 500.0;
            let own = rng.unit() * 0.05 * range;
            let others = rng.unit() * 0.03 * range;
            let m = proof_margin(gap, range, own, others);
            assert!(m >= 0.0, "case {case}");
            // After the proof: the component keeps m, the range loses own − m.
            let after = |m: f64| (others + m) / (range - own + m);
            if m > 0.0 {
                assert!(after(m) <= gap, "case {case}: {} > {gap}", after(m));
                assert!(
                    after(m / PROOF_MARGIN_SHARE * 1.001) > gap,
                    "case {case}: not the largest"
                );
            } else {
                assert!(
                    after(0.0) >= gap - 1e-12,
                    "case {case}: a margin was there to give"
                );
            }
        }
    }

    /// At gap 0 the scheduler proves every small component: its plan is worth the brute-force
    /// optimum and its bound is that optimum too; at any point the bound is at least the optimum.
    #[test]
    fn at_gap_zero_plan_and_bound_equal_the_brute_force_optimum() {
        let mut rng = Lcg(11);
        let cancel = AtomicBool::new(false);
        for case in 0..300 {
            let dense = component(&mut rng, 1..=3, 2..=8);
            let optimum = brute_force(&dense);
            let start = vec![None; dense.patients.len()];
            let trivial = positive_sum(&dense);
            let mut states = vec![ComponentState::new(dense, &start, trivial.max(optimum), case)];
            let schedule = Schedule {
                gap: 0.0,
                budget: 1 << 40,
                slice: 1 << 20,
                workers: 1 + case as usize % 2,
                deadline: Instant::now() + std::time::Duration::from_secs(600),
                cancel: &cancel,
            };
            let ending = run(&mut states, &schedule, &|states| {
                assert!(
                    states[0].bound() >= optimum - 1e-6,
                    "case {case}: bound below the optimum"
                );
            });
            let s = &states[0];
            assert_eq!(ending, Ending::Proven, "case {case}");
            assert!(
                (s.value() - optimum).abs() < 1e-6,
                "case {case}: plan {} vs optimum {optimum}",
                s.value()
            );
            assert!(
                s.bound() >= optimum - 1e-6,
                "case {case}: bound {} vs optimum {optimum}",
                s.bound()
            );
        }
    }

    /// On components too large for a proof, a second search joins once the bound stalls: the
    /// component's value never falls from one round to the next, it is the exact value of the
    /// valid plan returned, and one worker or two give the same plan.
    #[test]
    fn a_second_search_keeps_the_best_plan_whatever_the_worker_count() {
        let cancel = AtomicBool::new(false);
        let mut partnered = 0;
        for case in 0..8u64 {
            let mut answers = Vec::new();
            for workers in [1, 2] {
                let mut rng = Lcg(200 + case);
                let dense = component(
                    &mut rng,
                    6..=10,
                    proof::MAX_PATIENTS + 1..=proof::MAX_PATIENTS + 40,
                );
                let start = vec![None; dense.patients.len()];
                let trivial = positive_sum(&dense);
                let mut states = vec![ComponentState::new(dense, &start, trivial, case)];
                let schedule = Schedule {
                    gap: 0.0,
                    budget: 300_000_000,
                    slice: 1 << 20,
                    workers,
                    deadline: Instant::now() + std::time::Duration::from_secs(600),
                    cancel: &cancel,
                };
                let last = std::cell::Cell::new(f64::NEG_INFINITY);
                run(&mut states, &schedule, &|states| {
                    let value = states[0].value();
                    assert!(value >= last.get() - 1e-9, "case {case}: the plan lost value");
                    last.set(value);
                });
                let s = &states[0];
                let (valid, value) = super::super::search::plan_value(&s.dense, s.search.plan());
                assert!(valid, "case {case}: invalid plan");
                assert!(
                    (value - s.value()).abs() < 1e-6,
                    "case {case}: {value} vs {}",
                    s.value()
                );
                if let Some(partner) = &s.partner {
                    partnered += 1;
                    assert!(
                        partner.total <= s.value() + 1e-9,
                        "case {case}: the better plan left behind"
                    );
                }
                answers.push((s.search.plan().to_vec(), s.value().to_bits(), s.bound().to_bits()));
            }
            assert!(answers[0] == answers[1], "case {case}: one worker and two differ");
        }
        assert!(partnered > 0, "no component ever stalled its bound");
    }

    /// With late acceptance the working plan may fall below the best, but the plan returned is
    /// the best seen: its value never falls and is the exact value of a valid plan.
    #[test]
    fn the_search_returns_the_best_plan_it_has_seen() {
        let mut rng = Lcg(43);
        let mut dipped = 0;
        for case in 0..20u64 {
            let dense = component(&mut rng, 4..=8, 20..=60);
            let start = vec![None; dense.patients.len()];
            let mut search = Search::new(&dense, &start, case, search::NOISE);
            let mut last = search.total;
            for _ in 0..400 {
                search.iterate(&dense);
                assert!(
                    search.total >= last - 1e-9,
                    "case {case}: the best plan lost value"
                );
                last = search.total;
                assert!(search.working_value() <= search.total + 1e-9, "case {case}");
                if search.working_value() < search.total - 1e-9 {
                    dipped += 1;
                }
            }
            let (valid, value) = super::super::search::plan_value(&dense, search.plan());
            assert!(
                valid && (value - search.total).abs() < 1e-6,
                "case {case}: {value}"
            );
        }
        assert!(dipped > 0, "late acceptance never kept a worse plan");
    }

    /// Guided by the bound's prices, the search keeps each list's price sum as its plan changes;
    /// no list's plan is worth more at those prices than the list's best pattern (the knapsack is
    /// exact); and a ruin starts only at a list that wastes something, while one does.
    #[test]
    fn a_guided_search_starts_its_ruins_where_the_plan_wastes_the_bound() {
        let mut rng = Lcg(47);
        let mut drawn = 0;
        for case in 0..60u64 {
            let dense = component(&mut rng, 2..=7, 10..=50);
            let start = vec![None; dense.patients.len()];
            let mut state = ComponentState::new(dense, &start, f64::INFINITY, case);
            let mut ks = Knapsack::default();
            for _ in 0..1 + case as usize % 20 {
                let lower = state.search.total;
                state.sub.step(&state.dense, &mut ks, lower);
            }
            let ComponentState {
                dense, sub, search, ..
            } = &mut state;
            assert!(search.guided_waste(dense).is_none(), "case {case}");
            search.guide(dense, &sub.priced, &sub.priced_night, &sub.reduced);
            for round in 0..30 {
                let (waste, same) = search.guided_waste(dense).expect("guided");
                assert!(same, "case {case}, round {round}: the running price sums drifted");
                for (l, w) in waste.iter().enumerate() {
                    assert!(*w >= -1e-6, "case {case}, round {round}, list {l}: waste {w}");
                }
                if waste.iter().any(|&w| w > 1e-6) {
                    for _ in 0..5 {
                        let l = search.draw_seed();
                        assert!(
                            waste[l] > 0.0,
                            "case {case}: a ruin started at list {l}, which wastes nothing"
                        );
                        drawn += 1;
                    }
                }
                search.iterate(dense);
            }
        }
        assert!(drawn > 100, "too few guided draws: {drawn}");
    }

    /// Whichever of the two searches holds the better plan, the other adopts it, and the plan it
    /// adopts is worth what its search said.
    #[test]
    fn the_search_behind_adopts_the_better_plan() {
        let mut rng = Lcg(41);
        let mut moved = [0, 0];
        for case in 0..20u64 {
            let dense = component(&mut rng, 4..=8, 20..=60);
            let start = vec![None; dense.patients.len()];
            let mut state = ComponentState::new(dense, &start, f64::INFINITY, case);
            state.partner = Some(Search::new(
                &state.dense,
                &start,
                case ^ PARTNER_SEED,
                search::NOISE,
            ));
            for round in 0..40 {
                // One search runs ahead, in turn.
                let ahead = if round % 2 == 0 {
                    state.partner.as_mut().expect("partner")
                } else {
                    &mut state.search
                };
                for _ in 0..5 {
                    ahead.iterate(&state.dense);
                }
                let before = (state.search.total, state.partner.as_ref().expect("partner").total);
                state.share_plans();
                let partner = state.partner.as_ref().expect("partner");
                let best = before.0.max(before.1);
                for (who, search) in [&state.search, partner].into_iter().enumerate() {
                    assert!(
                        (search.total - best).abs() < 1e-9,
                        "case {case}: behind after sharing"
                    );
                    let (valid, value) = super::super::search::plan_value(&state.dense, search.plan());
                    assert!(
                        valid && (value - best).abs() < 1e-6,
                        "case {case}: {value} vs {best}"
                    );
                    if [before.0, before.1][who] < best - 1e-9 {
                        moved[who] += 1;
                    }
                }
            }
        }
        assert!(
            moved[0] > 0 && moved[1] > 0,
            "each search must have been behind: {moved:?}"
        );
    }

    /// The proof alone, on components of 4-5 lists (so that the walk has lists before the last
    /// and lists still to choose after the one it branches on): from an empty incumbent at gap
    /// 0, with the prices of a subgradient run, it finds a plan worth the brute-force optimum
    /// and a bound equal to it.
    #[test]
    fn the_proof_finds_and_proves_the_brute_force_optimum() {
        let mut rng = Lcg(29);
        let mut ks = Knapsack::default();
        for case in 0..40 {
            let dense = component(&mut rng, 4..=5, 5..=7);
            let optimum = brute_force(&dense);
            let mut sub = Subgradient::new(&dense);
            let empty = dense.empty_value();
            for _ in 0..60 {
                sub.step(&dense, &mut ks, empty);
            }
            let found = proof::prove(
                &dense,
                &sub.best_price,
                &sub.best_night_price,
                sub.bound,
                empty,
                0.0,
                1 << 20,
                1 << 30,
            );
            let bound = found.bound.expect("a small proof runs to its end");
            assert!(
                (bound - optimum).abs() < 1e-6,
                "case {case}: proven bound {bound} vs optimum {optimum}"
            );
            let value = found.plan.map_or(empty, |(_, v)| v);
            assert!(
                (value - optimum).abs() < 1e-6,
                "case {case}: plan {value} vs optimum {optimum}"
            );
        }
    }
}
