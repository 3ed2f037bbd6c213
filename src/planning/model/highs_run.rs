//! Runs one component's model on HiGHS: solver options, warm start, and a callback that reports
//! improving plans and stops the solve when the caller cancels or the deadline passes.

use std::ffi::{c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use highs::HighsModelStatus;

use crate::domain::policy::SolverSettings;

/// What the solver reports while it works: an improving plan or a better bound, in model terms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Incumbent {
    pub objective: f64,
    pub bound: f64,
}

/// How a component solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Optimal,
    TimeLimit,
    Cancelled,
}

/// The outcome of one component solve, in model terms.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// Column values of the best solution, if HiGHS found one.
    pub columns: Option<Vec<f64>>,
    pub objective: f64,
    /// Proven upper bound (maximisation); infinite when HiGHS proved nothing.
    pub bound: f64,
    pub stop: Stop,
}

/// Why HiGHS gave no answer for a component.
#[derive(Debug, thiserror::Error)]
pub enum SolverError {
    /// good_lp could not hand the model to HiGHS.
    #[error("model rejected by HiGHS: {0}")]
    Rejected(good_lp::ResolutionError),
    #[error("HiGHS failed: {0:?}")]
    Failed(highs::HighsStatus),
    /// Infeasible or unbounded: never for a model built from a valid request.
    #[error("HiGHS reports the model {0:?}")]
    Unsolvable(HighsModelStatus),
    #[error("HiGHS stopped with status {0:?}")]
    Stopped(HighsModelStatus),
    /// HiGHS could not write the model file.
    #[error("HiGHS could not write the model to {0}")]
    WriteFailed(String),
}

/// Where the callback reads the stop signals and writes progress.
pub struct Control<'a> {
    pub cancel: &'a AtomicBool,
    pub deadline: Instant,
    pub on_progress: &'a (dyn Fn(Incumbent) + Sync),
}

const CALLBACK_SIMPLEX_INTERRUPT: c_int = 1;
const CALLBACK_IPM_INTERRUPT: c_int = 2;
const CALLBACK_MIP_IMPROVING_SOLUTION: c_int = 4;
const CALLBACK_MIP_INTERRUPT: c_int = 6;

extern "C" fn callback(
    kind: c_int,
    _message: *const c_char,
    out: *const highs_sys::HighsCallbackDataOut,
    data_in: *mut highs_sys::HighsCallbackDataIn,
    user: *mut c_void,
) {
    // SAFETY: `user` is the `Control` passed to `Highs_setCallback` below, alive for the solve;
    // HiGHS passes valid `out`/`data_in` pointers (or null) for the callback's duration.
    let control = unsafe { &*(user as *const Control<'_>) };
    match kind {
        CALLBACK_SIMPLEX_INTERRUPT | CALLBACK_IPM_INTERRUPT | CALLBACK_MIP_INTERRUPT => {
            let stop = control.cancel.load(Ordering::Relaxed) || Instant::now() >= control.deadline;
            if stop && !data_in.is_null() {
                unsafe { (*data_in).user_interrupt = 1 };
            }
        }
        CALLBACK_MIP_IMPROVING_SOLUTION if !out.is_null() => {
            let out = unsafe { &*out };
            (control.on_progress)(Incumbent {
                objective: out.objective_function_value,
                bound: out.mip_dual_bound,
            });
        }
        _ => {}
    }
}

/// The shortest time limit handed to HiGHS, seconds (HiGHS refuses a limit of 0).
const MIN_TIME_LIMIT: f64 = 0.001;
/// HiGHS's absolute MIP gap: objective values are sums of weights of order 1, so a gap under
/// 1e-6 is rounding, not a better plan.
const MIP_ABSOLUTE_GAP: f64 = 1e-6;

/// Solves the model with HiGHS, starting from `warm_start`.
pub fn run(
    problem: good_lp::solvers::highs::HighsProblem,
    warm_start: &[f64],
    settings: &SolverSettings,
    time_limit: f64,
    control: &Control<'_>,
) -> Result<RunResult, SolverError> {
    let mut model = problem.try_into_inner().map_err(SolverError::Rejected)?;
    model.make_quiet();
    model.set_option("time_limit", time_limit.max(MIN_TIME_LIMIT));
    model.set_option("mip_rel_gap", settings.relative_gap);
    model.set_option("mip_abs_gap", MIP_ABSOLUTE_GAP);
    model.set_option("threads", settings.threads as i32);
    model.set_option("random_seed", settings.random_seed as i32);
    model.set_option("parallel", "off");

    let columns = model.num_cols();
    if warm_start.len() == columns {
        model.set_solution(Some(warm_start), None, None, None);
    }

    // SAFETY: the callback only reads `control`, which outlives the solve below.
    unsafe {
        let ptr = model.as_mut_ptr();
        highs_sys::Highs_setCallback(ptr, Some(callback), control as *const Control<'_> as *mut c_void);
        for kind in [
            CALLBACK_SIMPLEX_INTERRUPT,
            CALLBACK_IPM_INTERRUPT,
            CALLBACK_MIP_IMPROVING_SOLUTION,
            CALLBACK_MIP_INTERRUPT,
        ] {
            highs_sys::Highs_startCallback(ptr, kind);
        }
    }

    let solved = model.try_solve().map_err(SolverError::Failed)?;
    let status = solved.status();
    let stop = match status {
        HighsModelStatus::Optimal | HighsModelStatus::ObjectiveBound | HighsModelStatus::ObjectiveTarget => {
            Stop::Optimal
        }
        HighsModelStatus::ReachedInterrupt if control.cancel.load(Ordering::Relaxed) => Stop::Cancelled,
        HighsModelStatus::ReachedTimeLimit
        | HighsModelStatus::ReachedInterrupt
        | HighsModelStatus::ReachedIterationLimit
        | HighsModelStatus::ReachedSolutionLimit => Stop::TimeLimit,
        HighsModelStatus::Infeasible
        | HighsModelStatus::UnboundedOrInfeasible
        | HighsModelStatus::Unbounded => {
            return Err(SolverError::Unsolvable(status));
        }
        other => return Err(SolverError::Stopped(other)),
    };
    let feasible = solved.primal_solution_status() == highs::HighsSolutionStatus::Feasible;
    let bound = solved
        .double_info_value(c"mip_dual_bound")
        .ok()
        .filter(|b| b.is_finite())
        .unwrap_or(f64::INFINITY);
    let objective = solved.objective_value();
    let columns = feasible.then(|| solved.get_solution().columns().to_vec());
    Ok(RunResult {
        columns,
        objective,
        bound,
        stop,
    })
}
