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

mod master;
mod pricing;
mod rounding;
mod warmup;

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use super::highs_run::{self, Control, SolverError, Stop};
use super::Component;
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use master::{solve_master_mip, LpMaster};
use pricing::{
    list_data, pattern_value, pinned_patients, price_all, price_list, reduced_at, ListData, Pattern,
};
use rounding::round_lp;
use warmup::lagrangian_warmup;

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
pub(super) const COLUMNS_PER_LIST: usize = 3;

/// Wentges smoothing: weight of the best-bound prices in the prices used for pricing.
pub(super) const SMOOTHING: f64 = 0.6;

/// Share of a component's time for column generation; the rest is for the MIP.
pub(super) const PRICING_SHARE: f64 = 0.7;

/// Components with at least this many eligible pairs are *large*: their master LP rounds are slow,
/// so the prices are warmed up by subgradient steps first and the master LP is re-solved by primal
/// simplex. Smaller ones go straight to column generation, which converges there in a few cheap
/// rounds (measured: both changes cost plan value on the 275-pair theatre request).
pub(super) const LARGE_COMPONENT_PAIRS: usize = 2_000;

/// Share of the column-generation time for the subgradient warm-up of the prices.
pub(super) const WARMUP_SHARE: f64 = 0.4;

/// Subgradient iterations of the warm-up, at most.
pub(super) const WARMUP_ITERATIONS: usize = 500;

/// The warm-up's first Polyak step factor, halved after `WARMUP_PATIENCE` steps without a better
/// bound (measured on generated trust-scale requests: 0.5 and 5 gave the lowest bounds in 4 s).
pub(super) const WARMUP_FIRST_STEP: f64 = 0.5;

pub(super) const WARMUP_PATIENCE: i32 = 5;
/// The warm-up stops when its step factor falls below this: the prices no longer move.
pub(super) const WARMUP_MIN_STEP: f64 = 1e-3;
/// Seconds the restricted master MIP always gets, even when pricing used up the component's time:
/// it turns the pool into a plan (from the warm start at worst).
const MIN_MIP_SECONDS: f64 = 0.05;

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
        let lp = master.solve()?;
        let value = lp.value;
        last_lambda = lp.lambda;
        let duals: HashMap<PatientIx, f64> = patient_order.iter().copied().zip(lp.patient_duals).collect();
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
    let remaining = (time_limit - started.elapsed().as_secs_f64()).max(MIN_MIP_SECONDS);
    let mip = solve_master_mip(
        req,
        comp,
        &lists,
        &pool,
        &pinned,
        &start_patterns,
        remaining,
        control,
    )?;
    // The restricted MIP's own bound is not used: the pool is not every pattern.
    let (assignment, objective, stop) = (mip.assignment, mip.objective, mip.stop);
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
