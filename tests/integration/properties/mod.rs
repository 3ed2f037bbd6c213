//! Property tests: small, varied, valid requests (including adversarial shapes) and the invariants
//! every plan must keep, whichever planner made it.
//!
//! The generator builds proto requests from plain numbers and repairs them into validity (ages,
//! dates, bands and bookings are drawn so that `PlanningRequest::try_from` accepts them; a request
//! it refuses fails the property). Shapes:
//! - `Mixed`: everything random;
//! - `AllIneligible`: every patient is ruled out (unknown specialty or an unapproved EBI procedure);
//! - `OneHugeCase`: one case as long as the longest list;
//! - `AllLocked`: every list within T-2 weeks of the planning date;
//! - `ExactlyFull`: 240-minute lists and cases of 40, 115 or 240 minutes, so cases and changeovers
//!   fill lists to the minute (zero-minute gaps);
//! - `Ties`: identical patients on identical lists.

mod generator;

use std::collections::{BTreeMap, HashMap};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::check::check;
use theatre_optimiser::domain::plan::Plan;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::solve::{plan, SolveOptions};

use crate::support::assert_valid;
use generator::*;

fn domain(request: &pb::ProposeAllocationsRequest) -> PlanningRequest {
    match PlanningRequest::try_from(request.clone()) {
        Ok(req) => req,
        Err(e) => panic!("the generator made an invalid request: {:?}", e.0),
    }
}

fn domain_plan(req: &PlanningRequest, planner: PlannerKind) -> Plan {
    let mut req = req.clone();
    req.planner = planner;
    plan(&req, &SolveOptions::default()).expect("plans")
}

/// Checker violations, each on one line (rule codes and indexes only).
fn violations_of(req: &PlanningRequest, plan: &Plan) -> Vec<String> {
    check(req, plan).iter().map(|v| v.to_string()).collect()
}

/// Every patient on exactly one list or unallocated with at least one reason.
fn accounted_once(req: &PlanningRequest, plan: &Plan) -> Result<(), TestCaseError> {
    let mut places = vec![0usize; req.patients.len()];
    for list in &plan.lists {
        for case in &list.cases {
            places[case.patient] += 1;
        }
    }
    for u in &plan.unallocated {
        prop_assert!(
            !u.reasons.is_empty(),
            "patient #{} unallocated without a reason",
            u.patient
        );
        places[u.patient] += 1;
    }
    for (p, n) in places.iter().enumerate() {
        prop_assert_eq!(*n, 1, "patient #{} is in {} places", p, n);
    }
    Ok(())
}

/// Every CONFIRMED booking, and every booking on a locked list, stays where it is.
fn pinned_stay(req: &PlanningRequest, plan: &Plan) -> Result<(), TestCaseError> {
    let locked_days = req.policy.phases.locked_days;
    for b in &req.bookings {
        let locked = (req.sessions[b.session].date - req.planning_date).num_days() < locked_days;
        let confirmed = b.state == theatre_optimiser::domain::BookingState::Confirmed;
        if confirmed || locked {
            prop_assert_eq!(
                plan.assignment[b.patient],
                Some(b.session),
                "pinned booking of patient #{} moved (confirmed {}, locked {})",
                b.patient,
                confirmed,
                locked
            );
            prop_assert!(
                !plan.moves.iter().any(|m| m.patient == b.patient),
                "a move is recorded for a pinned booking"
            );
        }
    }
    Ok(())
}

/// The reported bound is never below the plan's own objective (the solver's statistics as the
/// response gives them).
fn bound_holds(response: &pb::ProposeAllocationsResponse) -> Result<(), TestCaseError> {
    let stats = response.solver.as_ref().expect("solver statistics");
    prop_assert!(
        stats.best_bound >= stats.objective - 1e-6 * stats.objective.abs().max(1.0),
        "bound {} below the objective {} ({:?})",
        stats.best_bound,
        stats.objective,
        pb::Planner::try_from(response.planner)
    );
    Ok(())
}

