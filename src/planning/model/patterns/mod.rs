//! Price-and-branch on list patterns: the strong formulation the solver uses.
//!
//! A *pattern* is one list's set of cases. Its value is exact, list costs included:
//!   v(s, P) = Σ_{p∈P} c[p,s] − shortfall·max(0, target[s] − |P|) − under·max(0, floor[s] − reserved[s] − touch(P))
//! The master problem picks at most one pattern per list and puts each patient in at most one:
//!   maximise Σ_k v_k·λ_k   s.t.  Σ_{k∋p} λ_k ≤ 1 (= 1 pinned)  ∀p,   Σ_{k of s} λ_k ≤ 1  ∀s,   λ ≥ 0
//! Its LP relaxation is far stronger than the pair model's: a list's shortfall cost cannot be
//! diluted by fractional cases. Columns are priced by an exact knapsack DP per list (capacity ×
//! case count), so for any patient prices π ≥ 0 the Lagrangian value
//!   UB(π) = Σ_p π_p + Σ_s max_P (v(s, P) − Σ_{p∈P} π_p)
//! is a proven upper bound. When pricing finds nothing, the restricted master is solved as a MIP
//! (HiGHS, warm-started from the baseline's patterns) for the plan.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use good_lp::{variable, Constraint, Expression, ProblemVariables, SolverModel, Variable};

use super::highs_run::{self, Control, SolverError, Stop};
use super::{pair_coefficient, Component};
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::objective::ListCosts;

/// One list's set of cases, with its exact value.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    session: SessionIx,
    patients: Vec<PatientIx>,
    value: f64,
}

/// What a component solve returns.
pub struct PatternOutcome {
    pub assignment: Vec<(PatientIx, SessionIx)>,
    /// Proven upper bound on the component's objective (model terms).
    pub bound: f64,
    /// Objective of `assignment` (model terms).
    pub objective: f64,
    pub stop: Stop,
    pub columns: usize,
    pub rows: usize,
    pub iterations: usize,
}

/// Columns added per list and pricing round (best patterns of different case counts).
const COLUMNS_PER_LIST: usize = 3;
/// Wentges smoothing: weight of the best-bound prices in the prices used for pricing.
const SMOOTHING: f64 = 0.6;
/// Share of a component's time for column generation; the rest is for the MIP.
const PRICING_SHARE: f64 = 0.7;
/// Components with at least this many eligible pairs are *large*: their master LP rounds are slow,
/// so the prices are warmed up by subgradient steps first and the master LP is re-solved by primal
/// simplex. Smaller ones go straight to column generation, which converges there in a few cheap
/// rounds (measured: both changes cost plan value on the 275-pair theatre request).
const LARGE_COMPONENT_PAIRS: usize = 2_000;
/// Share of the column-generation time for the subgradient warm-up of the prices.
const WARMUP_SHARE: f64 = 0.4;
/// Subgradient iterations of the warm-up, at most.
const WARMUP_ITERATIONS: usize = 500;
/// The warm-up's first Polyak step factor, halved after `WARMUP_PATIENCE` steps without a better
/// bound (measured on generated trust-scale requests: 0.5 and 5 gave the lowest bounds in 4 s).
const WARMUP_FIRST_STEP: f64 = 0.5;
const WARMUP_PATIENCE: i32 = 5;

/// The per-list data pricing needs.
struct ListData {
    session: SessionIx,
    /// Pinned patients: in every pattern of this list.
    pinned: Vec<PatientIx>,
    /// Other eligible patients.
    candidates: Vec<PatientIx>,
    /// Minutes for cases and changeovers, pinned cases always fitting
    /// ([`PlanningRequest::effective_capacity`]).
    capacity: i64,
    /// The list's cost terms (target, floor, reserved minutes).
    costs: ListCosts,
    /// Objective coefficient c[p,s] of every patient that may go on the list.
    coef: HashMap<PatientIx, f64>,
}

fn pattern_value(req: &PlanningRequest, l: &ListData, patients: &[PatientIx]) -> f64 {
    let gain: f64 = patients.iter().map(|p| l.coef[p]).sum();
    let touch: f64 = patients.iter().map(|&p| f64::from(req.patients[p].minutes)).sum();
    gain - l.costs.penalty(patients.len() as u32, touch)
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 {
        a.abs()
    } else {
        gcd(b, a % b)
    }
}

