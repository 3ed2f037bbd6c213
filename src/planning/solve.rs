//! Planning a request end to end: eligibility, the baseline, decomposition into independent
//! components, one HiGHS model per component (warm-started from the baseline, solved in parallel
//! within the time limit), and assembly into a [`Plan`] with an honest global bound and gap.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::plan::{Plan, PlanStatus, SolverStats, StopReason};
use crate::domain::{PlannerKind, PlanningRequest, SessionIx};
use crate::planning::baseline;
use crate::planning::model::highs_run::{self, Control, Incumbent, SolverError, Stop};
use crate::planning::model::{self, Component, ListModel};
use crate::planning::objective;
use crate::rules;

/// A progress event of a running solve, in plan terms (objective and bound of the whole plan).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub phase: &'static str,
    pub best_objective: f64,
    pub best_bound: f64,
    pub relative_gap: f64,
    pub elapsed_seconds: f64,
}

/// Callback for progress events.
pub type ProgressSink = Arc<dyn Fn(Progress) + Send + Sync>;

/// How the caller steers a solve.
#[derive(Clone, Default)]
pub struct SolveOptions {
    /// Set to stop the solve; the best plan found so far is returned.
    pub cancel: Arc<AtomicBool>,
    /// Wall-clock limit tighter than the policy's (e.g. from a gRPC deadline).
    pub time_limit: Option<Duration>,
    pub progress: Option<ProgressSink>,
    /// Worker threads for independent components (default: available cores).
    pub workers: Option<usize>,
}

/// Plans the request with the planner it names.
pub fn plan(req: &PlanningRequest, opts: &SolveOptions) -> Result<Plan, SolverError> {
    let started = Instant::now();
    let emit = |phase: &'static str, objective: f64, bound: f64| {
        if let Some(sink) = &opts.progress {
            sink(Progress {
                phase,
                best_objective: objective,
                best_bound: bound,
                relative_gap: SolverStats::gap(objective, bound),
                elapsed_seconds: started.elapsed().as_secs_f64(),
            });
        }
    };
    let options = {
        let _span = tracing::debug_span!("eligibility").entered();
        rules::eligible_sessions(req)
    };
    let pairs: usize = options.iter().map(Vec::len).sum();
    let (first_fit, baseline_objective, trivial) = {
        let _span = tracing::debug_span!("baseline").entered();
        let first_fit = baseline::first_fit(req, &options);
        let baseline_objective = objective::evaluate(req, &first_fit);
        (
            first_fit,
            baseline_objective,
            baseline::trivial_bound(req, &options),
        )
    };
    emit("baseline", baseline_objective, trivial);

    let mut stats = SolverStats {
        objective: baseline_objective,
        best_bound: trivial,
        relative_gap: SolverStats::gap(baseline_objective, trivial),
        solve_seconds: started.elapsed().as_secs_f64(),
        baseline_objective,
        components: 0,
        eligible_pairs: pairs,
        variables: 0,
        constraints: 0,
        stop_reason: StopReason::Baseline,
        bound_errors: 0,
    };
    if req.planner == PlannerKind::Baseline {
        return Ok(Plan::build(
            req,
            first_fit,
            PlanStatus::Feasible,
            PlannerKind::Baseline,
            stats,
        ));
    }

    let comps = model::components(req, &options);
    stats.components = comps.len();
    let policy_limit = Duration::from_secs_f64(req.policy.solver.time_limit_seconds);
    let limit = opts.time_limit.map_or(policy_limit, |t| t.min(policy_limit));
    let deadline = started + limit;
    let solve_span = tracing::debug_span!("solve").entered();
    let outcome = solve_components(
        req,
        &options,
        &comps,
        &first_fit,
        deadline,
        opts,
        &|objective, bound| emit("solve", objective, bound),
    )?;
    drop(solve_span);

    let mut assignment = first_fit.clone();
    for (comp, result) in comps.iter().zip(&outcome) {
        for &p in &comp.patients {
            assignment[p] = result.assignment.iter().find(|(q, _)| *q == p).map(|(_, s)| *s);
        }
    }
    let constant = model::objective_constant(req);
    let bound = constant + outcome.iter().map(|r| r.bound).sum::<f64>();
    let value = objective::evaluate(req, &assignment);
    stats.variables = outcome.iter().map(|r| r.variables).sum();
    stats.constraints = outcome.iter().map(|r| r.constraints).sum();
    if bound < value - 1e-6 * value.abs().max(1.0) {
        stats.bound_errors += 1;
        tracing::error!(
            bound,
            value,
            "the proven bound is below the plan's own value: a solver bug"
        );
    }
    stats.best_bound = bound.max(value);
    stats.relative_gap = SolverStats::gap(value, stats.best_bound);
    stats.solve_seconds = started.elapsed().as_secs_f64();
    let cancelled = outcome.iter().any(|r| r.stop == Stop::Cancelled);
    let all_optimal = outcome.iter().all(|r| r.stop == Stop::Optimal);
    stats.stop_reason = if cancelled {
        StopReason::Cancelled
    } else if all_optimal {
        StopReason::Optimal
    } else {
        StopReason::TimeLimit
    };
    let status = if all_optimal && stats.relative_gap <= req.policy.solver.relative_gap + 1e-9 {
        PlanStatus::Optimal
    } else {
        PlanStatus::Feasible
    };
    emit("done", value, stats.best_bound);
    tracing::debug!(
        components = comps.len(),
        pairs,
        objective = value,
        bound = stats.best_bound,
        gap = stats.relative_gap,
        "optimiser finished"
    );
    Ok(Plan::build(
        req,
        assignment,
        status,
        PlannerKind::Optimiser,
        stats,
    ))
}

