//! Every validation rule: a mutation of the sample and the field path it must be reported at.

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::domain::PlanningRequest;

use crate::support::sample;

type Mutation = fn(&mut pb::ProposeAllocationsRequest);

fn violations(request: pb::ProposeAllocationsRequest) -> Vec<(String, String)> {
    match PlanningRequest::try_from(request) {
        Ok(_) => vec![],
        Err(e) => e.0.into_iter().map(|v| (v.field, v.description)).collect(),
    }
}

fn released_session(r: &pb::ProposeAllocationsRequest) -> String {
    r.sessions
        .iter()
        .find(|s| s.status == pb::SessionStatus::Released as i32)
        .unwrap()
        .id
        .clone()
}

const CASES: &[(&str, Mutation)] = &[
    ("planning_date", |r| r.planning_date.clear()),
    ("planning_date", |r| r.planning_date = "2027-02-30".into()),
    ("planning_date", |r| r.planning_date = "23/11/2026".into()),
    ("planning_date", |r| r.planning_date = "1800-01-01".into()),
    ("sites", |r| r.sites.clear()),
    ("sites[1].id", |r| r.sites[1].id = r.sites[0].id.clone()),
    ("sites[0].id", |r| r.sites[0].id = "x".repeat(200)),
    ("sessions[1].id", |r| r.sessions[1].id = r.sessions[0].id.clone()),
    ("sessions[0].id", |r| r.sessions[0].id.clear()),
    ("sessions[0].site_id", |r| {
        r.sessions[0].site_id = "NOWHERE".into()
    }),
    ("sessions[0].theatre", |r| r.sessions[0].theatre.clear()),
    ("sessions[0].date", |r| r.sessions[0].date = "2026-11-01".into()),
    ("sessions[0].date", |r| r.sessions[0].date = "2030-01-01".into()),
    ("sessions[0].start_time", |r| {
        r.sessions[0].start_time = "8:30am".into()
    }),
    ("sessions[0].start_time", |r| {
        r.sessions[0].start_time = "25:00".into()
    }),
    ("sessions[0].minutes", |r| r.sessions[0].minutes = 0),
    ("sessions[0].minutes", |r| r.sessions[0].minutes = -240),
    ("sessions[0].minutes", |r| {
        r.sessions[0].start_time = "22:00".into();
        r.sessions[0].minutes = 240
    }),
    ("sessions[0].specialty", |r| r.sessions[0].specialty.clear()),
    ("sessions[0].surgeon", |r| {
        r.sessions[0].surgeon = Some(String::new())
    }),
    ("sessions[0].list_type", |r| r.sessions[0].list_type = 0),
    ("sessions[0].list_type", |r| r.sessions[0].list_type = 42),
    ("sessions[0].min_age_months", |r| {
        r.sessions[0].min_age_months = Some(60);
        r.sessions[0].max_age_months = Some(12)
    }),
    ("sessions[0].max_age_months", |r| {
        r.sessions[0].max_age_months = Some(-1)
    }),
    ("sessions[0].reserved_minutes", |r| {
        r.sessions[0].reserved_minutes = -5
    }),
    ("sessions[0].reserved_minutes", |r| {
        r.sessions[0].reserved_minutes = 500
    }),
    ("sessions[0].status", |r| r.sessions[0].status = 0),
    ("sessions[0].cases_per_list_target", |r| {
        r.sessions[0].cases_per_list_target = Some(101)
    }),
    ("sessions[0].hvlc_group", |r| {
        r.sessions[0].hvlc_group = Some("knees".into())
    }),
    ("patients[1].id", |r| r.patients[1].id = r.patients[0].id.clone()),
    ("patients[0].id", |r| r.patients[0].id = "tab\there".into()),
    ("patients[0].specialty", |r| r.patients[0].specialty = "  ".into()),
    ("patients[0].procedure", |r| {
        r.patients[0].procedure = "tonsils".into()
    }),
    ("patients[0].expected_minutes", |r| {
        r.patients[0].expected_minutes = 0
    }),
    ("patients[0].expected_minutes", |r| {
        r.patients[0].expected_minutes = 600
    }),
    ("patients[0].age_months", |r| r.patients[0].age_months = -1),
    ("patients[0].priority", |r| r.patients[0].priority = 0),
    ("patients[0].priority", |r| r.patients[0].priority = 9),
    ("patients[0].date_listed", |r| {
        r.patients[0].date_listed = "2027-01-01".into()
    }),
    ("patients[0].rtt_clock_start", |r| {
        r.patients[0].rtt_clock_start = "2026-13-01".into()
    }),
    ("patients[0].rtt_clock_start", |r| {
        r.patients[0].rtt_clock_start = "2026-12-01".into()
    }),
    ("patients[0].preop", |r| r.patients[0].preop = None),
    ("patients[0].preop.status", |r| {
        r.patients[0].preop = Some(pb::PreopAssessment {
            status: 0,
            date: None,
        })
    }),
    ("patients[0].preop.date", |r| {
        r.patients[0].preop = Some(pb::PreopAssessment {
            status: pb::PreopStatus::Completed as i32,
            date: None,
        })
    }),
    ("patients[0].preop.date", |r| {
        r.patients[0].preop = Some(pb::PreopAssessment {
            status: pb::PreopStatus::Completed as i32,
            date: Some("2026-12-24".into()),
        })
    }),
    ("patients[0].accepted_site_ids[1]", |r| {
        r.patients[0].accepted_site_ids = vec!["RCH".into(), "MARS".into()]
    }),
    ("patients[0].accepted_site_ids[1]", |r| {
        r.patients[0].accepted_site_ids = vec!["RCH".into(), "RCH".into()]
    }),
    ("patients[0].unavailable[0]", |r| {
        r.patients[0].unavailable = vec![pb::DateRange {
            from: "2026-12-10".into(),
            to: "2026-12-01".into(),
        }]
    }),
    ("patients[0].unavailable[0].to", |r| {
        r.patients[0].unavailable = vec![pb::DateRange {
            from: "2026-12-10".into(),
            to: String::new(),
        }]
    }),
    ("existing_bookings[0].patient_id", |r| {
        r.existing_bookings[0].patient_id = "nobody".into()
    }),
    ("existing_bookings[0].session_id", |r| {
        r.existing_bookings[0].session_id = "nothing".into()
    }),
    ("existing_bookings[0].session_id", |r| {
        r.existing_bookings[0].session_id = released_session(r)
    }),
    ("existing_bookings[0].state", |r| r.existing_bookings[0].state = 0),
    ("existing_bookings[1].patient_id", |r| {
        r.existing_bookings[1].patient_id = r.existing_bookings[0].patient_id.clone()
    }),
    ("existing_bookings[1].session_id", |r| {
        // Two held cases of 11 hours on one list from 08:30 run past midnight.
        let session = r.existing_bookings[0].session_id.clone();
        r.existing_bookings[1].session_id = session.clone();
        for b in r.existing_bookings.clone() {
            let p = r.patients.iter_mut().find(|p| p.id == b.patient_id).unwrap();
            p.expected_minutes = 660;
        }
        let held = r.sessions.iter_mut().find(|s| s.id == session).unwrap();
        held.start_time = "08:30".into();
        held.minutes = 900;
    }),
    ("policy.profile", |r| {
        r.policy = Some(pb::Policy {
            profile: "nope".into(),
            ..Default::default()
        })
    }),
    ("policy.overrides[objective.nope]", |r| {
        r.policy = Some(pb::Policy {
            overrides: [("objective.nope".to_string(), 1.0)].into(),
            ..Default::default()
        })
    }),
    ("policy.overrides[objective.breach]", |r| {
        r.policy = Some(pb::Policy {
            overrides: [("objective.breach".to_string(), f64::NAN)].into(),
            ..Default::default()
        })
    }),
    ("policy.time_limit_seconds", |r| {
        r.policy = Some(pb::Policy {
            time_limit_seconds: Some(-1.0),
            ..Default::default()
        })
    }),
    ("policy.relative_gap", |r| {
        r.policy = Some(pb::Policy {
            relative_gap: Some(f64::INFINITY),
            ..Default::default()
        })
    }),
    ("planner", |r| r.planner = 7),
];

