//! What both fuzz targets do with a decoded request: validate it and, when it is accepted, check
//! the invariants validation promises and plan it with the baseline (no MILP), which the
//! independent plan checker must pass.

use theatre_optimiser::check::check;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::planning::solve::{plan, SolveOptions};

/// Requests with more session-patient pairs than this are only validated, not planned, to keep
/// each run fast.
const PLAN_AT_MOST_PAIRS: usize = 2_000;

pub fn exercise(request: pb::ProposeAllocationsRequest) {
    let sizes = (
        request.sessions.len(),
        request.patients.len(),
        request.existing_bookings.len(),
    );
    match PlanningRequest::try_from(request) {
        Err(e) => {
            // A refusal names at least one field, and every violation says what is wrong.
            assert!(!e.0.is_empty(), "refused without a violation");
            for v in &e.0 {
                assert!(
                    !v.field.is_empty() && !v.description.is_empty(),
                    "empty violation"
                );
            }
        }
        Ok(mut req) => {
            assert_eq!(
                (req.sessions.len(), req.patients.len(), req.bookings.len()),
                sizes
            );
            for b in &req.bookings {
                assert!(b.patient < req.patients.len() && b.session < req.sessions.len());
            }
            if req.sessions.len() * req.patients.len().max(1) > PLAN_AT_MOST_PAIRS {
                return;
            }
            req.planner = PlannerKind::Baseline;
            let plan = plan(&req, &SolveOptions::default()).expect("the baseline always plans");
            let violations = check(&req, &plan);
            assert!(
                violations.is_empty(),
                "the baseline plan of an accepted request fails the checker: {}",
                violations
                    .iter()
                    .map(|v| v.to_string())
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
    }
}
