//! Plan quality and invariants: optimiser against the baseline (the exact optimum is in
//! `oracle.rs`), determinism, locked bookings, and the checker on every plan.

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::solve::{plan, SolveOptions};

use crate::support::{assert_valid, sample, trust_request};

#[test]
fn the_optimiser_is_never_below_the_baseline() {
    for seed in 1..=3 {
        let request = theatre_optimiser::synth::generate(theatre_optimiser::synth::Scale::Theatre, seed);
        let mut req = PlanningRequest::try_from(request.clone()).unwrap();
        req.planner = PlannerKind::Baseline;
        let base = plan(&req, &SolveOptions::default()).unwrap();
        req.planner = PlannerKind::Optimiser;
        let opt = plan(&req, &SolveOptions::default()).unwrap();
        assert!(opt.stats.objective >= base.stats.objective - 1e-9, "seed {seed}");
        assert!(opt.stats.best_bound >= opt.stats.objective - 1e-6);
        let response = propose(request.clone(), &SolveOptions::default()).unwrap();
        assert_valid(&request, &response);
    }
}

/// A solve stopped by its time limit answers with its incumbent: a checked plan, FEASIBLE, with
/// the gap it reached, at least as good as the baseline, and the solver stopped near the limit.
#[test]
fn a_solve_at_its_time_limit_returns_its_incumbent() {
    let request = trust_request(2.0);
    let started = std::time::Instant::now();
    let response = propose(request.clone(), &SolveOptions::default()).unwrap();
    let elapsed = started.elapsed();
    assert_valid(&request, &response);
    let stats = response.solver.as_ref().unwrap();
    assert_eq!(response.status, pb::PlanStatus::Feasible as i32);
    assert_eq!(stats.stop_reason, "time_limit");
    assert!(
        stats.relative_gap > 0.0,
        "a trust-scale plan is not proven in 2 s"
    );
    assert!(stats.best_bound >= stats.objective);
    assert!(
        stats.objective > stats.baseline_objective,
        "incumbent {} vs baseline {}",
        stats.objective,
        stats.baseline_objective
    );
    assert!(
        stats.solve_seconds < 10.0,
        "solver ran {} s on a 2 s limit",
        stats.solve_seconds
    );
    eprintln!(
        "2 s limit: reply after {elapsed:?}, gap {:.3}",
        stats.relative_gap
    );
}

#[test]
fn the_same_request_gives_the_same_plan() {
    let request = theatre_optimiser::synth::generate(theatre_optimiser::synth::Scale::Theatre, 7);
    let strip = |mut r: pb::ProposeAllocationsResponse| {
        r.solver.as_mut().unwrap().solve_seconds = 0.0;
        serde_json::to_string(&r).unwrap()
    };
    let a = strip(propose(request.clone(), &SolveOptions::default()).unwrap());
    let b = strip(propose(request, &SolveOptions::default()).unwrap());
    assert_eq!(a, b);
}

#[test]
fn pinned_bookings_stay_and_offered_ones_cost_a_move_when_moved() {
    let request = sample();
    let response = propose(request.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&request, &response);
    let on = |pid: &str| {
        response
            .sessions
            .iter()
            .find(|s| s.cases.iter().any(|c| c.patient_id == pid))
            .map(|s| s.session_id.clone())
    };
    for b in &request.existing_bookings {
        if b.state == pb::BookingState::Confirmed as i32 {
            assert_eq!(on(&b.patient_id), Some(b.session_id.clone()));
        }
    }
    let moved = response.moves.len() as i32;
    assert_eq!(response.kpis.unwrap().moves, moved);
}

#[test]
fn every_unallocated_patient_has_a_reason_that_names_rules() {
    let request = sample();
    let response = propose(request, &SolveOptions::default()).unwrap();
    assert!(!response.unallocated.is_empty());
    for u in &response.unallocated {
        let first = u.reasons[0].as_str();
        assert!(
            ["capacity", "no_eligible_session", "ebi_not_approved"].contains(&first),
            "unexpected first reason {first}"
        );
        if first == "no_eligible_session" {
            assert!(
                u.reasons.len() >= 2,
                "no_eligible_session names the rules that ruled lists out"
            );
        }
        assert!(!u.detail.is_empty());
    }
}
