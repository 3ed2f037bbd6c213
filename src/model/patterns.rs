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

use good_lp::{variable, Constraint, Expression, ProblemVariables, Solution, SolverModel, Variable};
use good_lp::solvers::DualValues;

use super::highs_run::{self, Control, Stop};
use super::{pair_coefficient, Component};
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::objective::utilisation_floor;

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
const PRICING_SHARE: f64 = 0.5;

/// The per-list data pricing needs.
struct ListData {
    session: SessionIx,
    /// Pinned patients: in every pattern of this list.
    pinned: Vec<PatientIx>,
    /// Other eligible patients.
    candidates: Vec<PatientIx>,
    capacity: i64,
    target: u32,
    floor: f64,
}

fn list_penalty(req: &PlanningRequest, l: &ListData, count: u32, touch: f64) -> f64 {
    if count == 0 {
        return 0.0;
    }
    let o = &req.policy.objective;
    let reserved = f64::from(req.sessions[l.session].reserved_minutes);
    o.cases_per_list_shortfall * f64::from(l.target.saturating_sub(count))
        + o.under_utilisation * (l.floor - reserved - touch).max(0.0)
}

fn pattern_value(req: &PlanningRequest, l: &ListData, patients: &[PatientIx]) -> f64 {
    let gain: f64 = patients.iter().map(|&p| pair_coefficient(req, p, l.session)).sum();
    let touch: f64 = patients.iter().map(|&p| f64::from(req.patients[p].minutes)).sum();
    gain - list_penalty(req, l, patients.len() as u32, touch)
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
    let forced_profit: f64 = l.pinned.iter().map(|&p| pair_coefficient(req, p, l.session) - price[&p]).sum();
    let capacity = l.capacity.max(forced_load);
    // Items that could ever help: a case can at best save one shortfall case and its minutes of
    // under-utilisation, so lower profits never enter an optimal pattern.
    let items: Vec<(PatientIx, i64, f64)> = l
        .candidates
        .iter()
        .map(|&p| (p, req.case_load(p), pair_coefficient(req, p, l.session) - price[&p]))
        .filter(|&(p, load, r)| {
            load <= capacity - forced_load
                && r + o.cases_per_list_shortfall + o.under_utilisation * f64::from(req.patients[p].minutes) > 1e-9
        })
        .collect();
    let free = capacity - forced_load;
    let g = items.iter().fold(free.max(1), |g, &(_, load, _)| gcd(g, load)).max(1);
    let units = (free / g) as usize;
    let min_u = items.iter().map(|&(_, load, _)| (load / g) as usize).min().unwrap_or(1).max(1);
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
            let total = forced_profit + v - list_penalty(req, l, count, touch);
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
        ub += if l.pinned.is_empty() { reduced.max(0.0) } else { reduced };
        columns.extend(priced.into_iter().filter(|(_, r)| *r > 1e-7).map(|(patients, _)| (l, patients)));
    }
    (ub, columns)
}

/// The reduced value of a pattern at `price`.
fn reduced_at(req: &PlanningRequest, l: &ListData, patients: &[PatientIx], price: &HashMap<PatientIx, f64>) -> f64 {
    pattern_value(req, l, patients) - patients.iter().map(|p| price[p]).sum::<f64>()
}

