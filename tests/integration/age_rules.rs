//! Children's rules from the patient's birth and procedure: procedure age windows (a due date) and
//! ex-premature infants (a hard rule), through `propose`, every plan re-checked; and an old
//! request, without the new fields, planned exactly as before them.

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::domain::{PlanningRequest, RuleCode};
use theatre_optimiser::planning::solve::SolveOptions;
use theatre_optimiser::rules::pair_reasons;

use crate::support::{assert_valid, sample};

/// The sample week as it was before the new fields and settings existed.
const OLD_REQUEST: &str = include_str!("../fixtures/sample-request-2026-11.json");
/// Its sessions as the baseline planner planned them then, as compact JSON.
const OLD_BASELINE_SESSIONS: &str = include_str!("../fixtures/sample-request-2026-11.baseline-sessions.json");

fn old_request() -> pb::ProposeAllocationsRequest {
    serde_json::from_str(OLD_REQUEST).expect("the old sample parses")
}

fn patient<'a>(r: &'a mut pb::ProposeAllocationsRequest, id: &str) -> &'a mut pb::Patient {
    r.patients
        .iter_mut()
        .find(|p| p.id == id)
        .expect("the patient is in the request")
}

/// Where a response put a patient: the list's date, or `None` when unallocated.
fn booked_on(response: &pb::ProposeAllocationsResponse, id: &str) -> Option<String> {
    response
        .sessions
        .iter()
        .find(|s| s.cases.iter().any(|c| c.patient_id == id))
        .map(|s| s.date.clone())
}

fn reasons_of(response: &pb::ProposeAllocationsResponse, id: &str) -> Vec<String> {
    response
        .unallocated
        .iter()
        .find(|u| u.patient_id == id)
        .map(|u| u.reasons.clone())
        .unwrap_or_default()
}

#[test]
fn an_old_request_plans_the_same_plan() {
    let mut request = old_request();
    assert!(request
        .patients
        .iter()
        .all(|p| p.gestation_weeks.is_none() && p.age_days.is_none() && p.treat_by.is_none()));
    // Nothing in it meets a new rule: every due date is the priority's, no pair is refused by the
    // ex-premature rule (its orchidopexy children were listed after their window had passed).
    let req = PlanningRequest::try_from(request.clone()).unwrap();
    for p in 0..req.patients.len() {
        assert_eq!(req.due_date(p), req.priority_due_date(p));
        for s in 0..req.sessions.len() {
            assert!(!pair_reasons(&req, p, s).contains(&RuleCode::ExPrematureInfant));
        }
    }
    // The baseline planner's sessions, byte for byte, as recorded before, with the settings that
    // came after the fixture at zero (the right-place cost is a policy setting, on by default).
    request.planner = pb::Planner::Baseline as i32;
    request
        .policy
        .get_or_insert_with(Default::default)
        .overrides
        .insert("objective.hub_non_complex".into(), 0.0);
    let response = propose(request.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&request, &response);
    // The same allocation; the hub reasons are an explanation that came after the fixture.
    let mut sessions = response.sessions.clone();
    for case in sessions.iter_mut().flat_map(|s| s.cases.iter_mut()) {
        case.hub_reason.clear();
    }
    assert_eq!(
        serde_json::to_string(&sessions).unwrap(),
        OLD_BASELINE_SESSIONS.trim_end()
    );
    let k = response.kpis.unwrap();
    assert_eq!((k.age_window_booked_past, k.age_window_left_past), (0, 0));
}

#[test]
fn a_missed_age_window_is_a_breach_counted_in_the_kpis() {
    let mut request = old_request();
    // 17 months, listed a month ago: orchidopexy by 18 months is due on 2026-12-23.
    let near = patient(&mut request, "CYP-0033");
    near.age_months = 17;
    near.date_listed = "2026-10-23".into();
    // The clinician asks for a date before every list: booked or not, the window is missed (a P4
    // child, who had no due date before).
    patient(&mut request, "CYP-0024").treat_by = Some("2026-11-24".into());
    let response = propose(request.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&request, &response);
    let k = response.kpis.clone().unwrap();
    // (booked past, left past) of one child whose window closes on `closes`.
    let past = |id: &str, closes: &str| -> (i32, i32) {
        match booked_on(&response, id) {
            Some(date) => (i32::from(date.as_str() > closes), 0),
            None => (0, 1),
        }
    };
    let (a, b) = (past("CYP-0033", "2026-12-23"), past("CYP-0024", "2026-11-24"));
    assert_eq!(
        (k.age_window_booked_past, k.age_window_left_past),
        (a.0 + b.0, a.1 + b.1)
    );
    assert!(k.age_window_booked_past + k.age_window_left_past >= 1);
    // A missed window is a due-date breach like any other.
    assert!(k.due_date_breaches >= k.age_window_booked_past + k.age_window_left_past);
    // The child near its window is planned inside it when a list takes it in time.
    assert!(booked_on(&response, "CYP-0033").is_none_or(|d| d.as_str() <= "2026-12-23"));
}

#[test]
fn an_ex_premature_infant_goes_only_where_it_can_be_watched() {
    let request = sample();
    let response = propose(request.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&request, &response);
    // In the sample week, the ex-premature infants are booked, at the specialist centre.
    for id in ["CYP-0053", "CYP-0054"] {
        let list = response
            .sessions
            .iter()
            .find(|s| s.cases.iter().any(|c| c.patient_id == id));
        if let Some(list) = list {
            assert_eq!(list.site_id, "RCH", "{id}");
        }
    }
    assert!(booked_on(&response, "CYP-0053").is_some());

    // No list with a paediatric anaesthetist, and local age rules that would let an infant go
    // anywhere: the infant born at 29 weeks is refused by its own rule, and only by it.
    let mut no_anaesthetist = request.clone();
    for s in &mut no_anaesthetist.sessions {
        s.paediatric_anaesthetist = false;
    }
    let policy = no_anaesthetist.policy.get_or_insert_with(Default::default);
    policy
        .overrides
        .insert("age.paediatric_anaesthetist_under_months".into(), 0.0);
    policy
        .overrides
        .insert("age.specialist_centre_under_months".into(), 0.0);
    let refused = propose(no_anaesthetist.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&no_anaesthetist, &refused);
    assert_eq!(booked_on(&refused, "CYP-0053"), None);
    assert!(reasons_of(&refused, "CYP-0053").contains(&"ex_premature_infant".to_string()));
    // The same world without its gestation on record: the rule does not apply, and it is booked.
    let mut unknown = no_anaesthetist.clone();
    patient(&mut unknown, "CYP-0053").gestation_weeks = None;
    let booked = propose(unknown.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&unknown, &booked);
    assert!(!reasons_of(&booked, "CYP-0053").contains(&"ex_premature_infant".to_string()));
    assert!(booked_on(&booked, "CYP-0053").is_some());
}