/// The result of one component, in plan terms.
struct ComponentResult {
    assignment: Vec<(usize, SessionIx)>,
    /// Upper bound on the component's model objective.
    bound: f64,
    stop: Stop,
    variables: usize,
    constraints: usize,
}

fn solve_components(
    req: &PlanningRequest,
    options: &[Vec<SessionIx>],
    comps: &[Component],
    warm: &[Option<SessionIx>],
    deadline: Instant,
    opts: &SolveOptions,
    report: &(dyn Fn(f64, f64) + Sync),
) -> Result<Vec<ComponentResult>, SolverError> {
    let workers = opts
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .clamp(1, comps.len().max(1));
    let next = AtomicUsize::new(0);
    let pairs_left = AtomicUsize::new(comps.iter().map(|c| c.pairs).sum());
    // Per component: (objective, bound) known so far, in model terms, for progress reports.
    let board: Mutex<Vec<(f64, f64)>> = Mutex::new(
        comps
            .iter()
            .map(|c| {
                (
                    warm_value(req, c, options, warm),
                    component_trivial_bound(req, c, options),
                )
            })
            .collect(),
    );
    let constant = model::objective_constant(req);
    let publish = |board: &Vec<(f64, f64)>| {
        let (o, b) = board.iter().fold((0.0, 0.0), |(o, b), (co, cb)| (o + co, b + cb));
        report(constant + o, constant + b);
    };
    let results: Mutex<Vec<Option<Result<ComponentResult, SolverError>>>> =
        Mutex::new((0..comps.len()).map(|_| None).collect());

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(comp) = comps.get(i) else { break };
                let left = pairs_left.load(Ordering::SeqCst).max(1);
                let now = Instant::now();
                let remaining = deadline.saturating_duration_since(now).as_secs_f64();
                let share = (comp.pairs as f64 / left as f64 * workers as f64).min(1.0);
                let limit = (remaining * share).max(0.0);
                let on_progress = |inc: Incumbent| {
                    let mut b = board.lock().expect("progress board");
                    let entry = &mut b[i];
                    entry.0 = entry.0.max(inc.objective);
                    if inc.bound.is_finite() {
                        entry.1 = entry.1.min(inc.bound);
                    }
                    publish(&b);
                };
                let result = solve_one(req, options, comp, warm, limit, deadline, opts, &on_progress);
                pairs_left.fetch_sub(comp.pairs, Ordering::SeqCst);
                if let Ok(r) = &result {
                    let mut b = board.lock().expect("progress board");
                    b[i].1 = b[i].1.min(r.bound);
                    publish(&b);
                }
                results.lock().expect("results")[i] = Some(result);
            });
        }
    });
    results
        .into_inner()
        .expect("results")
        .into_iter()
        .map(|r| r.expect("every component is solved"))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn solve_one(
    req: &PlanningRequest,
    options: &[Vec<SessionIx>],
    comp: &Component,
    warm: &[Option<SessionIx>],
    time_limit: f64,
    deadline: Instant,
    opts: &SolveOptions,
    on_progress: &(dyn Fn(Incumbent) + Sync),
) -> Result<ComponentResult, SolverError> {
    let warm_assignment: Vec<(usize, SessionIx)> = comp
        .patients
        .iter()
        .filter_map(|&p| warm[p].map(|s| (p, s)))
        .collect();
    let warm_obj = warm_value(req, comp, options, warm);
    let trivial = component_trivial_bound(req, comp, options);
    let control = Control {
        cancel: &opts.cancel,
        deadline,
        on_progress,
    };
    let run = if req.policy.solver.pattern_generation {
        let started = Instant::now();
        let out = {
            let _span = tracing::trace_span!("patterns", pairs = comp.pairs).entered();
            let share = if comp.pairs <= PAIR_PROOF_MAX_PAIRS {
                PATTERN_SHARE
            } else {
                1.0
            };
            crate::planning::model::patterns::solve(req, comp, options, warm, time_limit * share, &control)?
        };
        tracing::debug!(
            pairs = comp.pairs,
            patients = comp.patients.len(),
            lists = comp.sessions.len(),
            time_limit,
            stop = ?out.stop,
            objective = out.objective,
            bound = out.bound,
            warm = warm_obj,
            iterations = out.iterations,
            columns = out.columns,
            "component solved by patterns"
        );
        let remaining = time_limit - started.elapsed().as_secs_f64();
        if out.stop != Stop::Optimal
            && out.stop != Stop::Cancelled
            && comp.pairs <= PAIR_PROOF_MAX_PAIRS
            && remaining > MIN_PAIR_PROOF_SECONDS
        {
            // Not proven: the exact pair model finishes the proof (or improves the plan) from the
            // pattern plan, in the remaining time. Both bounds are valid; the smaller is kept.
            let mut start: Vec<Option<SessionIx>> = warm.to_vec();
            for &p in &comp.patients {
                start[p] = None;
            }
            for &(p, s) in &out.assignment {
                start[p] = Some(s);
            }
            let pairs = run_pairs(req, comp, options, &start, remaining, &control)?;
            let (pairs_chosen, pairs_bound, pairs_stop) = (pairs.chosen, pairs.bound, pairs.stop);
            let pattern_value = assignment_value(req, comp, options, &out.assignment);
            let better = pairs_chosen.filter(|c| {
                valid_allocation(req, comp, c)
                    && assignment_value(req, comp, options, c) > pattern_value + 1e-9
            });
            let chosen = better.unwrap_or(out.assignment);
            let value = assignment_value(req, comp, options, &chosen);
            let bound = out.bound.min(pairs_bound);
            let closed = bound - value <= req.policy.solver.relative_gap * bound.abs().max(1.0) + 1e-6;
            let stop = if closed || pairs_stop == Stop::Optimal {
                Stop::Optimal
            } else {
                pairs_stop
            };
            ModelRun {
                chosen: Some(chosen),
                bound,
                stop,
                variables: out.columns,
                constraints: out.rows,
            }
        } else {
            ModelRun {
                chosen: Some(out.assignment),
                bound: out.bound,
                stop: out.stop,
                variables: out.columns,
                constraints: out.rows,
            }
        }
    } else {
        run_pairs(req, comp, options, warm, time_limit, &control)?
    };
    let bound = run.bound.min(trivial).max(warm_obj);
    // Keep the solver's plan only if it is a valid allocation at least as good as the warm start.
    let assignment = match run.chosen {
        Some(c)
            if valid_allocation(req, comp, &c)
                && assignment_value(req, comp, options, &c) >= warm_obj - 1e-7 =>
        {
            c
        }
        _ => warm_assignment,
    };
    Ok(ComponentResult {
        assignment,
        bound,
        stop: run.stop,
        variables: run.variables,
        constraints: run.constraints,
    })
}