fn strip_time(mut r: pb::ProposeAllocationsResponse) -> String {
    if let Some(s) = r.solver.as_mut() {
        s.solve_seconds = 0.0;
    }
    serde_json::to_string(&r).unwrap()
}

/// The seed every property starts from: fixed, so that CI runs the same cases every time;
/// `PROPERTY_SEED=<u64>` (or `random`) for another run. Printed, so a failure can be replayed.
fn seed() -> u64 {
    const FIXED: u64 = 0x7e47_2e0b_1d2c_3a15;
    let seed = match std::env::var("PROPERTY_SEED").as_deref() {
        Ok("random") => rand_seed(),
        Ok(v) => v.parse().expect("PROPERTY_SEED is a u64 or `random`"),
        Err(_) => FIXED,
    };
    eprintln!("property seed {seed} (PROPERTY_SEED={seed} replays it)");
    seed
}

fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

/// 64 cases per property; `PROPTEST_CASES=5000` for a long hunt.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(64);
    ProptestConfig {
        cases,
        // Shrinking re-solves each candidate; keep it bounded.
        max_shrink_iters: 256,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed()),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// The checker finds nothing wrong with either planner's plan (before any fallback), every
    /// patient is placed once or explained, and pinned bookings stay.
    #[test]
    fn every_plan_passes_the_checker(spec in spec()) {
        let request = request(&spec);
        let req = domain(&request);
        for planner in [PlannerKind::Baseline, PlannerKind::Optimiser] {
            let plan = domain_plan(&req, planner);
            let violations = violations_of(&req, &plan);
            prop_assert!(violations.is_empty(), "{:?} ({:?}): {}", planner, spec.shape, violations.join("; "));
            accounted_once(&req, &plan)?;
            pinned_stay(&req, &plan)?;
            prop_assert_eq!(plan.planner, planner);
        }
    }

    /// The service's answer passes the checker and accounts for every patient exactly once,
    /// and confirmed or locked bookings appear on their own lists.
    #[test]
    fn every_response_is_valid(spec in spec()) {
        let request = request(&spec);
        let response = propose(request.clone(), &SolveOptions::default()).expect("a valid request plans");
        assert_valid(&request, &response);
        let locked_until = date(14);
        let dates: HashMap<&str, &str> =
            request.sessions.iter().map(|s| (s.id.as_str(), s.date.as_str())).collect();
        for b in &request.existing_bookings {
            let locked = dates[b.session_id.as_str()] < locked_until.as_str();
            if b.state == pb::BookingState::Confirmed as i32 || locked {
                let list = response.sessions.iter().find(|s| s.session_id == b.session_id).unwrap();
                prop_assert!(list.cases.iter().any(|c| c.patient_id == b.patient_id && c.existing));
                prop_assert!(!response.moves.iter().any(|m| m.patient_id == b.patient_id));
            }
        }
        if spec.shape == Shape::AllIneligible {
            prop_assert!(response.sessions.iter().all(|s| s.cases.iter().all(|c| c.existing)),
                "an ineligible patient was newly booked");
        }
        bound_holds(&response)?;
    }

    /// The optimiser never does worse than the baseline on the same request, and its reported
    /// baseline objective is the baseline's.
    #[test]
    fn the_optimiser_is_never_below_the_baseline(spec in spec()) {
        let req = domain(&request(&spec));
        let base = domain_plan(&req, PlannerKind::Baseline);
        let opt = domain_plan(&req, PlannerKind::Optimiser);
        let tolerance = 1e-7 * base.stats.objective.abs().max(1.0);
        prop_assert!(opt.stats.objective >= base.stats.objective - tolerance,
            "optimiser {} < baseline {}", opt.stats.objective, base.stats.objective);
        prop_assert!((opt.stats.baseline_objective - base.stats.objective).abs() <= tolerance);
        prop_assert!(opt.stats.best_bound >= opt.stats.objective - 1e-6 * opt.stats.objective.abs().max(1.0));
    }

    /// The same request always gives the same plan, byte for byte (apart from the solve time).
    #[test]
    fn the_same_request_gives_the_same_plan(spec in spec()) {
        let request = request(&spec);
        let a = strip_time(propose(request.clone(), &SolveOptions::default()).unwrap());
        let b = strip_time(propose(request, &SolveOptions::default()).unwrap());
        prop_assert_eq!(a, b);
    }

}