/// Solves one component by price-and-branch within `time_limit` seconds.
pub fn solve(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    warm: &[Option<SessionIx>],
    time_limit: f64,
    control: &Control<'_>,
) -> Result<PatternOutcome, String> {
    let started = Instant::now();
    let in_comp: HashSet<PatientIx> = comp.patients.iter().copied().collect();
    let pinned: HashSet<PatientIx> =
        comp.patients.iter().copied().filter(|&p| req.booking_of(p).is_some_and(|b| req.is_pinned(b))).collect();
    let mut lists: Vec<ListData> = comp
        .sessions
        .iter()
        .map(|&s| ListData {
            session: s,
            pinned: vec![],
            candidates: vec![],
            capacity: req.case_capacity(s),
            target: req.cases_target(s),
            floor: utilisation_floor(req, s),
        })
        .collect();
    let list_ix: HashMap<SessionIx, usize> = comp.sessions.iter().enumerate().map(|(i, &s)| (s, i)).collect();
    for &p in &comp.patients {
        for &s in &options[p] {
            let l = &mut lists[list_ix[&s]];
            if pinned.contains(&p) {
                l.pinned.push(p);
            } else {
                l.candidates.push(p);
            }
        }
    }

    // Column pool, seeded with the warm start's patterns (so the MIP can start from it).
    let mut pool: Vec<Pattern> = Vec::new();
    let mut seen: HashSet<(SessionIx, Vec<PatientIx>)> = HashSet::new();
    let mut add = |pool: &mut Vec<Pattern>, l: &ListData, patients: Vec<PatientIx>| -> bool {
        if patients.is_empty() || !seen.insert((l.session, patients.clone())) {
            return false;
        }
        let value = pattern_value(req, l, &patients);
        pool.push(Pattern { session: l.session, patients, value });
        true
    };
    for l in &lists {
        let mut on: Vec<PatientIx> =
            comp.patients.iter().copied().filter(|&p| warm[p] == Some(l.session) && in_comp.contains(&p)).collect();
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

    // Column generation, with Wentges smoothing of the prices towards the best-bound prices.
    let pricing_budget = time_limit * PRICING_SHARE;
    let mut bound = f64::INFINITY;
    let mut best_price: Option<HashMap<PatientIx, f64>> = None;
    let mut sign = 0.0;
    let mut iterations = 0;
    let mut lp_value = f64::NEG_INFINITY;
    let clamp = |p: PatientIx, d: f64| if pinned.contains(&p) { d } else { d.max(0.0) };
    loop {
        if control.cancel.load(std::sync::atomic::Ordering::Relaxed) || Instant::now() >= control.deadline {
            break;
        }
        iterations += 1;
        let (value, duals) = solve_master_lp(req, comp, &lists, &pool, &pinned)?;
        lp_value = value;
        let lp_price = |sign: f64| -> HashMap<PatientIx, f64> {
            comp.patients.iter().map(|&p| (p, clamp(p, sign * duals.get(&p).copied().unwrap_or(0.0)))).collect()
        };
        // The dual sign convention is settled once: the sign whose bound is tighter.
        if sign == 0.0 {
            let (up, _) = price_all(req, &lists, &lp_price(1.0));
            let (down, _) = price_all(req, &lists, &lp_price(-1.0));
            sign = if up <= down { 1.0 } else { -1.0 };
        }
        let duals_price = lp_price(sign);
        let smoothed: HashMap<PatientIx, f64> = match &best_price {
            Some(best) => duals_price.iter().map(|(&p, &d)| (p, SMOOTHING * best[&p] + (1.0 - SMOOTHING) * d)).collect(),
            None => duals_price.clone(),
        };
        let (ub, mut columns) = price_all(req, &lists, &smoothed);
        if ub < bound {
            bound = ub;
            best_price = Some(smoothed.clone());
        }
        // Keep the columns that improve the LP at its own duals; if smoothing found none
        // (a mispricing), price at the duals themselves.
        columns.retain(|(l, patients)| reduced_at(req, l, patients, &duals_price) > 1e-7);
        if columns.is_empty() {
            let (ub, at_duals) = price_all(req, &lists, &duals_price);
            if ub < bound {
                bound = ub;
                best_price = Some(duals_price.clone());
            }
            columns = at_duals;
        }
        (control.on_progress)(highs_run::Incumbent { objective: warm_value, bound });
        let mut added = 0;
        for (l, patients) in columns {
            if add(&mut pool, l, patients) {
                added += 1;
            }
        }
        let converged = bound - lp_value <= 1e-6 * bound.abs().max(1.0);
        if added == 0 || converged || started.elapsed().as_secs_f64() > pricing_budget {
            break;
        }
    }
    tracing::trace!(iterations, columns = pool.len(), lp = lp_value, bound, "column generation done");

    // The restricted master as a MIP, from the warm start.
    let remaining = (time_limit - started.elapsed().as_secs_f64()).max(0.05);
    let (assignment, objective, mip_bound, stop) = solve_master_mip(req, comp, &lists, &pool, &pinned, &warm_patterns, remaining, control)?;
    // When the restricted MIP proved optimality over a pool that prices out, its bound is global.
    let _ = mip_bound;
    let bound = bound.max(objective);
    let stop = if stop == Stop::Optimal && bound - objective <= req.policy.solver.relative_gap * bound.abs().max(1.0) + 1e-6 {
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
    lambda: Vec<Variable>,
    patient_rows: Vec<(PatientIx, good_lp::constraint::ConstraintReference)>,
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
        .map(|_| vars.add(if integer { variable().binary() } else { variable().min(0.0).max(1.0) }))
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
    let mut patient_rows = Vec::with_capacity(comp.patients.len());
    for &p in &comp.patients {
        let row: Expression = by_patient.get(&p).map_or_else(Expression::default, |vs| vs.iter().copied().map(Expression::from).sum());
        // one_list: each patient in at most one chosen pattern (exactly one when pinned).
        let c: Constraint = if pinned.contains(&p) { row.eq(1.0) } else { row.leq(1.0) };
        patient_rows.push((p, problem.add_constraint(c)));
    }
    for l in lists {
        // one_pattern: at most one pattern per list.
        if let Some(vs) = by_list.get(&l.session) {
            let row: Expression = vs.iter().copied().map(Expression::from).sum();
            problem.add_constraint(row.leq(1.0));
        }
    }
    Master { problem, lambda, patient_rows }
}

fn solve_master_lp(
    req: &PlanningRequest,
    comp: &Component,
    lists: &[ListData],
    pool: &[Pattern],
    pinned: &HashSet<PatientIx>,
) -> Result<(f64, HashMap<PatientIx, f64>), String> {
    let master = build_master(comp, lists, pool, pinned, false);
    let problem = master
        .problem
        .set_option("threads", req.policy.solver.threads as i32)
        .set_option("random_seed", req.policy.solver.random_seed as i32)
        .set_option("output_flag", false);
    let mut solution = problem.solve().map_err(|e| format!("master LP failed: {e}"))?;
    let value: f64 = pool.iter().zip(&master.lambda).map(|(k, &v)| k.value * solution.value(v)).sum();
    let duals = good_lp::solvers::SolutionWithDual::compute_dual(&mut solution);
    let prices = master.patient_rows.iter().map(|(p, r)| (*p, duals.dual(r.clone()))).collect();
    Ok((value, prices))
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
) -> Result<(Vec<(PatientIx, SessionIx)>, f64, f64, Stop), String> {
    let master = build_master(comp, lists, pool, pinned, true);
    let start: Vec<f64> = pool
        .iter()
        .map(|k| if warm.contains(&(k.session, k.patients.clone())) { 1.0 } else { 0.0 })
        .collect();
    let run = highs_run::run(master.problem, &start, &req.policy.solver, time_limit, control)?;
    let chosen: Vec<&Pattern> = match &run.columns {
        Some(cols) => pool.iter().zip(cols).filter(|(_, v)| **v > 0.5).map(|(k, _)| k).collect(),
        None => pool.iter().zip(&start).filter(|(_, v)| **v > 0.5).map(|(k, _)| k).collect(),
    };
    let objective = chosen.iter().map(|k| k.value).sum();
    let assignment = chosen.iter().flat_map(|k| k.patients.iter().map(move |&p| (p, k.session))).collect();
    Ok((assignment, objective, run.bound, run.stop))
}