/// Share of a component's time for price-and-branch; the pair model gets what is left if the
/// patterns did not prove optimality.
const PATTERN_SHARE: f64 = 0.8;
/// Components larger than this keep all their time for price-and-branch: the pair model cannot
/// improve their bound in the time left (measured on the trust instance).
const PAIR_PROOF_MAX_PAIRS: usize = 5_000;
/// The pair model is not started with less time left than this, seconds: HiGHS would only spend
/// it in presolve.
const MIN_PAIR_PROOF_SECONDS: f64 = 0.05;

/// One model's answer for a component, in model terms.
struct ModelRun {
    /// The allocation HiGHS found (rounded), if any.
    chosen: Option<Vec<(usize, SessionIx)>>,
    /// Proven upper bound.
    bound: f64,
    stop: Stop,
    /// Size of the model (for price-and-branch: columns and rows of its master).
    variables: usize,
    constraints: usize,
}

/// Solves a component with the pair model, from `start`.
fn run_pairs(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    start: &[Option<SessionIx>],
    time_limit: f64,
    control: &Control<'_>,
) -> Result<ModelRun, SolverError> {
    let model = {
        let _span = tracing::trace_span!("build_model", pairs = comp.pairs).entered();
        ListModel::build(req, comp, options)
    };
    let values = model.values_for(req, start);
    let (variables, constraints) = (model.variables, model.constraints);
    let run = {
        let _span = tracing::trace_span!("highs", pairs = comp.pairs).entered();
        highs_run::run(model.problem, &values, &req.policy.solver, time_limit, control)
    }?;
    tracing::debug!(pairs = comp.pairs, time_limit, stop = ?run.stop, objective = run.objective, bound = run.bound, "component solved by pairs");
    let chosen: Option<Vec<(usize, SessionIx)>> = run.columns.as_ref().map(|cols| {
        model
            .x
            .iter()
            .zip(cols)
            .filter(|(_, v)| **v > 0.5)
            .map(|(&(p, s, _), _)| (p, s))
            .collect()
    });
    Ok(ModelRun {
        chosen,
        bound: run.bound,
        stop: run.stop,
        variables,
        constraints,
    })
}