/// The larger requests' properties: 4 cases by default, each planning a request of 25 to 30 lists
/// and 120 to 150 patients with the baseline and through the service's path with the optimiser
/// (`PROPERTY_LARGE_CASES=<n>` for more); the same seed as the others.
fn large_config() -> ProptestConfig {
    let cases = std::env::var("PROPERTY_LARGE_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    ProptestConfig {
        cases,
        // Each shrinking step re-solves a large request.
        max_shrink_iters: 16,
        ..config()
    }
}

proptest! {
    #![proptest_config(large_config())]

    /// At about 30 lists and 150 patients: the baseline's plan passes the checker, places every
    /// patient once or explains them and keeps pinned bookings; the optimiser's answer through the
    /// service's path is its own (the checker did not reject it for the baseline), is valid, and
    /// its bound is not below its objective.
    #[test]
    fn large_plans_pass_the_checker_and_bound_their_objective(spec in large_spec()) {
        let mut request = request(&spec);
        request.planner = pb::Planner::Optimiser as i32;
        let req = domain(&request);
        prop_assert!(req.sessions.len() >= 25 && req.patients.len() >= 120);
        let plan = domain_plan(&req, PlannerKind::Baseline);
        let violations = violations_of(&req, &plan);
        prop_assert!(violations.is_empty(), "baseline ({:?}): {}", spec.shape, violations.join("; "));
        accounted_once(&req, &plan)?;
        pinned_stay(&req, &plan)?;
        let response = propose(request.clone(), &SolveOptions::default()).expect("a valid request plans");
        prop_assert_eq!(response.planner, pb::Planner::Optimiser as i32, "the checker rejected the optimiser's plan");
        assert_valid(&request, &response);
        bound_holds(&response)?;
    }
}

