//! The whole request's pair model written as an MPS file (by HiGHS), so that any MILP or CP
//! solver can solve exactly the problem the planner solves.

use std::ffi::CString;
use std::path::Path;

use super::highs_run::SolverError;
use super::{components, objective_constant, Component, ListModel};
use crate::domain::PlanningRequest;
use crate::planning::objective;
use crate::rules;

/// What the file holds, and what a solver's objective on it means for the plan.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExportedModel {
    pub variables: usize,
    pub constraints: usize,
    /// Add this to the model's objective to get the plan's objective.
    pub objective_constant: f64,
    /// The plan objective of booking nobody but the pinned cases: the floor of the decision gap.
    pub empty_plan_value: f64,
}

/// Writes the pair model of every component of `req`, as one model, to `path` (`.mps`; HiGHS
/// picks the format by the extension).
pub fn write_pair_model(req: &PlanningRequest, path: &Path) -> Result<ExportedModel, SolverError> {
    let options = rules::eligible_sessions(req);
    let parts = components(req, &options);
    let mut whole = Component {
        patients: parts.iter().flat_map(|c| c.patients.iter().copied()).collect(),
        sessions: parts.iter().flat_map(|c| c.sessions.iter().copied()).collect(),
        pairs: parts.iter().map(|c| c.pairs).sum(),
    };
    whole.patients.sort_unstable();
    whole.sessions.sort_unstable();
    let model = ListModel::build(req, &whole, &options);
    let (variables, constraints) = (model.variables, model.constraints);
    let mut highs = model.problem.try_into_inner().map_err(SolverError::Rejected)?;
    let target = path.to_string_lossy().into_owned();
    let name = CString::new(target.clone()).map_err(|_| SolverError::WriteFailed(target.clone()))?;
    // SAFETY: `highs` owns a live HiGHS instance holding the model; `name` outlives the call.
    let status = unsafe { highs_sys::Highs_writeModel(highs.as_mut_ptr(), name.as_ptr()) };
    if status == highs_sys::kHighsStatusError {
        return Err(SolverError::WriteFailed(target));
    }
    Ok(ExportedModel {
        variables,
        constraints,
        objective_constant: objective_constant(req),
        empty_plan_value: objective::empty_plan_value(req),
    })
}