/// The best patterns of a list at patient prices `price`: an exact 0/1 knapsack over (capacity,
/// case count). Returns up to `keep` patterns (the best for different case counts), best first,
/// each with its reduced value v − Σ π; the first is the list's best pattern.
fn price_list(
    req: &PlanningRequest,
    l: &ListData,
    price: &HashMap<PatientIx, f64>,
    keep: usize,
) -> Vec<(Vec<PatientIx>, f64)> {
    let o = &req.policy.objective;
    let t = i64::from(req.policy.lists.turnaround_minutes);
    let forced_load: i64 = l.pinned.iter().map(|&p| req.case_load(p)).sum();
    let forced_profit: f64 = l.pinned.iter().map(|p| l.coef[p] - price[p]).sum();
    let capacity = l.capacity;
    // Items that could ever help: a case can at best save one shortfall case and its minutes of
    // under-utilisation, so lower profits never enter an optimal pattern.
    let items: Vec<(PatientIx, i64, f64)> = l
        .candidates
        .iter()
        .map(|&p| (p, req.case_load(p), l.coef[&p] - price[&p]))
        .filter(|&(p, load, r)| {
            load <= capacity - forced_load
                && r + o.cases_per_list_shortfall + o.under_utilisation * f64::from(req.patients[p].minutes)
                    > 1e-9
        })
        .collect();
    let free = capacity - forced_load;
    let g = items
        .iter()
        .fold(free.max(1), |g, &(_, load, _)| gcd(g, load))
        .max(1);
    let units = (free / g) as usize;
    let min_u = items
        .iter()
        .map(|&(_, load, _)| (load / g) as usize)
        .min()
        .unwrap_or(1)
        .max(1);
    let max_n = items.len().min(units / min_u);
    let width = max_n + 1;
    let states = (units + 1) * width;
    let mut dp = vec![f64::NEG_INFINITY; states];
    dp[0] = 0.0;
    let mut take = vec![false; items.len() * states];
    for (i, &(_, load, r)) in items.iter().enumerate() {
        let u = (load / g) as usize;
        for c in (u..=units).rev() {
            for n in (1..=max_n.min(i + 1)).rev() {
                let from = dp[(c - u) * width + n - 1];
                if from > f64::NEG_INFINITY && from + r > dp[c * width + n] {
                    dp[c * width + n] = from + r;
                    take[i * states + c * width + n] = true;
                }
            }
        }
    }
    let forced_n = l.pinned.len() as u32;
    let forced_touch = (forced_load - t * i64::from(forced_n)) as f64;
    // The best state for each number of added cases.
    let mut per_count: Vec<(f64, usize, usize)> = Vec::with_capacity(width);
    for n in 0..=max_n {
        let mut best = (f64::NEG_INFINITY, 0usize, n);
        for c in 0..=units {
            let v = dp[c * width + n];
            if v == f64::NEG_INFINITY {
                continue;
            }
            let count = forced_n + n as u32;
            let touch = forced_touch + (c as i64 * g - t * n as i64) as f64;
            let total = forced_profit + v - l.costs.penalty(count, touch);
            if total > best.0 + 1e-12 {
                best = (total, c, n);
            }
        }
        if best.0 > f64::NEG_INFINITY {
            per_count.push(best);
        }
    }
    per_count.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.2.cmp(&b.2)));
    per_count
        .into_iter()
        .take(keep.max(1))
        .map(|(value, mut c, mut n)| {
            let mut chosen = l.pinned.clone();
            for i in (0..items.len()).rev() {
                if n > 0 && take[i * states + c * width + n] {
                    chosen.push(items[i].0);
                    c -= (items[i].1 / g) as usize;
                    n -= 1;
                }
            }
            chosen.sort_unstable();
            (chosen, value)
        })
        .collect()
}