/// Solved to optimality (relative gap 0), one more list never lowers the objective. The extra
/// list is no later than the last one, so the horizon and every other term stay the same and the
/// old plan is still available. The property holds only when both solves are optimal; the run
/// fails if that was so in fewer than half its cases, so it cannot pass by asserting nothing.
#[test]
fn one_more_list_never_lowers_an_optimal_objective() {
    let mut runner = proptest::test_runner::TestRunner::new(config());
    let cases = std::sync::atomic::AtomicUsize::new(0);
    let asserted = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&(spec(), session_spec()), |(spec, extra)| {
        cases.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut request = request(&spec);
        request.planner = pb::Planner::Optimiser as i32;
        request.policy.as_mut().unwrap().relative_gap = Some(0.0);
        let planning = chrono::NaiveDate::parse_from_str(PLANNING_DATE, "%Y-%m-%d").unwrap();
        let last_day = request
            .sessions
            .iter()
            .map(|s| (chrono::NaiveDate::parse_from_str(&s.date, "%Y-%m-%d").unwrap() - planning).num_days())
            .max()
            .unwrap_or(0)
            .max(1);
        let mut session = session_proto(request.sessions.len(), &extra, spec.sites, Shape::Mixed);
        session.id = "EXTRA".into();
        session.date = date(extra.day % (last_day + 1));
        let before = propose(request.clone(), &SolveOptions::default()).unwrap();
        request.sessions.push(session);
        domain(&request);
        let after = propose(request.clone(), &SolveOptions::default()).unwrap();
        assert_valid(&request, &after);
        bound_holds(&before)?;
        bound_holds(&after)?;
        let optimal = pb::PlanStatus::Optimal as i32;
        if before.status == optimal && after.status == optimal {
            asserted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (b, a) = (
                crate::support::objective(&before),
                crate::support::objective(&after),
            );
            prop_assert!(a >= b - 1e-6 * b.abs().max(1.0), "one more list: {} -> {}", b, a);
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (cases, asserted) = (cases.into_inner(), asserted.into_inner());
    assert!(
        2 * asserted >= cases,
        "both solves were optimal in only {asserted} of {cases} cases"
    );
    eprintln!("one more list: asserted in {asserted} of {cases} cases");
}

/// The shapes are what they claim: a fixed spec of each shape builds a valid request with the
/// property the shape names.
#[test]
fn the_adversarial_shapes_are_what_they_claim() {
    let runner_spec = |shape| {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut s = spec().new_tree(&mut runner).unwrap().current();
        while s.patients.len() < 4 || s.sessions.len() < 2 {
            s = spec().new_tree(&mut runner).unwrap().current();
        }
        s.shape = shape;
        s.planner_baseline = false;
        s.fill_gaps = true;
        s
    };
    let full = request(&runner_spec(Shape::ExactlyFull));
    let req = domain(&full);
    for s in 0..req.sessions.len() {
        assert_eq!(
            req.case_capacity(s) % 50,
            0,
            "240-minute lists hold 50-minute loads exactly"
        );
    }
    let ties = request(&runner_spec(Shape::Ties));
    let strip = |p: &pb::Patient| pb::Patient {
        id: String::new(),
        ..p.clone()
    };
    assert!(ties.patients.iter().all(|p| strip(p) == strip(&ties.patients[0])));
    let locked = request(&runner_spec(Shape::AllLocked));
    assert!(locked.sessions.iter().all(|s| s.date < date(14)));
    let none = request(&runner_spec(Shape::AllIneligible));
    let response = propose(none.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&none, &response);
    let new_cases = response
        .sessions
        .iter()
        .flat_map(|s| &s.cases)
        .filter(|c| !c.existing)
        .count();
    assert_eq!(new_cases, 0);
    let huge = request(&runner_spec(Shape::OneHugeCase));
    let longest = huge.sessions.iter().map(|s| s.minutes).max().unwrap();
    assert_eq!(
        huge.patients[0].expected_minutes, longest,
        "one case as long as the longest list"
    );
    // The shapes plan, and each plan is checked and accounts for everyone.
    for r in [full, ties, locked, huge] {
        let response = propose(r.clone(), &SolveOptions::default()).unwrap();
        assert_valid(&r, &response);
    }
}

/// The generator is not vacuous: over a fixed run of specs, plans book patients, leave some out
/// for capacity, report conflicts, move offered bookings and fill lists to the minute.
#[test]
fn the_generator_reaches_the_interesting_cases() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = BTreeMap::<&str, usize>::new();
    for _ in 0..120 {
        let spec = spec().new_tree(&mut runner).unwrap().current();
        let request = request(&spec);
        let response = propose(request.clone(), &SolveOptions::default()).unwrap();
        let mut note = |what: &'static str, yes: bool| *seen.entry(what).or_default() += usize::from(yes);
        note("booked", response.sessions.iter().any(|s| !s.cases.is_empty()));
        note("conflict", !response.conflicts.is_empty());
        note("move", !response.moves.is_empty());
        note(
            "capacity",
            response.unallocated.iter().any(|u| u.reasons[0] == "capacity"),
        );
        note(
            "no_eligible_session",
            response
                .unallocated
                .iter()
                .any(|u| u.reasons[0] == "no_eligible_session"),
        );
        note("optimal", response.status == pb::PlanStatus::Optimal as i32);
        note("baseline", response.planner == pb::Planner::Baseline as i32);
        let to_the_minute = response.sessions.iter().any(|s| {
            s.reserved_minutes == 0
                && s.cases.len() > 1
                && s.cases.last().is_some_and(|c| c.end_time == s.end_time)
        });
        note("full to the minute", to_the_minute);
        let k = response.kpis.clone().unwrap_or_default();
        note(
            "age window missed",
            k.age_window_booked_past + k.age_window_left_past > 0,
        );
        note(
            "ex-premature infant refused a list",
            response
                .unallocated
                .iter()
                .any(|u| u.reasons.iter().any(|r| r == "ex_premature_infant")),
        );
    }
    for what in [
        "booked",
        "conflict",
        "move",
        "capacity",
        "no_eligible_session",
        "optimal",
        "baseline",
        "full to the minute",
        "age window missed",
        "ex-premature infant refused a list",
    ] {
        assert!(
            seen.get(what).copied().unwrap_or(0) > 0,
            "no generated request reached: {what} ({seen:?})"
        );
    }
}

/// The invariant helpers above can fail: a plan that drops a pinned booking, or places a patient
/// twice, is caught by them and by the checker.
#[test]
fn the_invariants_catch_a_broken_plan() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let (req, plan) = loop {
        let spec = spec().new_tree(&mut runner).unwrap().current();
        let req = domain(&request(&spec));
        if req.bookings.iter().any(|b| req.is_pinned(b)) {
            let plan = domain_plan(&req, PlannerKind::Optimiser);
            break (req, plan);
        }
    };
    assert!(pinned_stay(&req, &plan).is_ok());
    assert!(accounted_once(&req, &plan).is_ok());
    let pinned = req.bookings.iter().find(|b| req.is_pinned(b)).unwrap();

    let mut dropped = plan.clone();
    dropped.assignment[pinned.patient] = None;
    assert!(pinned_stay(&req, &dropped).is_err());

    let mut twice = plan.clone();
    let victim = twice
        .lists
        .iter()
        .flat_map(|l| l.cases.iter().map(|c| c.patient))
        .next()
        .unwrap();
    twice
        .unallocated
        .push(theatre_optimiser::domain::plan::Unallocated {
            patient: victim,
            reasons: vec![theatre_optimiser::domain::RuleCode::Capacity],
            detail: String::new(),
        });
    assert!(accounted_once(&req, &twice).is_err());
    assert!(!violations_of(&req, &twice).is_empty());
}