/// One list per patient, capacity respected (rounded values re-checked).
fn valid_allocation(req: &PlanningRequest, comp: &Component, chosen: &[(usize, SessionIx)]) -> bool {
    let mut seen = std::collections::HashSet::new();
    if !chosen.iter().all(|(p, _)| seen.insert(*p)) {
        return false;
    }
    comp.sessions.iter().all(|&s| {
        let load: i64 = chosen
            .iter()
            .filter(|(_, t)| *t == s)
            .map(|(p, _)| req.case_load(*p))
            .sum();
        load <= req.effective_capacity(s)
    })
}

/// The model objective of a component under a given allocation of its patients.
fn assignment_value(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    chosen: &[(usize, SessionIx)],
) -> f64 {
    let mut a: Vec<Option<SessionIx>> = vec![None; req.patients.len()];
    for &(p, s) in chosen {
        a[p] = Some(s);
    }
    component_value(req, comp, options, &a)
}

fn warm_value(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    warm: &[Option<SessionIx>],
) -> f64 {
    component_value(req, comp, options, warm)
}

/// Σ c[p,s] over the component's booked pairs, less its list-level costs.
fn component_value(
    req: &PlanningRequest,
    comp: &Component,
    options: &[Vec<SessionIx>],
    a: &[Option<SessionIx>],
) -> f64 {
    let mut value = 0.0;
    let mut cases = std::collections::HashMap::<SessionIx, (u32, u32)>::new();
    for &p in &comp.patients {
        if let Some(s) = a[p].filter(|s| options[p].contains(s)) {
            value += model::pair_coefficient(req, p, s);
            let e = cases.entry(s).or_default();
            e.0 += 1;
            e.1 += req.patients[p].minutes;
        }
    }
    for (&s, &(n, minutes)) in &cases {
        value -= objective::list_penalty(req, s, n, f64::from(minutes));
    }
    value
}

/// Every patient at its best list, ignoring capacity and list costs: an upper bound.
fn component_trivial_bound(req: &PlanningRequest, comp: &Component, options: &[Vec<SessionIx>]) -> f64 {
    comp.patients
        .iter()
        .map(|&p| {
            let best = options[p]
                .iter()
                .map(|&s| model::pair_coefficient(req, p, s))
                .fold(f64::NEG_INFINITY, f64::max);
            let pinned = req.booking_of(p).is_some_and(|b| req.is_pinned(b));
            if pinned {
                best
            } else {
                best.max(0.0)
            }
        })
        .sum()
}