/// Rounds an LP solution to a plan: patterns by decreasing LP weight, each keeping only its cases
/// not already placed; then every unplaced patient goes where it adds most value, if anywhere.
fn round_lp<'a>(
    req: &PlanningRequest,
    lists: &'a [ListData],
    pool: &[Pattern],
    lambda: &[f64],
    pinned: &HashSet<PatientIx>,
) -> Vec<(&'a ListData, Vec<PatientIx>)> {
    let by_session: HashMap<SessionIx, &ListData> = lists.iter().map(|l| (l.session, l)).collect();
    let mut order: Vec<usize> = (0..pool.len().min(lambda.len()))
        .filter(|&k| lambda[k] > 1e-6)
        .collect();
    order.sort_by(|&a, &b| {
        lambda[b]
            .total_cmp(&lambda[a])
            .then(pool[b].value.total_cmp(&pool[a].value))
            .then(a.cmp(&b))
    });
    let mut placed: HashSet<PatientIx> = HashSet::new();
    let mut chosen: HashMap<SessionIx, Vec<PatientIx>> = HashMap::new();
    // Pinned cases first, always where they are.
    for l in lists {
        if !l.pinned.is_empty() {
            chosen.insert(l.session, l.pinned.clone());
            placed.extend(l.pinned.iter().copied());
        }
    }
    for k in order {
        let pattern = &pool[k];
        if chosen
            .get(&pattern.session)
            .is_some_and(|c| c.len() > by_session[&pattern.session].pinned.len())
        {
            continue;
        }
        let extra: Vec<PatientIx> = pattern
            .patients
            .iter()
            .copied()
            .filter(|p| !placed.contains(p) && !pinned.contains(p))
            .collect();
        if extra.is_empty() {
            continue;
        }
        placed.extend(extra.iter().copied());
        chosen.entry(pattern.session).or_default().extend(extra);
    }
    // Greedy fill: each unplaced patient to the list where it adds most (if it adds anything).
    let used = |req: &PlanningRequest, patients: &[PatientIx]| -> i64 {
        patients.iter().map(|&p| req.case_load(p)).sum()
    };
    let mut candidates: Vec<(PatientIx, SessionIx)> = lists
        .iter()
        .flat_map(|l| l.candidates.iter().map(move |&p| (p, l.session)))
        .collect();
    let coef = |p: PatientIx, s: SessionIx| by_session[&s].coef[&p];
    candidates.sort_by(|a, b| coef(b.0, b.1).total_cmp(&coef(a.0, a.1)).then(a.cmp(b)));
    for (p, s) in candidates {
        if placed.contains(&p) {
            continue;
        }
        let l = by_session[&s];
        let current = chosen.get(&s).cloned().unwrap_or_default();
        if used(req, &current) + req.case_load(p) > l.capacity {
            continue;
        }
        let mut with = current.clone();
        with.push(p);
        if pattern_value(req, l, &with) > pattern_value(req, l, &current) + 1e-9 {
            placed.insert(p);
            chosen.insert(s, with);
        }
    }
    let mut out: Vec<(&ListData, Vec<PatientIx>)> = chosen
        .into_iter()
        .filter(|(_, patients)| !patients.is_empty())
        .map(|(s, mut patients)| {
            patients.sort_unstable();
            (by_session[&s], patients)
        })
        .collect();
    out.sort_by_key(|(l, _)| l.session);
    out
}

