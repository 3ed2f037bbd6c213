//! Planning a request end to end: eligibility, the baseline, decomposition into independent
//! components, the Lagrangian planner over all of them (or, with `solver.pair_model`, one HiGHS
//! pair model per component), and assembly into a [`Plan`] with an honest bound: a bound below
//! its plan is reported as an error, never raised.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::plan::{Plan, PlanStatus, SolverStats, StopReason};
use crate::domain::{PatientIx, PlannerKind, PlanningRequest, SessionIx};
use crate::planning::baseline;
use crate::planning::model::dense::Dense;
use crate::planning::model::highs_run::{self, Control, Incumbent, SolverError, Stop};
use crate::planning::model::scheduler::{self, ComponentState, Ending, Schedule};
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

    let empty = objective::empty_plan_value(req);
    let mut stats = SolverStats {
        objective: baseline_objective,
        best_bound: trivial,
        relative_gap: SolverStats::gap(baseline_objective, trivial),
        absolute_gap: (trivial - baseline_objective).max(0.0),
        decision_gap: SolverStats::decision_gap(baseline_objective, trivial, empty),
        solve_seconds: started.elapsed().as_secs_f64(),
        work_units: 0.0,
        bound_errors: 0,
        baseline_objective,
        components: 0,
        eligible_pairs: pairs,
        variables: 0,
        constraints: 0,
        stop_reason: StopReason::Baseline,
    };
    if req.planner == PlannerKind::Baseline {
        return Ok(Plan::build(
            req,
            &options,
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
    let report = |objective, bound| emit("solve", objective, bound);
    let solve_span = tracing::debug_span!("solve", components = comps.len(), pairs).entered();
    let outcome = if req.policy.solver.pair_model {
        solve_pair_models(req, &options, &comps, &first_fit, deadline, opts, &report)?
    } else {
        schedule_components(req, &options, &comps, &first_fit, deadline, opts, &report)
    };
    drop(solve_span);

    let mut assignment = first_fit.clone();
    for (comp, result) in comps.iter().zip(&outcome.components) {
        for &p in &comp.patients {
            assignment[p] = None;
        }
        for &(p, s) in &result.assignment {
            assignment[p] = Some(s);
        }
    }
    let constant = model::objective_constant(req);
    let value = objective::evaluate(req, &assignment);
    let mut bound = constant;
    for (i, (comp, result)) in comps.iter().zip(&outcome.components).enumerate() {
        let comp_value = assignment_value(req, comp, &options, &result.assignment);
        if result.bound < comp_value - BOUND_TOLERANCE * result.bound.abs().max(1.0) {
            stats.bound_errors += 1;
            tracing::error!(
                component = i,
                lists = comp.sessions.len(),
                patients = comp.patients.len(),
                bound = result.bound,
                plan = comp_value,
                "a component's proven bound is below its own plan's value: solver bug"
            );
        }
        bound += result.bound;
    }
    stats.variables = outcome.components.iter().map(|r| r.variables).sum();
    stats.constraints = outcome.components.iter().map(|r| r.constraints).sum();
    stats.objective = value;
    stats.best_bound = bound;
    stats.relative_gap = SolverStats::gap(value, bound);
    stats.absolute_gap = (bound - value).max(0.0);
    stats.decision_gap = SolverStats::decision_gap(value, bound, empty);
    stats.work_units = outcome.work as f64 / 1e6;
    stats.solve_seconds = started.elapsed().as_secs_f64();
    let proven = stats.decision_gap <= req.policy.solver.relative_gap + 1e-9 && stats.bound_errors == 0;
    stats.stop_reason = match outcome.stop {
        _ if proven => StopReason::Optimal,
        // Every model stopped on its own tolerance, yet the whole plan is outside the policy gap.
        StopReason::Optimal => StopReason::NoProgress,
        other => other,
    };
    let status = if proven {
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
        decision_gap = stats.decision_gap,
        relative_gap = stats.relative_gap,
        work_units = stats.work_units,
        stop = stats.stop_reason.as_str(),
        "optimiser finished"
    );
    Ok(Plan::build(
        req,
        &options,
        assignment,
        status,
        PlannerKind::Optimiser,
        stats,
    ))
}

/// A bound may sit this far (relative, at least absolute on values under 1) below its plan's value
/// before it counts as a bound error: floating-point sums in a different order.
const BOUND_TOLERANCE: f64 = 1e-7;

/// The result of one component, in plan terms.
struct ComponentResult {
    assignment: Vec<(PatientIx, SessionIx)>,
    /// Upper bound on the component's model objective.
    bound: f64,
    variables: usize,
    constraints: usize,
}

/// Every component's result, why the solve stopped, and the work it spent.
struct Outcome {
    components: Vec<ComponentResult>,
    stop: StopReason,
    work: u64,
}

/// Work units per second that `solver.work_budget = 0` assumes: a 2-core machine prices about
/// 500 million knapsack cells a second per core (docs/model.md, "Work budget").
const WORK_UNITS_PER_SECOND: f64 = 1e9;
/// The work of one scheduler slice at most, in seconds of that machine: short enough that the
/// work moves between components often, long enough that the threads' start-up is noise.
const SLICE_SECONDS: f64 = 0.02;

/// Every component solved by the Lagrangian planner: the bound by subgradient over exact list
/// knapsacks, plans by ruin-and-recreate, proofs of small components by pattern search; the
/// scheduler gives the work to the components with the most gap per unit of work.
fn schedule_components(
    req: &PlanningRequest,
    options: &[Vec<SessionIx>],
    comps: &[Component],
    warm: &[Option<SessionIx>],
    deadline: Instant,
    opts: &SolveOptions,
    report: &(dyn Fn(f64, f64) + Sync),
) -> Outcome {
    let workers = opts
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let nights = crate::planning::beds::BedNights::of(req);
    let mut states: Vec<ComponentState> = comps
        .iter()
        .enumerate()
        .map(|(i, comp)| {
            let dense = Dense::build(req, comp, options, &nights);
            let start: Vec<Option<(u32, u32)>> = dense
                .patients
                .iter()
                .enumerate()
                .map(|(local, &p)| {
                    let s = warm[p]?;
                    dense.options[local]
                        .iter()
                        .copied()
                        .find(|&(l, _)| dense.lists[l as usize].session == s)
                })
                .collect();
            let trivial = component_trivial_bound(req, comp, options);
            let seed =
                u64::from(req.policy.solver.random_seed) ^ (i as u64).wrapping_mul(0x2545_F491_4F6C_DD1D);
            ComponentState::new(dense, &start, trivial, seed)
        })
        .collect();
    let solver = &req.policy.solver;
    let budget = if solver.work_budget > 0.0 {
        solver.work_budget * 1e6
    } else {
        solver.time_limit_seconds * WORK_UNITS_PER_SECOND
    };
    let schedule = Schedule {
        gap: solver.relative_gap,
        budget: budget as u64,
        slice: (SLICE_SECONDS * WORK_UNITS_PER_SECOND / 2.0) as u64,
        workers,
        deadline,
        cancel: &opts.cancel,
    };
    let constant = model::objective_constant(req);
    let ending = scheduler::run(&mut states, &schedule, &|states| {
        let value: f64 = states.iter().map(|s| s.value()).sum();
        let bound: f64 = states.iter().map(|s| s.bound()).sum();
        report(constant + value, constant + bound);
    });
    for (i, s) in states.iter().enumerate() {
        tracing::trace!(
            component = i,
            pairs = s.dense.pairs(),
            lists = s.dense.lists.len(),
            value = s.value(),
            bound = s.bound(),
            steps = s.sub.steps,
            iterations = s.search.iterations,
            improvements = s.search.improvements,
            "component"
        );
    }
    let stop = match ending {
        Ending::Proven => StopReason::Optimal,
        Ending::WorkLimit => StopReason::WorkLimit,
        Ending::NoProgress => StopReason::NoProgress,
        Ending::TimeLimit => StopReason::TimeLimit,
        Ending::Cancelled => StopReason::Cancelled,
    };
    let components = states
        .iter()
        .map(|s| {
            let free = s.search.plan().iter().enumerate().filter_map(|(local, at)| {
                at.map(|(l, _)| (s.dense.patients[local], s.dense.lists[l as usize].session))
            });
            let pinned = s.dense.lists.iter().flat_map(|l| {
                l.pinned
                    .iter()
                    .map(move |&local| (s.dense.patients[local as usize], l.session))
            });
            ComponentResult {
                assignment: free.chain(pinned).collect(),
                bound: s.bound(),
                variables: s.dense.pairs(),
                constraints: s.dense.patients.len() + s.dense.lists.len(),
            }
        })
        .collect();
    Outcome {
        components,
        stop,
        work: states.iter().map(|s| s.work).sum(),
    }
}

/// Every component solved by the pair model on HiGHS, warm-started from the baseline, on the
/// worker threads; each component gets a share of the time left in proportion to its pairs.
fn solve_pair_models(
    req: &PlanningRequest,
    options: &[Vec<SessionIx>],
    comps: &[Component],
    warm: &[Option<SessionIx>],
    deadline: Instant,
    opts: &SolveOptions,
    report: &(dyn Fn(f64, f64) + Sync),
) -> Result<Outcome, SolverError> {
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
                    component_value(req, c, options, warm),
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
    type Slot = Option<Result<(ComponentResult, Stop), SolverError>>;
    let results: Mutex<Vec<Slot>> = Mutex::new((0..comps.len()).map(|_| None).collect());

    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(comp) = comps.get(i) else { break };
                let left = pairs_left.load(Ordering::SeqCst).max(1);
                let remaining = deadline.saturating_duration_since(Instant::now()).as_secs_f64();
                let share = (comp.pairs as f64 / left as f64 * workers as f64).min(1.0);
                let on_progress = |inc: Incumbent| {
                    let mut b = board.lock().expect("progress board");
                    let entry = &mut b[i];
                    entry.0 = entry.0.max(inc.objective);
                    if inc.bound.is_finite() {
                        entry.1 = entry.1.min(inc.bound);
                    }
                    publish(&b);
                };
                let control = Control {
                    cancel: &opts.cancel,
                    deadline,
                    on_progress: &on_progress,
                };
                let result = solve_pair_model(req, options, comp, warm, remaining * share, &control);
                pairs_left.fetch_sub(comp.pairs, Ordering::SeqCst);
                if let Ok((r, _)) = &result {
                    let mut b = board.lock().expect("progress board");
                    b[i].1 = b[i].1.min(r.bound);
                    publish(&b);
                }
                results.lock().expect("results")[i] = Some(result);
            });
        }
    });
    let mut components = Vec::with_capacity(comps.len());
    let mut stops = Vec::with_capacity(comps.len());
    for slot in results.into_inner().expect("results") {
        let (result, stop) = slot.expect("every component is solved")?;
        components.push(result);
        stops.push(stop);
    }
    let stop = if stops.contains(&Stop::Cancelled) {
        StopReason::Cancelled
    } else if stops.iter().all(|s| *s == Stop::Optimal) {
        StopReason::Optimal
    } else {
        StopReason::TimeLimit
    };
    Ok(Outcome {
        components,
        stop,
        work: 0,
    })
}

