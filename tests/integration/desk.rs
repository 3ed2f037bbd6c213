//! The booking desk over a real socket: RecommendBackfill, OfferDates, CheckPlan and
//! ValidateRequest, their refusals with field paths, and the size refusal's details.

use std::collections::BTreeSet;

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::api::server::ServerOptions;
use theatre_optimiser::api::service::ServiceConfig;
use tonic::transport::Channel;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use crate::support::{held_with, objective, sample, unbooked_child, TestServer};

/// A locked list of the sample with one booking and room left.
const GAP: &str = "RCH-1130-T1-AM";

fn fields(status: &Status) -> BTreeSet<String> {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    status
        .get_error_details()
        .bad_request()
        .expect("BadRequest details")
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect()
}

fn set(fields: &[&str]) -> BTreeSet<String> {
    fields.iter().map(|f| f.to_string()).collect()
}

async fn check(
    client: &mut TheatreOptimiserClient<Channel>,
    lists: Vec<pb::PlannedList>,
) -> pb::CheckPlanResponse {
    client
        .check_plan(pb::CheckPlanRequest {
            world: Some(sample()),
            lists,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
}

#[tokio::test]
async fn backfill_options_keep_the_list_and_pass_the_checker() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let world = sample();
    let held: Vec<&str> = world
        .existing_bookings
        .iter()
        .filter(|b| b.session_id == GAP)
        .map(|b| b.patient_id.as_str())
        .collect();
    assert!(!held.is_empty());
    let answer = client
        .recommend_backfill(pb::RecommendBackfillRequest {
            world: Some(world.clone()),
            session_id: GAP.into(),
            free_minutes: None,
            limit: 8,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.session_id, GAP);
    assert!(answer.free_minutes > 0 && answer.eligible > 0);
    assert!(!answer.options.is_empty() && answer.options.len() <= 8);
    assert!(answer.options.iter().any(|o| o.patient_ids.len() >= 2));
    assert!(answer
        .options
        .windows(2)
        .all(|w| w[0].objective_gain >= w[1].objective_gain));
    assert!(check(&mut client, held_with(&world, None)).await.valid);
    for o in &answer.options {
        assert!(o.minutes <= answer.free_minutes);
        let list = o.list.as_ref().unwrap();
        let on: Vec<&str> = list.cases.iter().map(|c| c.patient_id.as_str()).collect();
        assert!(held.iter().all(|p| on.contains(p)), "nobody held moves");
        assert_eq!(on.len(), held.len() + o.patient_ids.len());
        let verdict = check(&mut client, held_with(&world, Some(list))).await;
        assert!(verdict.valid, "{:?}", verdict.violations);
    }

    // A narrower window: fewer minutes, and what does not fit is told as capacity.
    let narrow = client
        .recommend_backfill(pb::RecommendBackfillRequest {
            world: Some(world),
            session_id: GAP.into(),
            free_minutes: Some(40),
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(narrow.free_minutes, 40);
    assert!(narrow.options.iter().all(|o| o.minutes <= 40));
    assert!(narrow.not_eligible.iter().any(|n| n.reason == "capacity"));
}

#[tokio::test]
async fn offers_for_a_pool_patient_and_a_new_one_agree() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let world = sample();
    let child = unbooked_child(&world, "120");
    let by_id = client
        .offer_dates(pb::OfferDatesRequest {
            world: Some(world.clone()),
            patient: Some(pb::offer_dates_request::Patient::PatientId(child.id.clone())),
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!by_id.offers.is_empty());
    let ruled: i32 = by_id.ruled_out.iter().map(|r| r.lists).sum();
    assert_eq!(ruled + by_id.offers.len() as i32, by_id.lists_considered);
    let specialty: BTreeSet<&str> = world
        .sessions
        .iter()
        .filter(|s| s.specialty == child.specialty)
        .map(|s| s.id.as_str())
        .collect();
    for o in &by_id.offers {
        assert!(specialty.contains(o.session_id.as_str()));
        assert!(o.position >= 1 && o.start_time < o.end_time);
    }

    // The same child sent as a new patient (another id) gets the same lists at the same value.
    let mut new = child.clone();
    new.id = "CYP-NEW".into();
    let mut without = world.clone();
    without.patients.retain(|p| p.id != child.id);
    let as_new = client
        .offer_dates(pb::OfferDatesRequest {
            world: Some(without),
            patient: Some(pb::offer_dates_request::Patient::NewPatient(new)),
            limit: 1_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let lists = |a: &pb::OfferDatesResponse| -> Vec<(String, f64)> {
        a.offers
            .iter()
            .map(|o| (o.session_id.clone(), o.objective_gain))
            .collect()
    };
    assert_eq!(lists(&as_new), lists(&by_id));
}

#[tokio::test]
async fn the_optimisers_plan_checks_valid_with_its_own_objective_and_a_broken_one_does_not() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let world = sample();
    let plan = client
        .propose_allocations(world.clone())
        .await
        .unwrap()
        .into_inner();
    let lists: Vec<pb::PlannedList> = plan
        .sessions
        .iter()
        .map(|s| pb::PlannedList {
            session_id: s.session_id.clone(),
            patient_ids: s.cases.iter().map(|c| c.patient_id.clone()).collect(),
        })
        .collect();
    let verdict = check(&mut client, lists.clone()).await;
    assert!(verdict.valid, "{:?}", verdict.violations);
    assert!((verdict.objective - objective(&plan)).abs() < 1e-6);
    assert_eq!(verdict.kpis, plan.kpis);

    // The first case of an ENT list moved to the end of a list of another specialty.
    let mut broken = lists;
    let from = broken.iter().position(|l| !l.patient_ids.is_empty()).unwrap();
    let specialty_of = |id: &str| {
        world
            .sessions
            .iter()
            .find(|s| s.id == id)
            .unwrap()
            .specialty
            .clone()
    };
    let to = broken
        .iter()
        .position(|l| specialty_of(&l.session_id) != specialty_of(&broken[from].session_id))
        .unwrap();
    let moved = broken[from].patient_ids.remove(0);
    broken[to].patient_ids.push(moved.clone());
    let verdict = check(&mut client, broken.clone()).await;
    assert!(!verdict.valid);
    let v = verdict
        .violations
        .iter()
        .find(|v| v.rule == "specialty_mismatch")
        .expect("the wrong specialty is found");
    assert_eq!(v.session_id, broken[to].session_id);
    assert_eq!(v.patient_id, moved);
    assert!(v.position >= 1);
}

#[tokio::test]
async fn validation_answers_ok_with_the_violations_as_data() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let ok = client
        .validate_request(pb::ValidateRequestRequest {
            world: Some(sample()),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(ok.valid && ok.violations.is_empty());

    let mut bad = sample();
    bad.patients[3].age_months = -1;
    bad.sessions[2].minutes = 0;
    bad.planning_date = "1 Dec".into();
    let verdict = client
        .validate_request(pb::ValidateRequestRequest { world: Some(bad) })
        .await
        .unwrap()
        .into_inner();
    assert!(!verdict.valid);
    let found: BTreeSet<String> = verdict.violations.iter().map(|v| v.field.clone()).collect();
    for f in [
        "world.patients[3].age_months",
        "world.sessions[2].minutes",
        "world.planning_date",
    ] {
        assert!(found.contains(f), "{f} in {found:?}");
    }
}

#[tokio::test]
async fn bad_desk_requests_are_refused_with_every_field_path() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let status = client
        .recommend_backfill(pb::RecommendBackfillRequest {
            world: Some(sample()),
            session_id: "NO-SUCH-LIST".into(),
            free_minutes: Some(0),
            limit: 0,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), set(&["session_id", "free_minutes", "limit"]));

    let status = client
        .recommend_backfill(pb::RecommendBackfillRequest {
            world: None,
            session_id: GAP.into(),
            free_minutes: None,
            limit: 1_001,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), set(&["session_id", "world", "limit"]));

    let mut world = sample();
    let existing = world.patients[0].clone();
    world.patients[1].expected_minutes = 0;
    let status = client
        .offer_dates(pb::OfferDatesRequest {
            world: Some(world.clone()),
            patient: Some(pb::offer_dates_request::Patient::NewPatient(existing)),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        set(&["new_patient.id", "world.patients[1].expected_minutes"])
    );

    let mut new = sample().patients[0].clone();
    new.id = "CYP-NEW".into();
    new.age_months = -3;
    let status = client
        .offer_dates(pb::OfferDatesRequest {
            world: Some(sample()),
            patient: Some(pb::offer_dates_request::Patient::NewPatient(new)),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), set(&["new_patient.age_months"]));

    let status = client
        .offer_dates(pb::OfferDatesRequest {
            world: Some(sample()),
            patient: Some(pb::offer_dates_request::Patient::PatientId("NOBODY".into())),
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), set(&["patient_id"]));

    let world = sample();
    let (a, b) = (world.patients[0].id.clone(), world.patients[1].id.clone());
    let status = client
        .check_plan(pb::CheckPlanRequest {
            world: Some(world),
            lists: vec![
                pb::PlannedList {
                    session_id: GAP.into(),
                    patient_ids: vec![a.clone(), b],
                },
                pb::PlannedList {
                    session_id: "NO-SUCH-LIST".into(),
                    patient_ids: vec!["NOBODY".into(), a.clone()],
                },
                pb::PlannedList {
                    session_id: GAP.into(),
                    patient_ids: vec![],
                },
            ],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        set(&[
            "lists[1].session_id",
            "lists[1].patient_ids[0]",
            "lists[1].patient_ids[1]",
            "lists[2].session_id"
        ])
    );
    for v in &status.get_error_details().bad_request().unwrap().field_violations {
        assert!(!v.description.contains(&a), "no patient id in a refusal");
    }
}

#[tokio::test]
async fn the_size_refusal_names_its_field_and_limit() {
    let options = ServerOptions {
        service: ServiceConfig {
            max_sessions: 10,
            max_patients: 40,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    let status = client.propose_allocations(sample()).await.unwrap_err();
    assert_eq!(fields(&status), set(&["sessions"]));
    let details = status.get_error_details();
    let v = &details.bad_request().unwrap().field_violations[0];
    assert!(
        v.description.contains("16") && v.description.contains("10"),
        "{}",
        v.description
    );

    let mut fewer = sample();
    fewer.sessions.truncate(10);
    fewer.existing_bookings.clear();
    let status = client
        .recommend_backfill(pb::RecommendBackfillRequest {
            world: Some(fewer),
            session_id: GAP.into(),
            free_minutes: None,
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), set(&["patients"]));
    let details = status.get_error_details();
    assert!(details.bad_request().unwrap().field_violations[0]
        .description
        .contains("40"));
}

// The command line ---------------------------------------------------------------------------

use crate::support::files::{run, scratch};

fn read<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> T {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn export_then_import_round_trips_the_bookings() {
    let dir = scratch("desk-export");
    let (plan_path, lists, unallocated, back) = (
        dir.join("plan.json"),
        dir.join("lists.csv"),
        dir.join("unallocated.csv"),
        dir.join("back.json"),
    );
    let p = |path: &std::path::PathBuf| path.to_str().unwrap().to_string();
    run(&[
        "solve",
        "--request",
        "examples/sample-request.json",
        "--out",
        &p(&plan_path),
    ]);
    run(&[
        "export",
        "--plan",
        &p(&plan_path),
        "--format",
        "csv",
        "--request",
        "examples/sample-request.json",
        "--out",
        &p(&lists),
        "--unallocated",
        &p(&unallocated),
    ]);
    run(&[
        "import",
        "--sessions",
        "examples/csv/sessions.csv",
        "--patients",
        "examples/csv/ptl.csv",
        "--sites",
        "examples/csv/sites.csv",
        "--bookings",
        &p(&lists),
        "--planning-date",
        "2026-11-23",
        "--out",
        &p(&back),
    ]);
    let plan: pb::ProposeAllocationsResponse = read(&plan_path);
    let imported: pb::ProposeAllocationsRequest = read(&back);
    let world = sample();
    let confirmed: BTreeSet<(&str, &str)> = world
        .existing_bookings
        .iter()
        .filter(|b| b.state == pb::BookingState::Confirmed as i32)
        .map(|b| (b.patient_id.as_str(), b.session_id.as_str()))
        .collect();
    let expected: BTreeSet<(String, String, i32)> = plan
        .sessions
        .iter()
        .flat_map(|s| {
            s.cases.iter().map(|c| {
                let state = if confirmed.contains(&(c.patient_id.as_str(), s.session_id.as_str())) {
                    pb::BookingState::Confirmed
                } else {
                    pb::BookingState::Offered
                };
                (c.patient_id.clone(), s.session_id.clone(), state as i32)
            })
        })
        .collect();
    let got: BTreeSet<(String, String, i32)> = imported
        .existing_bookings
        .iter()
        .map(|b| (b.patient_id.clone(), b.session_id.clone(), b.state))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert_eq!(imported.existing_bookings.len(), expected.len());
    assert_eq!(
        (imported.sessions, imported.patients),
        (world.sessions, world.patients)
    );

    let rows = std::fs::read_to_string(&unallocated).unwrap();
    assert!(rows.starts_with("patient_id,priority,specialty,reasons,detail"));
    assert_eq!(rows.lines().count(), plan.unallocated.len() + 1);
    let lists_text = std::fs::read_to_string(&lists).unwrap();
    assert!(lists_text.starts_with(
        "session_id,site_id,theatre,date,position,start_time,end_time,patient_id,procedure,priority,state"
    ));
}

#[test]
fn desk_commands_answer_on_the_services_path() {
    let dir = scratch("desk-commands");
    let out = dir.join("backfill.json");
    run(&[
        "backfill",
        "--request",
        "examples/sample-request.json",
        "--session",
        GAP,
        "--limit",
        "3",
        "--out",
        out.to_str().unwrap(),
    ]);
    let backfill: pb::RecommendBackfillResponse = read(&out);
    let direct = theatre_optimiser::api::desk::recommend_backfill(
        pb::RecommendBackfillRequest {
            world: Some(sample()),
            session_id: GAP.into(),
            free_minutes: None,
            limit: 3,
            ..Default::default()
        },
        None,
    )
    .unwrap();
    assert_eq!(backfill, direct);

    let child = &sample().patients[4].id;
    let offers = run(&[
        "offer",
        "--request",
        "examples/sample-request.json",
        "--patient",
        child,
    ]);
    let offers: pb::OfferDatesResponse = serde_json::from_slice(&offers.stdout).unwrap();
    assert!(offers.lists_considered > 0);

    let plan = dir.join("plan.json");
    run(&[
        "solve",
        "--request",
        "examples/sample-request.json",
        "--out",
        plan.to_str().unwrap(),
    ]);
    let verdict = run(&[
        "check",
        "--request",
        "examples/sample-request.json",
        "--plan",
        plan.to_str().unwrap(),
    ]);
    let verdict: pb::CheckPlanResponse = serde_json::from_slice(&verdict.stdout).unwrap();
    assert!(verdict.valid);

    let valid = run(&["validate", "--request", "examples/sample-request.json"]);
    assert_eq!(String::from_utf8(valid.stdout).unwrap().trim(), "valid");
}
