//! Right procedure, right place (seed 004): a case that needs no specialist centre goes to a local
//! list when one has room and the family accepts it; at a hub it is explained; the KPIs count it;
//! the plan checker recounts and re-judges both.

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::check;
use theatre_optimiser::domain::plan::HubReason;
use theatre_optimiser::domain::{PlanningRequest, RuleCode};
use theatre_optimiser::planning::solve::SolveOptions;

use crate::support::{assert_valid, from_response};

/// A hub (specialist centre) list on 4 January and a local list a week later, both ENT; `local`
/// minutes on the local list. Each patient: (id, complex, accepted site ids).
fn request(local_minutes: u32, patients: &[(&str, bool, &[&str])]) -> pb::ProposeAllocationsRequest {
    let patients: Vec<serde_json::Value> = patients
        .iter()
        .map(|(id, complex, sites)| {
            serde_json::json!({
                "id": id, "specialty": "120", "procedure": "F34.1", "expectedMinutes": 60,
                "ageMonths": 84, "priority": "PRIORITY_P3", "dateListed": "2026-06-01",
                "rttClockStart": "2026-06-01", "complex": complex,
                "preop": {"status": "PREOP_STATUS_COMPLETED", "date": "2026-11-04"},
                "acceptedSiteIds": sites,
            })
        })
        .collect();
    let session = |id: &str, site: &str, date: &str, minutes: u32| {
        serde_json::json!({
            "id": id, "siteId": site, "theatre": "T1", "date": date, "startTime": "08:30",
            "minutes": minutes, "specialty": "120", "listType": "LIST_TYPE_PAEDIATRIC",
            "status": "SESSION_STATUS_CONFIRMED",
        })
    };
    let json = serde_json::json!({
        "planningDate": "2026-11-23",
        "sites": [
            {"id": "HUB", "name": "Children's hospital", "specialistCentre": true},
            {"id": "DGH", "name": "District general", "specialistCentre": false},
        ],
        "sessions": [
            session("HUB-0104", "HUB", "2027-01-04", 240),
            session("DGH-0111", "DGH", "2027-01-11", local_minutes),
        ],
        "patients": patients,
        // One case per list here: no cases-per-list target to chase.
        "policy": {"overrides": {"objective.cases_per_list_shortfall": 0.0}},
    });
    serde_json::from_value(json).expect("the request parses")
}

fn with_hub_cost(mut r: pb::ProposeAllocationsRequest, cost: f64) -> pb::ProposeAllocationsRequest {
    r.policy
        .get_or_insert_with(Default::default)
        .overrides
        .insert("objective.hub_non_complex".into(), cost);
    r
}

/// The list a patient is on, and its hub reason.
fn placed(response: &pb::ProposeAllocationsResponse, id: &str) -> Option<(String, String)> {
    response.sessions.iter().find_map(|s| {
        s.cases
            .iter()
            .find(|c| c.patient_id == id)
            .map(|c| (s.session_id.clone(), c.hub_reason.clone()))
    })
}

fn plan(request: &pb::ProposeAllocationsRequest) -> pb::ProposeAllocationsResponse {
    let response = propose(request.clone(), &SolveOptions::default()).expect("plans");
    assert_valid(request, &response);
    response
}

#[test]
fn a_case_that_could_be_local_goes_local_rather_than_a_week_earlier_at_the_hub() {
    let request = request(240, &[("A", false, &["HUB", "DGH"])]);
    // With no hub cost the earlier hub list is worth more, and the booking says so.
    let free = plan(&with_hub_cost(request.clone(), 0.0));
    assert_eq!(
        placed(&free, "A"),
        Some(("HUB-0104".into(), "hub_better_value".into()))
    );
    let k = free.kpis.unwrap();
    assert_eq!((k.non_complex_booked, k.non_complex_at_hubs), (1, 1));
    assert_eq!((k.hub_minutes, k.hub_minutes_complex), (60, 0));
    // With the shipped cost the local list a week later wins.
    let shipped = plan(&request);
    assert_eq!(placed(&shipped, "A"), Some(("DGH-0111".into(), String::new())));
    let k = shipped.kpis.unwrap();
    assert_eq!((k.non_complex_booked, k.non_complex_at_hubs), (1, 0));
    assert_eq!((k.hub_minutes, k.hub_minutes_complex), (0, 0));
}

#[test]
fn the_hub_takes_what_the_local_list_cannot_and_says_why() {
    // The local list has room for one 60-minute case; two could go there. A complex case and a
    // family that accepts only the hub go to the hub with no cost and no reason.
    let request = request(
        70,
        &[
            ("A", false, &["HUB", "DGH"]),
            ("B", false, &[]),
            ("C", true, &["HUB", "DGH"]),
            ("D", false, &["HUB"]),
        ],
    );
    let response = plan(&request);
    let (a, b) = (placed(&response, "A").unwrap(), placed(&response, "B").unwrap());
    let mut local_pair = [a, b];
    local_pair.sort();
    assert_eq!(
        local_pair,
        [
            ("DGH-0111".to_string(), String::new()),
            ("HUB-0104".to_string(), "no_local_capacity".to_string())
        ]
    );
    assert_eq!(placed(&response, "C"), Some(("HUB-0104".into(), String::new())));
    assert_eq!(placed(&response, "D"), Some(("HUB-0104".into(), String::new())));
    let k = response.kpis.unwrap();
    assert_eq!((k.non_complex_booked, k.non_complex_at_hubs), (2, 1));
    assert_eq!((k.hub_minutes, k.hub_minutes_complex), (180, 60));
}

#[test]
fn the_checker_recounts_the_kpis_and_judges_the_reason() {
    let request = with_hub_cost(request(240, &[("A", false, &["HUB", "DGH"])]), 0.0);
    let response = plan(&request);
    let req = PlanningRequest::try_from(request.clone()).unwrap();
    let good = from_response(&req, &response).unwrap();
    assert!(check::check(&req, &good).is_empty());
    let only_right_place = |plan| {
        let found = check::check(&req, &plan);
        assert!(!found.is_empty(), "the checker missed a broken plan");
        assert!(found.iter().all(|v| v.rule == RuleCode::RightPlace), "{found:?}");
    };
    // A count that disagrees with the request.
    let mut miscounted = good.clone();
    miscounted.kpis.non_complex_at_hubs = 0;
    only_right_place(miscounted);
    // "No local capacity" when the local list has all its minutes free.
    let mut false_reason = good.clone();
    for list in &mut false_reason.lists {
        for case in &mut list.cases {
            if case.hub_reason.is_some() {
                case.hub_reason = Some(HubReason::NoLocalCapacity);
            }
        }
    }
    only_right_place(false_reason);
}
