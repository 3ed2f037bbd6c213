//! The planner against two independent oracles (`support/oracle.rs`) on small requests: asked
//! for a zero gap, its plan and its proven bound must both equal the exact optimum, which a brute
//! force and a HiGHS pair model written here find alike.

use std::collections::HashMap;

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::planning::SolveOptions;

use crate::support::oracle::Instance;
use crate::support::{assert_valid, sample};

/// A small slice of the sample: `n` patients of one specialty from `skip` on, and its lists,
/// shortened by `shrink` minutes so that capacity binds and choices matter.
fn slice(specialty: &str, skip: usize, n: usize, shrink: i32) -> pb::ProposeAllocationsRequest {
    let mut r = sample();
    r.patients.retain(|p| p.specialty == specialty);
    r.patients.drain(..skip.min(r.patients.len()));
    r.patients.truncate(n);
    r.sessions.retain(|s| s.specialty == specialty);
    for s in &mut r.sessions {
        s.minutes -= shrink.min(s.minutes - 60);
        s.reserved_minutes = s.reserved_minutes.min(s.minutes / 4);
    }
    let longest = r.sessions.iter().map(|s| s.minutes).max().unwrap_or(0);
    let ids: Vec<String> = r.patients.iter().map(|p| p.id.clone()).collect();
    let sids: Vec<String> = r.sessions.iter().map(|s| s.id.clone()).collect();
    r.existing_bookings
        .retain(|b| ids.contains(&b.patient_id) && sids.contains(&b.session_id));
    // A pinned case longer than every list would make the request invalid.
    let booked: Vec<String> = r.existing_bookings.iter().map(|b| b.patient_id.clone()).collect();
    r.patients
        .retain(|p| p.expected_minutes <= longest || !booked.contains(&p.id));
    r
}

/// Asks for a zero gap and sets the given objective weights by override.
fn exact(mut r: pb::ProposeAllocationsRequest, weights: &[(&str, f64)]) -> pb::ProposeAllocationsRequest {
    let policy = r.policy.get_or_insert_with(Default::default);
    policy.overrides.insert("solver.relative_gap".into(), 0.0);
    for (key, value) in weights {
        policy.overrides.insert((*key).into(), *value);
    }
    r
}

/// Each patient's list in a response, by the request's indexes.
pub fn allocation(
    request: &pb::ProposeAllocationsRequest,
    response: &pb::ProposeAllocationsResponse,
) -> Vec<Option<usize>> {
    let sessions: HashMap<&str, usize> = request
        .sessions
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let on: HashMap<&str, usize> = response
        .sessions
        .iter()
        .flat_map(|s| {
            s.cases
                .iter()
                .map(|c| (c.patient_id.as_str(), sessions[s.session_id.as_str()]))
        })
        .collect();
    request
        .patients
        .iter()
        .map(|p| on.get(p.id.as_str()).copied())
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0)
}

/// A slice of the sample (specialty, first patient, patients, minutes cut from each list) and
/// its objective weights.
type Slice = (&'static str, usize, usize, i32, &'static [(&'static str, f64)]);

#[test]
fn at_a_zero_gap_the_plan_and_its_bound_are_the_exact_optimum_of_both_oracles() {
    let cases: &[Slice] = &[
        ("120", 0, 7, 0, &[]),
        ("171", 0, 7, 0, &[]),
        ("142", 0, 8, 0, &[]),
        ("120", 0, 8, 150, &[]),
        ("171", 0, 8, 170, &[]),
        ("120", 7, 8, 120, &[("objective.under_utilisation", 0.05)]),
        (
            "142",
            4,
            8,
            140,
            &[("objective.under_utilisation", 0.02), ("objective.move", 9.0)],
        ),
        (
            "171",
            3,
            8,
            150,
            &[
                ("objective.cases_per_list_shortfall", 12.0),
                ("objective.earliness", 0.8),
            ],
        ),
    ];
    let mut binding = 0;
    for &(specialty, skip, n, shrink, weights) in cases {
        let request = exact(slice(specialty, skip, n, shrink), weights);
        let name = format!("{specialty}[{skip}..+{n}] -{shrink} min {weights:?}");
        // The policy's numbers only: the profile with the request's overrides.
        let policy = PlanningRequest::try_from(request.clone()).unwrap().policy;
        assert_eq!(policy.solver.relative_gap, 0.0);
        let instance = Instance::new(&request, &policy);
        assert!(instance.pairs() > 0, "{name}: nobody may go anywhere");
        let brute = instance.brute_force();
        let highs = instance.highs_optimum();
        assert!(
            close(brute, highs),
            "{name}: brute force {brute} vs HiGHS pair model {highs}"
        );

        let response = propose(request.clone(), &SolveOptions::default()).unwrap();
        assert_valid(&request, &response);
        assert_eq!(response.status, pb::PlanStatus::Optimal as i32, "{name}");
        let stats = response.solver.as_ref().unwrap();
        let planned = instance
            .evaluate(&allocation(&request, &response))
            .unwrap_or_else(|e| panic!("{name}: the plan is not a plan of the oracle's instance: {e}"));
        assert!(
            close(planned, brute),
            "{name}: the plan is worth {planned}, the optimum {brute}"
        );
        assert!(
            close(stats.objective, brute),
            "{name}: the planner says its plan is worth {}, the oracle {brute}",
            stats.objective
        );
        assert!(
            close(stats.best_bound, brute),
            "{name}: proven bound {} vs optimum {brute}",
            stats.best_bound
        );
        if response
            .unallocated
            .iter()
            .any(|u| u.reasons.iter().any(|r| r == "capacity"))
        {
            binding += 1;
        }
    }
    assert!(
        binding >= cases.len() / 2,
        "capacity binds in only {binding} cases"
    );
}
