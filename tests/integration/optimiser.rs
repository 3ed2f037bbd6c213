//! The Lagrangian planner's promises: a work budget ends a solve the same way with one worker or
//! two, its bound is never below its plan, and its answer names how it stopped.

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::planning::solve::SolveOptions;
use theatre_optimiser::synth::{generate, Scale};

use crate::support::assert_valid;

/// `request` with solver overrides.
fn with_solver(
    mut request: pb::ProposeAllocationsRequest,
    pairs: &[(&str, f64)],
) -> pb::ProposeAllocationsRequest {
    let policy = request.policy.get_or_insert_with(Default::default);
    for (key, value) in pairs {
        policy.overrides.insert(format!("solver.{key}"), *value);
    }
    request
}

fn workers(n: usize) -> SolveOptions {
    SolveOptions {
        workers: Some(n),
        ..SolveOptions::default()
    }
}

/// The response without its wall-clock time, for comparing plans.
fn plan_of(mut response: pb::ProposeAllocationsResponse) -> String {
    response.solver.as_mut().unwrap().solve_seconds = 0.0;
    serde_json::to_string(&response).unwrap()
}

/// A trust-scale request cut short by a small work budget (the wall clock far away) ends on its
/// budget, and gives the same plan, bound and work with one worker or two: the budget counts
/// work, not time.
#[test]
fn a_work_budget_gives_the_same_plan_with_one_worker_or_two() {
    let request = with_solver(
        generate(Scale::Trust, 3),
        &[("work_budget", 30.0), ("time_limit_seconds", 3600.0)],
    );
    let one = propose(request.clone(), &workers(1)).unwrap();
    let two = propose(request.clone(), &workers(2)).unwrap();
    assert_valid(&request, &one);
    let stats = one.solver.as_ref().unwrap();
    assert_eq!(stats.stop_reason, "work_limit");
    assert_eq!(one.status, pb::PlanStatus::Feasible as i32);
    assert!(
        stats.work_units >= 30.0,
        "stopped at {} million units",
        stats.work_units
    );
    assert!(stats.objective > stats.baseline_objective);
    assert_eq!(plan_of(one), plan_of(two));
}

/// On generated requests of two scales, every answer's bound is at least its plan's value, no
/// bound error is reported, the three gaps agree with the objective and bound, and a plan that
/// says OPTIMAL is within the policy gap by the decision gap.
#[test]
fn the_bound_is_never_below_the_plan_and_the_gaps_agree() {
    let requests = (1..=4)
        .map(|seed| generate(Scale::Theatre, seed))
        .chain([with_solver(generate(Scale::Trust, 2), &[("work_budget", 20.0)])]);
    for request in requests {
        let response = propose(request.clone(), &workers(2)).unwrap();
        assert_valid(&request, &response);
        let s = response.solver.as_ref().unwrap();
        assert_eq!(s.bound_errors, 0);
        assert!(
            s.best_bound >= s.objective - 1e-6,
            "bound {} below plan {}",
            s.best_bound,
            s.objective
        );
        assert!((s.absolute_gap - (s.best_bound - s.objective)).abs() < 1e-5);
        assert!(s.decision_gap >= 0.0 && s.decision_gap <= 1.0);
        let relative = (s.best_bound - s.objective) / s.best_bound.abs().max(1.0);
        assert!((s.relative_gap - relative).abs() < 1e-5);
        let optimal = response.status == pb::PlanStatus::Optimal as i32;
        assert_eq!(
            optimal,
            s.stop_reason == "optimal",
            "status and stop reason disagree"
        );
        if optimal {
            assert!(
                s.decision_gap <= 0.005 + 1e-6,
                "OPTIMAL at decision gap {}",
                s.decision_gap
            );
        }
    }
}

/// With the pair model asked for, the same request is planned by HiGHS and answers the same way:
/// a checked plan, a bound at least its value, and no work counted.
#[test]
fn the_pair_model_setting_plans_with_highs() {
    let request = with_solver(
        generate(Scale::Theatre, 2),
        &[("pair_model", 1.0), ("time_limit_seconds", 30.0)],
    );
    let response = propose(request.clone(), &workers(2)).unwrap();
    assert_valid(&request, &response);
    let s = response.solver.as_ref().unwrap();
    assert_eq!(s.work_units, 0.0);
    assert!(s.best_bound >= s.objective - 1e-6);
    assert!(
        s.variables > s.eligible_pairs,
        "the pair model has link variables besides its pairs"
    );
}
