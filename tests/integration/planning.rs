//! Plan quality and invariants: optimiser against the baseline and a brute-force optimum,
//! determinism, locked bookings, and the checker on every plan.

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::objective::evaluate;
use theatre_optimiser::planning::solve::{plan, SolveOptions};
use theatre_optimiser::rules::eligible_sessions;

use crate::support::{assert_valid, objective, sample, trust_request};

/// The best value over every allocation (each patient: unbooked or one eligible list), checking
/// capacity by list: exhaustive, for tiny requests only.
fn brute_force(req: &PlanningRequest) -> f64 {
    let options = eligible_sessions(req);
    let mut best = f64::NEG_INFINITY;
    let mut assignment = vec![None; req.patients.len()];
    fn go(
        req: &PlanningRequest,
        options: &[Vec<usize>],
        p: usize,
        load: &mut Vec<i64>,
        a: &mut Vec<Option<usize>>,
        best: &mut f64,
    ) {
        if p == options.len() {
            *best = best.max(evaluate(req, a));
            return;
        }
        let pinned = req.booking_of(p).is_some_and(|b| req.is_pinned(b));
        if !pinned {
            a[p] = None;
            go(req, options, p + 1, load, a, best);
        }
        for &s in &options[p] {
            let l = req.case_load(p);
            let pinned_load: i64 = req
                .bookings
                .iter()
                .filter(|b| b.session == s && req.is_pinned(b))
                .map(|b| req.case_load(b.patient))
                .sum();
            if pinned || load[s] + l <= req.case_capacity(s).max(pinned_load) {
                load[s] += l;
                a[p] = Some(s);
                go(req, options, p + 1, load, a, best);
                load[s] -= l;
            }
        }
        a[p] = None;
    }
    let mut load = vec![0; req.sessions.len()];
    go(req, &options, 0, &mut load, &mut assignment, &mut best);
    best
}

/// A small slice of the sample: the first `n` patients of one specialty, its lists.
fn slice(specialty: &str, n: usize) -> pb::ProposeAllocationsRequest {
    let mut r = sample();
    r.patients.retain(|p| p.specialty == specialty);
    r.patients.truncate(n);
    r.sessions.retain(|s| s.specialty == specialty);
    let ids: Vec<String> = r.patients.iter().map(|p| p.id.clone()).collect();
    let sids: Vec<String> = r.sessions.iter().map(|s| s.id.clone()).collect();
    r.existing_bookings
        .retain(|b| ids.contains(&b.patient_id) && sids.contains(&b.session_id));
    r
}

#[test]
fn the_optimiser_matches_a_brute_force_optimum_on_small_requests() {
    for (specialty, n, shrink) in [
        ("120", 7, 0),
        ("171", 7, 0),
        ("142", 8, 0),
        ("120", 8, 150),
        ("171", 8, 170),
    ] {
        let mut request = slice(specialty, n);
        // Shrink the lists so capacity binds and choices matter.
        for s in &mut request.sessions {
            s.minutes -= shrink.min(s.minutes - 60);
            s.reserved_minutes = s.reserved_minutes.min(s.minutes / 4);
        }
        let patients: Vec<String> = request.patients.iter().map(|p| p.id.clone()).collect();
        let too_long = |r: &pb::ProposeAllocationsRequest, id: &str| {
            let longest = r.sessions.iter().map(|s| s.minutes).max().unwrap_or(0);
            r.patients
                .iter()
                .any(|p| p.id == id && p.expected_minutes > longest)
        };
        let dropped: Vec<String> = patients.into_iter().filter(|id| too_long(&request, id)).collect();
        request.patients.retain(|p| !dropped.contains(&p.id));
        request
            .existing_bookings
            .retain(|b| !dropped.contains(&b.patient_id));
        let req = PlanningRequest::try_from(request.clone()).unwrap();
        let optimum = brute_force(&req);
        let response = propose(request.clone(), &SolveOptions::default()).unwrap();
        assert_valid(&request, &response);
        assert_eq!(response.status, pb::PlanStatus::Optimal as i32);
        let got = objective(&response);
        let tolerance = 1e-6 + req.policy.solver.relative_gap * optimum.abs().max(1.0);
        assert!(
            (got - optimum).abs() <= tolerance,
            "{specialty}: optimiser {got} vs brute force {optimum}"
        );
    }
}

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