/// One component on the pair model; the baseline's allocation is kept when HiGHS finds nothing
/// better.
fn solve_pair_model(
    req: &PlanningRequest,
    options: &[Vec<SessionIx>],
    comp: &Component,
    warm: &[Option<SessionIx>],
    time_limit: f64,
    control: &Control<'_>,
) -> Result<(ComponentResult, Stop), SolverError> {
    let warm_assignment: Vec<(PatientIx, SessionIx)> = comp
        .patients
        .iter()
        .filter_map(|&p| warm[p].map(|s| (p, s)))
        .collect();
    let warm_obj = component_value(req, comp, options, warm);
    let trivial = component_trivial_bound(req, comp, options);
    let run = run_pairs(req, comp, options, warm, time_limit, control)?;
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
    let result = ComponentResult {
        assignment,
        bound: run.bound.min(trivial),
        variables: run.variables,
        constraints: run.constraints,
    };
    Ok((result, run.stop))
}

/// One model's answer for a component, in model terms.
struct ModelRun {
    /// The allocation HiGHS found (rounded), if any.
    chosen: Option<Vec<(PatientIx, SessionIx)>>,
    /// Proven upper bound.
    bound: f64,
    stop: Stop,
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

/// One list per patient, capacity and beds respected (rounded values re-checked).
fn valid_allocation(req: &PlanningRequest, comp: &Component, chosen: &[(usize, SessionIx)]) -> bool {
    let mut seen = std::collections::HashSet::new();
    if !chosen.iter().all(|(p, _)| seen.insert(*p)) {
        return false;
    }
    let nights = crate::planning::beds::BedNights::of(req);
    let mut stays = vec![0u32; nights.beds.len()];
    for &(p, s) in chosen {
        let pinned = req.booking_of(p).is_some_and(|b| req.is_pinned(b));
        if let (Some(g), false) = (nights.night(req, p, s), pinned) {
            stays[g as usize] += 1;
        }
    }
    let beds_ok = (0..stays.len()).all(|g| stays[g] <= nights.free(g as u32));
    beds_ok
        && comp.sessions.iter().all(|&s| {
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
