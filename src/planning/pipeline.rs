//! The planning pipeline: a validated request (a [`PlanningRequest`] is valid by construction:
//! `api::convert` or `synth` made it) is planned by [`solve::plan`], and the plan is checked by
//! the independent checker before anyone sees it.

use std::collections::BTreeSet;

use crate::check;
use crate::domain::plan::Plan;
use crate::domain::{PlannerKind, PlanningRequest};
use crate::planning::model::highs_run::SolverError;
use crate::planning::solve::{self, SolveOptions};

/// Why a validated request got no plan (bad input is refused before this point).
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("solver failure: {0}")]
    Solver(#[from] SolverError),
    /// Neither the planner's plan nor the baseline's passed the plan checker; `violations`
    /// counts the first plan's findings.
    #[error("solver failure: no plan passed the plan checker ({violations} violations)")]
    Unchecked { violations: usize },
}

/// Plans a validated request and re-checks the plan with the independent checker: what the
/// gRPC service, the command line and what-if all call. A plan the checker rejects is never
/// returned: the baseline plan is tried instead, and if that fails too the request fails.
/// Warnings name rule codes, list ids and counts only, never patients. `opts.time_limit`, when set, counts
/// from this call.
pub fn propose(req: &PlanningRequest, opts: &SolveOptions) -> Result<Plan, PlanError> {
    propose_with(req, opts, solve::plan)
}

/// [`propose`] over any planner (production passes [`solve::plan`]; tests pass planners that
/// plant faults behind the checker): `planner` is asked first with the request as it is and, if
/// the checker rejects that plan, again with the baseline planner.
pub fn propose_with(
    req: &PlanningRequest,
    opts: &SolveOptions,
    planner: impl Fn(&PlanningRequest, &SolveOptions) -> Result<Plan, SolverError>,
) -> Result<Plan, PlanError> {
    let first = planner(req, opts)?;
    let violations = checked(req, &first);
    if violations.is_empty() {
        return Ok(first);
    }
    tracing::warn!(
        count = violations.len(),
        rules = ?rule_codes(&violations),
        sessions = ?session_ids(req, &violations),
        "plan failed the plan checker; falling back to the baseline"
    );
    let mut fallback_req = req.clone();
    fallback_req.planner = PlannerKind::Baseline;
    let fallback = planner(&fallback_req, opts)?;
    let fallback_violations = checked(req, &fallback);
    if fallback_violations.is_empty() {
        Ok(fallback)
    } else {
        tracing::error!(
            count = fallback_violations.len(),
            rules = ?rule_codes(&fallback_violations),
            sessions = ?session_ids(req, &fallback_violations),
            "the baseline plan failed the plan checker too; no plan is returned"
        );
        Err(PlanError::Unchecked {
            violations: violations.len(),
        })
    }
}

/// The checker's findings on a plan, timed as the `check` phase.
fn checked(req: &PlanningRequest, plan: &Plan) -> Vec<check::Violation> {
    let _span = tracing::debug_span!("check").entered();
    check::check(req, plan)
}

/// The ids of the lists a checker's findings name (list ids are no patient's data).
fn session_ids<'a>(req: &'a PlanningRequest, violations: &[check::Violation]) -> BTreeSet<&'a str> {
    violations
        .iter()
        .filter_map(|v| v.session)
        .map(|s| req.sessions[s].id.as_str())
        .collect()
}

/// The distinct rule codes of a checker's findings: what a log line may say of them.
fn rule_codes(violations: &[check::Violation]) -> BTreeSet<&'static str> {
    violations.iter().map(|v| v.rule.code()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::planning::solve::plan;
    use crate::synth::{generate, Scale};

    fn request() -> PlanningRequest {
        PlanningRequest::try_from(generate(Scale::Theatre, 3)).unwrap()
    }

    /// A planner whose plans lose one allocated patient (neither on a list nor reported) when it
    /// plans with a planner in `broken`.
    fn losing(
        broken: &'static [PlannerKind],
    ) -> impl Fn(&PlanningRequest, &SolveOptions) -> Result<Plan, SolverError> {
        move |req, opts| {
            let mut plan = plan(req, opts)?;
            if broken.contains(&req.planner) {
                let list = plan.lists.iter_mut().find(|l| !l.cases.is_empty()).unwrap();
                let case = list.cases.pop().unwrap();
                plan.assignment[case.patient] = None;
            }
            Ok(plan)
        }
    }

    #[test]
    fn a_plan_the_checker_rejects_gives_way_to_the_checked_baseline() {
        let req = request();
        let opts = SolveOptions::default();
        assert_eq!(req.planner, PlannerKind::Optimiser);
        let broken = losing(&[PlannerKind::Optimiser])(&req, &opts).unwrap();
        assert!(
            !check::check(&req, &broken).is_empty(),
            "the broken plan must be caught"
        );

        let plan = propose_with(&req, &opts, losing(&[PlannerKind::Optimiser])).unwrap();
        assert_eq!(plan.planner, PlannerKind::Baseline);
        assert!(check::check(&req, &plan).is_empty());
        let mut baseline_req = req.clone();
        baseline_req.planner = PlannerKind::Baseline;
        assert_eq!(
            plan.assignment,
            solve::plan(&baseline_req, &opts).unwrap().assignment
        );
    }

    #[test]
    fn when_no_plan_passes_the_checker_the_request_fails() {
        let req = request();
        let opts = SolveOptions::default();
        let both = losing(&[PlannerKind::Optimiser, PlannerKind::Baseline]);
        let err = propose_with(&req, &opts, both).unwrap_err();
        assert!(err.to_string().contains("plan checker"), "{err}");
    }

    #[test]
    fn a_checked_plan_is_returned_as_it_is() {
        let req = request();
        let opts = SolveOptions::default();
        let plan = propose(&req, &opts).unwrap();
        assert_eq!(plan.planner, PlannerKind::Optimiser);
        assert!(check::check(&req, &plan).is_empty());
    }
}