/// Validation gap (reported, not yet fixed): bookings already held on one list may add up to more
/// than the day. Pinned bookings stay whatever the room, so the plan times them past midnight, the
/// plan checker rejects both the optimiser's plan and the baseline, and a request that passed
/// validation gets INTERNAL ("no plan passed the plan checker"). A valid request must either be
/// refused with INVALID_ARGUMENT or planned.
#[test]
fn pinned_bookings_past_midnight_are_refused_or_planned() {
    let mut r = crate::support::sample();
    r.sessions.truncate(1);
    r.sessions[0].start_time = "13:00".into();
    r.sessions[0].hvlc_group = None;
    r.sessions[0].surgeon = None;
    r.patients.truncate(3);
    r.existing_bookings.clear();
    for p in &mut r.patients {
        p.expected_minutes = 240;
        p.specialty = r.sessions[0].specialty.clone();
        p.surgeon = None;
        r.existing_bookings.push(pb::ExistingBooking {
            patient_id: p.id.clone(),
            session_id: r.sessions[0].id.clone(),
            state: pb::BookingState::Confirmed as i32,
        });
    }
    match PlanningRequest::try_from(r.clone()) {
        // Refused: the violation names the bookings or the list they overfill.
        Err(e) => assert!(
            !e.0.is_empty()
                && e.0
                    .iter()
                    .all(|v| v.field.starts_with("existing_bookings") || v.field.starts_with("sessions[0]")),
            "{:?}",
            e.0
        ),
        Ok(_) => {
            let response = propose(r.clone(), &SolveOptions::default()).expect("a valid request plans");
            assert_valid(&r, &response);
        }
    }
}