/// Prices every list at `price`: the Lagrangian bound UB(price) and the columns with a positive
/// reduced value.
fn price_all<'a>(
    req: &PlanningRequest,
    lists: &'a [ListData],
    price: &HashMap<PatientIx, f64>,
) -> (f64, Vec<(&'a ListData, Vec<PatientIx>)>) {
    let mut ub: f64 = price.values().sum();
    let mut columns = Vec::new();
    for l in lists {
        let priced = price_list(req, l, price, COLUMNS_PER_LIST);
        let reduced = priced.first().map_or(0.0, |(_, r)| *r);
        ub += if l.pinned.is_empty() {
            reduced.max(0.0)
        } else {
            reduced
        };
        columns.extend(
            priced
                .into_iter()
                .filter(|(_, r)| *r > 1e-7)
                .map(|(patients, _)| (l, patients)),
        );
    }
    (ub, columns)
}

/// The reduced value of a pattern at `price`.
fn reduced_at(
    req: &PlanningRequest,
    l: &ListData,
    patients: &[PatientIx],
    price: &HashMap<PatientIx, f64>,
) -> f64 {
    pattern_value(req, l, patients) - patients.iter().map(|p| price[p]).sum::<f64>()
}

/// Where the subgradient warm-up left the prices.
struct Warmup {
    /// The lowest Lagrangian bound UB(π) seen, and its prices.
    bound: f64,
    price: HashMap<PatientIx, f64>,
    iterations: usize,
}

/// Subgradient descent on the Lagrangian bound UB(π) before column generation: each step prices
/// every list once (knapsack DPs only, no LP), moves each patient's price by how often the lists'
/// best patterns over- or under-use them (Polyak step towards `lower`, a known plan value), and
/// keeps the best prices. A bound from good prices costs a fraction of the master LP rounds it
/// would take, and those prices are the stability centre the smoothed column generation starts
/// from. Every UB(π) is a valid bound: pricing is exact.
fn lagrangian_warmup(
    req: &PlanningRequest,
    lists: &[ListData],
    patients: &[PatientIx],
    pinned: &HashSet<PatientIx>,
    lower: f64,
    until: Instant,
    control: &Control<'_>,
) -> Warmup {
    let mut price: HashMap<PatientIx, f64> = patients.iter().map(|&p| (p, 0.0)).collect();
    let mut best = Warmup {
        bound: f64::INFINITY,
        price: price.clone(),
        iterations: 0,
    };
    let mut step = WARMUP_FIRST_STEP;
    let mut since_better = 0;
    let mut used: HashMap<PatientIx, i32> = HashMap::with_capacity(patients.len());
    while best.iterations < WARMUP_ITERATIONS && step > 1e-3 {
        if Instant::now() >= until
            || Instant::now() >= control.deadline
            || control.cancel.load(std::sync::atomic::Ordering::Relaxed)
        {
            break;
        }
        best.iterations += 1;
        used.clear();
        let mut ub: f64 = price.values().sum();
        for l in lists {
            let Some((chosen, reduced)) = price_list(req, l, &price, 1).into_iter().next() else {
                continue;
            };
            if reduced > 0.0 || !l.pinned.is_empty() {
                ub += reduced;
                for p in chosen {
                    *used.entry(p).or_insert(0) += 1;
                }
            }
        }
        if ub < best.bound - 1e-9 {
            best.bound = ub;
            best.price.clone_from(&price);
            since_better = 0;
        } else {
            since_better += 1;
            if since_better >= WARMUP_PATIENCE {
                step /= 2.0;
                since_better = 0;
            }
        }
        // Subgradient of UB at π: 1 − (times p is used); zero for pinned patients, always once.
        let gradient = |p: &PatientIx| 1.0 - f64::from(used.get(p).copied().unwrap_or(0));
        let norm: f64 = patients.iter().map(|p| gradient(p).powi(2)).sum();
        if norm == 0.0 {
            break; // every patient used exactly once: these prices are optimal
        }
        let t = step * (ub - lower).max(1e-6) / norm;
        for p in patients {
            let moved = price[p] - t * gradient(p);
            price.insert(*p, if pinned.contains(p) { moved } else { moved.max(0.0) });
        }
    }
    best
}

/// The component's patients whose bookings are pinned (they keep their list).
fn pinned_patients(req: &PlanningRequest, comp: &Component) -> HashSet<PatientIx> {
    comp.patients
        .iter()
        .copied()
        .filter(|&p| req.booking_of(p).is_some_and(|b| req.is_pinned(b)))
        .collect()
}

/// Every list of the component with the patients that may go on it and their coefficients.
fn list_data(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    pinned: &HashSet<PatientIx>,
) -> Vec<ListData> {
    let mut lists: Vec<ListData> = comp
        .sessions
        .iter()
        .map(|&s| ListData {
            session: s,
            pinned: vec![],
            candidates: vec![],
            capacity: req.effective_capacity(s),
            costs: ListCosts::of(req, s),
            coef: HashMap::new(),
        })
        .collect();
    let list_ix: HashMap<SessionIx, usize> = comp.sessions.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    for &p in &comp.patients {
        for &s in &options[p] {
            let l = &mut lists[list_ix[&s]];
            l.coef.insert(p, pair_coefficient(req, p, s));
            if pinned.contains(&p) {
                l.pinned.push(p);
            } else {
                l.candidates.push(p);
            }
        }
    }
    lists
}

/// Solves one component by price-and-branch within `time_limit` seconds.
pub fn solve(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    warm: &[Option<SessionIx>],
    time_limit: f64,
    control: &Control<'_>,
) -> Result<PatternOutcome, SolverError> {
    let started = Instant::now();
    let in_comp: HashSet<PatientIx> = comp.patients.iter().copied().collect();
    let pinned = pinned_patients(req, comp);
    let lists = list_data(req, comp, options, &pinned);

    // Column pool, seeded with the warm start's patterns (so the MIP can start from it).
    let mut pool: Vec<Pattern> = Vec::new();
    let mut seen: HashSet<(SessionIx, Vec<PatientIx>)> = HashSet::new();
    let mut add = |pool: &mut Vec<Pattern>, l: &ListData, patients: Vec<PatientIx>| -> bool {
        if patients.is_empty() || !seen.insert((l.session, patients.clone())) {
            return false;
        }
        let value = pattern_value(req, l, &patients);
        pool.push(Pattern {
            session: l.session,
            patients,
            value,
        });
        true
    };
    for l in &lists {
        let mut on: Vec<PatientIx> = comp
            .patients
            .iter()
            .copied()
            .filter(|&p| warm[p] == Some(l.session) && in_comp.contains(&p))
            .collect();
        on.sort_unstable();
        add(&mut pool, l, on);
    }
    let warm_patterns: HashSet<(SessionIx, Vec<PatientIx>)> =
        pool.iter().map(|k| (k.session, k.patients.clone())).collect();
    let warm_value: f64 = pool.iter().map(|k| k.value).sum();
    // Each list's best patterns on its own (no competition for patients).
    let free: HashMap<PatientIx, f64> = comp.patients.iter().map(|&p| (p, 0.0)).collect();
    for l in &lists {
        for (patients, _) in price_list(req, l, &free, COLUMNS_PER_LIST) {
            add(&mut pool, l, patients);
        }
    }

    // Good prices first, by subgradient steps; their best patterns join the pool.
    let pricing_budget = time_limit * PRICING_SHARE;
    let large = lists.iter().map(|l| l.coef.len()).sum::<usize>() >= LARGE_COMPONENT_PAIRS;
    let warmup_until = if large {
        started + std::time::Duration::from_secs_f64(pricing_budget * WARMUP_SHARE)
    } else {
        started
    };
    let warmup = lagrangian_warmup(
        req,
        &lists,
        &comp.patients,
        &pinned,
        warm_value,
        warmup_until,
        control,
    );
    let mut bound = warmup.bound;
    let mut best_price: Option<HashMap<PatientIx, f64>> = None;
    if warmup.iterations > 0 {
        for l in &lists {
            for (patients, _) in price_list(req, l, &warmup.price, COLUMNS_PER_LIST) {
                add(&mut pool, l, patients);
            }
        }
        best_price = Some(warmup.price);
    }
    tracing::trace!(
        iterations = warmup.iterations,
        bound,
        lower = warm_value,
        seconds = started.elapsed().as_secs_f64(),
        "subgradient warm-up"
    );

    // Column generation, with Wentges smoothing of the prices towards the best-bound prices.
    let mut sign = 0.0;
    let mut iterations = 0;
    let mut lp_value = f64::NEG_INFINITY;
    let clamp = |p: PatientIx, d: f64| if pinned.contains(&p) { d } else { d.max(0.0) };
    let mut master = LpMaster::new(req, comp, &lists, &pool, &pinned, large)?;
    let mut last_lambda: Vec<f64> = Vec::new();
    let patient_order: Vec<PatientIx> = comp.patients.clone();
    let list_pos: HashMap<SessionIx, usize> = lists.iter().enumerate().map(|(i, l)| (l.session, i)).collect();
    loop {
        if control.cancel.load(std::sync::atomic::Ordering::Relaxed) || Instant::now() >= control.deadline {
            break;
        }
        iterations += 1;
        let lp_started = Instant::now();
        let (value, dual_rows, lambda) = master.solve()?;
        last_lambda = lambda;
        let duals: HashMap<PatientIx, f64> = patient_order.iter().copied().zip(dual_rows).collect();
        let lp_seconds = lp_started.elapsed().as_secs_f64();
        let pricing_started = Instant::now();
        lp_value = value;
        let lp_price = |sign: f64| -> HashMap<PatientIx, f64> {
            comp.patients
                .iter()
                .map(|&p| (p, clamp(p, sign * duals.get(&p).copied().unwrap_or(0.0))))
                .collect()
        };
        // The dual sign convention is settled once: the sign under which every pool column is
        // dual feasible (reduced value ≤ 0 with the list rows' duals).
        if sign == 0.0 {
            let worst = |sg: f64| {
                pool.iter()
                    .map(|k| {
                        let list_dual = master.list_duals[list_pos[&k.session]];
                        k.value - sg * (k.patients.iter().map(|p| duals[p]).sum::<f64>() + list_dual)
                    })
                    .fold(f64::NEG_INFINITY, f64::max)
            };
            sign = if worst(1.0) <= worst(-1.0) { 1.0 } else { -1.0 };
        }
        let duals_price = lp_price(sign);
        let smoothed: HashMap<PatientIx, f64> = match &best_price {
            Some(best) => duals_price
                .iter()
                .map(|(&p, &d)| (p, SMOOTHING * best[&p] + (1.0 - SMOOTHING) * d))
                .collect(),
            None => duals_price.clone(),
        };
        let (ub, mut columns) = price_all(req, &lists, &smoothed);
        if ub < bound {
            bound = ub;
            best_price = Some(smoothed.clone());
        }
        // Keep the columns that improve the LP at its own duals (LP reduced value, list dual
        // included: pool columns never qualify); if smoothing found none (a mispricing), price at
        // the duals themselves. None there either: the LP is optimal over all patterns.
        let improves = |l: &ListData, patients: &[PatientIx]| {
            let list_dual = sign * master.list_duals[list_pos[&l.session]];
            reduced_at(req, l, patients, &duals_price) - list_dual > 1e-7
        };
        columns.retain(|(l, patients)| improves(l, patients));
        if columns.is_empty() {
            let (ub, mut at_duals) = price_all(req, &lists, &duals_price);
            if ub < bound {
                bound = ub;
                best_price = Some(duals_price.clone());
            }
            at_duals.retain(|(l, patients)| improves(l, patients));
            if at_duals.is_empty() {
                bound = bound.min(lp_value.max(ub.min(lp_value)));
            }
            columns = at_duals;
        }
        tracing::trace!(
            iteration = iterations,
            lp_seconds,
            pricing_seconds = pricing_started.elapsed().as_secs_f64(),
            lp = lp_value,
            bound,
            columns = pool.len(),
            "pricing round"
        );
        (control.on_progress)(highs_run::Incumbent {
            objective: warm_value,
            bound,
        });
        let mut added = 0;
        for (l, patients) in columns {
            if add(&mut pool, l, patients) {
                master.add(pool.last().expect("just added"));
                added += 1;
            }
        }
        let converged = bound - lp_value <= 1e-6 * bound.abs().max(1.0);
        if added == 0 || converged || started.elapsed().as_secs_f64() > pricing_budget {
            break;
        }
    }
    tracing::trace!(
        iterations,
        columns = pool.len(),
        lp = lp_value,
        bound,
        "column generation done"
    );

    // A plan from the last LP by rounding; the better of it and the warm start seeds the MIP.
    let rounded = round_lp(req, &lists, &pool, &last_lambda, &pinned);
    let rounded_value: f64 = rounded
        .iter()
        .map(|(l, patients)| pattern_value(req, l, patients))
        .sum();
    let start_patterns: HashSet<(SessionIx, Vec<PatientIx>)> = if rounded_value > warm_value + 1e-9 {
        for (l, patients) in &rounded {
            add(&mut pool, l, patients.clone());
        }
        rounded
            .iter()
            .map(|(l, patients)| (l.session, patients.clone()))
            .collect()
    } else {
        warm_patterns
    };
    tracing::trace!(rounded = rounded_value, warm = warm_value, "LP rounding");

    // The restricted master as a MIP, from the better start.
    let remaining = (time_limit - started.elapsed().as_secs_f64()).max(0.05);
    let (assignment, objective, mip_bound, stop) = solve_master_mip(
        req,
        comp,
        &lists,
        &pool,
        &pinned,
        &start_patterns,
        remaining,
        control,
    )?;
    // When the restricted MIP proved optimality over a pool that prices out, its bound is global.
    let _ = mip_bound;
    let bound = bound.max(objective);
    let stop = if stop == Stop::Optimal
        && bound - objective <= req.policy.solver.relative_gap * bound.abs().max(1.0) + 1e-6
    {
        Stop::Optimal
    } else if stop == Stop::Cancelled {
        Stop::Cancelled
    } else {
        Stop::TimeLimit
    };
    Ok(PatternOutcome {
        assignment,
        bound,
        objective,
        stop,
        columns: pool.len(),
        rows: comp.patients.len() + lists.len(),
        iterations,
    })
}

struct Master {
    problem: good_lp::solvers::highs::HighsProblem,
}

fn build_master(
    comp: &Component,
    lists: &[ListData],
    pool: &[Pattern],
    pinned: &HashSet<PatientIx>,
    integer: bool,
) -> Master {
    let mut vars = ProblemVariables::new();
    let lambda: Vec<Variable> = pool
        .iter()
        .map(|_| {
            vars.add(if integer {
                variable().binary()
            } else {
                variable().min(0.0)
            })
        })
        .collect();
    let objective: Expression = pool.iter().zip(&lambda).map(|(k, &v)| k.value * v).sum();
    let mut problem = vars.maximise(objective).using(good_lp::solvers::highs::highs);
    let mut by_patient: HashMap<PatientIx, Vec<Variable>> = HashMap::new();
    let mut by_list: HashMap<SessionIx, Vec<Variable>> = HashMap::new();
    for (k, &v) in pool.iter().zip(&lambda) {
        by_list.entry(k.session).or_default().push(v);
        for &p in &k.patients {
            by_patient.entry(p).or_default().push(v);
        }
    }
    for &p in &comp.patients {
        let row: Expression = by_patient.get(&p).map_or_else(Expression::default, |vs| {
            vs.iter().copied().map(Expression::from).sum()
        });
        // one_list: each patient in at most one chosen pattern (exactly one when pinned).
        let c: Constraint = if pinned.contains(&p) {
            row.eq(1.0)
        } else {
            row.leq(1.0)
        };
        problem.add_constraint(c);
    }
    for l in lists {
        // one_pattern: at most one pattern per list (a row for every list, so that columns
        // priced later can join it).
        let row: Expression = by_list.get(&l.session).map_or_else(Expression::default, |vs| {
            vs.iter().copied().map(Expression::from).sum()
        });
        problem.add_constraint(row.leq(1.0));
    }
    Master { problem }
}

/// The restricted master LP, kept in HiGHS between pricing rounds: new columns are appended and
/// the simplex restarts from the previous basis. Columns have no upper bound (the list rows imply
/// λ ≤ 1), so the row duals alone price every column and the Lagrangian bound is valid.
struct LpMaster {
    model: Option<highs::Model>,
    patients: usize,
    patient_row: HashMap<PatientIx, i32>,
    list_row: HashMap<SessionIx, i32>,
    list_duals: Vec<f64>,
}

impl LpMaster {
    fn new(
        req: &PlanningRequest,
        comp: &Component,
        lists: &[ListData],
        pool: &[Pattern],
        pinned: &HashSet<PatientIx>,
        large: bool,
    ) -> Result<LpMaster, SolverError> {
        let master = build_master(comp, lists, pool, pinned, false);
        let mut model = master
            .problem
            .try_into_inner()
            .map_err(SolverError::MasterRejected)?;
        model.make_quiet();
        model.set_option("threads", req.policy.solver.threads as i32);
        model.set_option("random_seed", req.policy.solver.random_seed as i32);
        model.set_option("parallel", "off");
        // Keep the basis between rounds: no presolve, dual-free primal simplex restarts.
        model.set_option("presolve", "off");
        model.set_option("solver", "simplex");
        if large {
            // New columns leave the basis primal feasible: primal simplex goes on from it.
            model.set_option("simplex_strategy", 4);
        }
        // Rows were added patients first, then lists, in order.
        let patient_row = comp
            .patients
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, i as i32))
            .collect();
        let n = comp.patients.len();
        let list_row = lists
            .iter()
            .enumerate()
            .map(|(i, l)| (l.session, (n + i) as i32))
            .collect();
        Ok(LpMaster {
            model: Some(model),
            patients: n,
            patient_row,
            list_row,
            list_duals: vec![],
        })
    }

    /// Appends a pattern's column.
    fn add(&mut self, k: &Pattern) {
        let mut index: Vec<i32> = Vec::with_capacity(k.patients.len() + 1);
        index.push(self.list_row[&k.session]);
        index.extend(k.patients.iter().map(|p| self.patient_row[p]));
        let value = vec![1.0; index.len()];
        let model = self.model.as_mut().expect("master model");
        // SAFETY: the pointer is the live HiGHS instance of `model`; `index` and `value` have
        // `index.len()` entries each and outlive the call.
        let status = unsafe {
            highs_sys::Highs_addCol(
                model.as_mut_ptr(),
                k.value,
                0.0,
                f64::INFINITY,
                index.len() as i32,
                index.as_ptr(),
                value.as_ptr(),
            )
        };
        debug_assert_eq!(status, 0, "Highs_addCol");
    }

    /// Solves the LP: its value and the duals of the patient rows, in component order.
    fn solve(&mut self) -> Result<(f64, Vec<f64>, Vec<f64>), SolverError> {
        let model = self.model.take().expect("master model");
        let solved = model.try_solve().map_err(SolverError::MasterFailed)?;
        if solved.status() != highs::HighsModelStatus::Optimal {
            return Err(SolverError::MasterStopped(solved.status()));
        }
        let value = solved.objective_value();
        let solution = solved.get_solution();
        let duals = solution.dual_rows()[..self.patients].to_vec();
        self.list_duals = solution.dual_rows()[self.patients..].to_vec();
        let columns = solution.columns().to_vec();
        self.model = Some(highs::Model::from(solved));
        Ok((value, duals, columns))
    }
}

