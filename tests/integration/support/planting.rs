//! Solvers that plant a fault behind the real pipeline, for the checker-wiring tests: the real
//! solver's plan with a case lost whenever the planner asked for is one of `broken`.

use std::sync::Arc;

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::Solver;
use theatre_optimiser::domain::plan::Plan;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::solve::plan;
use theatre_optimiser::planning::{SolveOptions, SolverError};

use crate::support::assert_valid;

/// The real solver's plan, with the last case of the first list that has one lost (neither on a
/// list nor reported) whenever the planner asked for is one of `broken`.
pub fn lose_a_patient(plan: &mut Plan) {
    let list = plan
        .lists
        .iter_mut()
        .find(|l| !l.cases.is_empty())
        .expect("a booked list");
    let case = list.cases.pop().unwrap();
    plan.assignment[case.patient] = None;
}

/// The real solver's plan with the first case of the first list holding two or more lost: the
/// patient is on no list, and the list no longer starts with a case (a fault that names a list).
pub fn lose_a_first_case(plan: &mut Plan) {
    let list = plan
        .lists
        .iter_mut()
        .find(|l| l.cases.len() > 1)
        .expect("a list with two cases");
    let case = list.cases.remove(0);
    plan.assignment[case.patient] = None;
}

/// The real solver, with `fault` planted in its plans whenever the planner asked for is one of
/// `broken`.
pub fn planting_with(broken: &'static [PlannerKind], fault: fn(&mut Plan)) -> Arc<Solver> {
    Arc::new(
        move |req: &PlanningRequest, opts: &SolveOptions| -> Result<Plan, SolverError> {
            let mut p = plan(req, opts)?;
            if broken.contains(&req.planner) {
                fault(&mut p);
            }
            Ok(p)
        },
    )
}

pub fn is_checked_baseline(
    request: &pb::ProposeAllocationsRequest,
    response: &pb::ProposeAllocationsResponse,
) {
    assert_eq!(
        response.planner,
        pb::Planner::Baseline as i32,
        "the planted plan got out instead of the checked baseline"
    );
    assert_valid(request, response);
}