#[test]
fn the_sample_is_valid() {
    assert_eq!(violations(sample()), vec![]);
}

#[test]
fn every_validation_rule_reports_its_field_path() {
    for (i, (field, mutate)) in CASES.iter().enumerate() {
        let mut request = sample();
        mutate(&mut request);
        let found = violations(request);
        assert!(
            found.iter().any(|(f, _)| f == field),
            "case {i}: expected a violation at {field}, got {found:?}"
        );
    }
}

#[test]
fn every_violation_is_reported_at_once() {
    let mut request = sample();
    for (_, mutate) in CASES.iter().take(3).chain(CASES.iter().skip(15).take(3)) {
        mutate(&mut request);
    }
    request.patients[5].expected_minutes = -1;
    request.patients[7].age_months = 5000;
    let found = violations(request);
    for field in [
        "planning_date",
        "sessions[0].minutes",
        "patients[5].expected_minutes",
        "patients[7].age_months",
    ] {
        assert!(
            found.iter().any(|(f, _)| f == field),
            "{field} missing from {found:?}"
        );
    }
}

#[test]
fn messages_never_echo_patient_ids_or_dates() {
    let mut request = sample();
    request.patients[0].date_listed = "2027-01-01".into();
    request.patients[1].id = request.patients[0].id.clone();
    request.existing_bookings[0].patient_id = "CYP-9999".into();
    for (_, description) in violations(request) {
        assert!(!description.contains("CYP-"), "{description}");
        assert!(!description.contains("2027-01-01"), "{description}");
    }
}

#[test]
fn json_rejects_unknown_fields_and_wrong_types() {
    let mut value: serde_json::Value = serde_json::from_str(crate::support::SAMPLE).unwrap();
    value["patients"][0]["shoeSize"] = 3.into();
    assert!(serde_json::from_value::<pb::ProposeAllocationsRequest>(value).is_err());
    let mut value: serde_json::Value = serde_json::from_str(crate::support::SAMPLE).unwrap();
    value["sessions"][0]["minutes"] = "a lot".into();
    assert!(serde_json::from_value::<pb::ProposeAllocationsRequest>(value).is_err());
    assert!(serde_json::from_str::<pb::ProposeAllocationsRequest>("{\"planningDate\": ").is_err());
}

#[test]
fn request_and_response_round_trip_through_canonical_json() {
    let request = sample();
    let text = serde_json::to_string(&request).unwrap();
    let back: pb::ProposeAllocationsRequest = serde_json::from_str(&text).unwrap();
    assert_eq!(back, request);
    // snake_case names are accepted too.
    let snake = text.replace("planningDate", "planning_date");
    assert_eq!(
        serde_json::from_str::<pb::ProposeAllocationsRequest>(&snake).unwrap(),
        request
    );

    let response = theatre_optimiser::api::propose(request, &Default::default()).unwrap();
    let text = serde_json::to_string(&response).unwrap();
    let back: pb::ProposeAllocationsResponse = serde_json::from_str(&text).unwrap();
    assert_eq!(back, response);
    assert!(
        text.contains("\"status\":\"PLAN_STATUS_OPTIMAL\""),
        "enums as names"
    );
}