#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn solve_master_mip(
    req: &PlanningRequest,
    comp: &Component,
    lists: &[ListData],
    pool: &[Pattern],
    pinned: &HashSet<PatientIx>,
    warm: &HashSet<(SessionIx, Vec<PatientIx>)>,
    time_limit: f64,
    control: &Control<'_>,
) -> Result<(Vec<(PatientIx, SessionIx)>, f64, f64, Stop), SolverError> {
    let master = build_master(comp, lists, pool, pinned, true);
    let start: Vec<f64> = pool
        .iter()
        .map(|k| {
            if warm.contains(&(k.session, k.patients.clone())) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let run = highs_run::run(master.problem, &start, &req.policy.solver, time_limit, control)?;
    let chosen: Vec<&Pattern> = match &run.columns {
        Some(cols) => pool
            .iter()
            .zip(cols)
            .filter(|(_, v)| **v > 0.5)
            .map(|(k, _)| k)
            .collect(),
        None => pool
            .iter()
            .zip(&start)
            .filter(|(_, v)| **v > 0.5)
            .map(|(k, _)| k)
            .collect(),
    };
    let objective = chosen.iter().map(|k| k.value).sum();
    let assignment = chosen
        .iter()
        .flat_map(|k| k.patients.iter().map(move |&p| (p, k.session)))
        .collect();
    Ok((assignment, objective, run.bound, run.stop))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::*;
    use crate::synth::{generate, Scale};

    /// The warm-up's bound is a proven bound (never below the value of a plan found for the same
    /// component) and improves on zero prices where patients compete for lists.
    #[test]
    fn the_warmup_bound_is_valid_and_better_than_zero_prices() {
        let req = PlanningRequest::try_from(generate(Scale::Theatre, 1)).unwrap();
        let options = crate::rules::eligible_sessions(&req);
        let warm = crate::planning::baseline::first_fit(&req, &options);
        let cancel = AtomicBool::new(false);
        let progress = |_: highs_run::Incumbent| {};
        let control = Control {
            cancel: &cancel,
            deadline: Instant::now() + Duration::from_secs(300),
            on_progress: &progress,
        };
        let mut improved = 0;
        let comps = super::super::components(&req, &options);
        assert!(comps.len() > 1);
        for comp in &comps {
            let pinned = pinned_patients(&req, comp);
            let planned = solve(&req, comp, &options, &warm, 30.0, &control).unwrap();
            let lists = list_data(&req, comp, &options, &pinned);
            let zero: HashMap<PatientIx, f64> = comp.patients.iter().map(|&p| (p, 0.0)).collect();
            let (at_zero, _) = price_all(&req, &lists, &zero);
            let until = Instant::now() + Duration::from_secs(30);
            let warmup = lagrangian_warmup(
                &req,
                &lists,
                &comp.patients,
                &pinned,
                planned.objective,
                until,
                &control,
            );
            assert!(warmup.iterations > 0);
            assert!(
                warmup.bound >= planned.objective - 1e-6,
                "bound {} below a plan worth {}",
                warmup.bound,
                planned.objective
            );
            assert!(warmup.bound <= at_zero + 1e-9);
            // The bound is UB at the prices it reports.
            let (again, _) = price_all(&req, &lists, &warmup.price);
            assert!((again - warmup.bound).abs() <= 1e-6 * again.abs().max(1.0));
            if warmup.bound < at_zero - 1e-6 {
                improved += 1;
            }
        }
        assert!(improved > 0, "no component's bound improved on zero prices");
    }
}
