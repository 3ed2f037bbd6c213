//! The shipped what-if scenarios: expanded against the sample week, planned and compared.

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::{propose, whatif as scenario};
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::io::report;
use theatre_optimiser::planning::SolveOptions;

use crate::support::files::{case_rects, cases_of, root};
use crate::support::{assert_valid, sample};

/// The scenarios shipped in `examples/scenarios/`.
pub const SCENARIOS: [&str; 2] = [
    "examples/scenarios/saturday-hit-list.json",
    "examples/scenarios/dgh-closed-week-2026-12-14.json",
];

fn example_scenarios() -> Vec<pb::Scenario> {
    SCENARIOS
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(root(p)).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{p}: {e}"))
        })
        .collect()
}

#[test]
fn example_scenarios_expand_against_the_sample() {
    let base = sample();
    let requests = scenario::expand(&pb::CompareScenariosRequest {
        base: Some(base.clone()),
        scenarios: example_scenarios(),
    })
    .expect("the example scenarios expand");
    let names: Vec<&str> = requests.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["base", "saturday-hit-list", "dgh-closed-week-2026-12-14"]);
    for (name, r) in &requests {
        PlanningRequest::try_from(r.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(requests[0].1, base);

    // Saturday: one more list, on a Saturday, nothing else changed.
    let saturday = &requests[1].1;
    assert_eq!(saturday.sessions.len(), base.sessions.len() + 1);
    let added = saturday.sessions.last().unwrap();
    let date = chrono::NaiveDate::parse_from_str(&added.date, "%Y-%m-%d").unwrap();
    assert_eq!(chrono::Datelike::weekday(&date), chrono::Weekday::Sat);
    assert_eq!(saturday.sessions[..base.sessions.len()], base.sessions[..]);
    assert_eq!(saturday.patients, base.patients);

    // DGH closed 14-20 December: every DGH list that week released, nothing else touched.
    let closed = &requests[2].1;
    let in_week =
        |s: &pb::Session| s.site_id == "DGH" && ("2026-12-14"..="2026-12-20").contains(&s.date.as_str());
    assert!(base.sessions.iter().filter(|s| in_week(s)).count() >= 3);
    for (b, c) in base.sessions.iter().zip(&closed.sessions) {
        if in_week(b) {
            assert_eq!(c.status, pb::SessionStatus::Released as i32, "{}", c.id);
        } else {
            assert_eq!(b, c);
        }
    }
    let closed_ids: Vec<&str> = closed
        .sessions
        .iter()
        .filter(|s| in_week(s))
        .map(|s| s.id.as_str())
        .collect();
    assert!(closed
        .existing_bookings
        .iter()
        .all(|b| !closed_ids.contains(&b.session_id.as_str())));
}

#[test]
fn example_scenarios_plan_and_compare() {
    // The baseline planner makes the comparison independent of solver tuning.
    let mut base = sample();
    base.planner = pb::Planner::Baseline as i32;
    let requests = scenario::expand(&pb::CompareScenariosRequest {
        base: Some(base),
        scenarios: example_scenarios(),
    })
    .unwrap();
    let plans: Vec<(String, pb::ProposeAllocationsResponse)> = requests
        .iter()
        .map(|(name, r)| {
            let plan = propose(r.clone(), &SolveOptions::default()).unwrap();
            assert_valid(r, &plan);
            (name.clone(), plan)
        })
        .collect();
    let comparison = scenario::compare(plans);
    let saturday = &comparison.scenarios[0];
    assert!(
        !saturday.gained.is_empty() && saturday.lost.is_empty(),
        "a Saturday list books more patients and costs nobody a date"
    );
    assert!(saturday.delta.as_ref().unwrap().booked > 0);
    let closed = &comparison.scenarios[1];
    assert!(!closed.lost.is_empty(), "closing DGH for a week costs dates");
    let plan = closed.plan.as_ref().unwrap();
    for s in plan
        .sessions
        .iter()
        .filter(|s| s.site_id == "DGH" && s.date.as_str() >= "2026-12-14" && s.date.as_str() <= "2026-12-20")
    {
        assert!(
            s.released && s.cases.is_empty(),
            "{} should be closed",
            s.session_id
        );
    }

    let html = report::comparison_html(&comparison, "What-if");
    let total: usize = report::comparison_plans(&comparison)
        .iter()
        .map(|(_, p)| cases_of(p).len())
        .sum();
    assert_eq!(case_rects(&html).len(), total);
    assert!(html.contains("change vs base"));
    let text = report::kpi_text(&report::comparison_plans(&comparison));
    let booked = text.lines().find(|l| l.starts_with("Patients booked")).unwrap();
    assert!(booked.contains("better") && booked.contains("worse"), "{booked}");
}
