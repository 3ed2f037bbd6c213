//! Held worlds over a real socket: LoadWorld, desk calls that name the world by `world_id` and
//! answer exactly as with the world sent, UnloadWorld, and the refusals (unknown id, both forms,
//! an invalid world, the store's bound).

use std::collections::BTreeSet;

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::offer_dates_request::Patient;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::api::server::ServerOptions;
use theatre_optimiser::api::service::ServiceConfig;
use tonic::transport::Channel;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{held_with, sample, unbooked_child, TestServer};

/// A locked list of the sample with one booking and room left.
const GAP: &str = "RCH-1130-T1-AM";

async fn load(client: &mut TheatreOptimiserClient<Channel>, world: pb::ProposeAllocationsRequest) -> String {
    client
        .load_world(pb::LoadWorldRequest { world: Some(world) })
        .await
        .unwrap()
        .into_inner()
        .world_id
}

fn backfill(world: Option<pb::ProposeAllocationsRequest>, world_id: &str) -> pb::RecommendBackfillRequest {
    pb::RecommendBackfillRequest {
        world,
        world_id: world_id.into(),
        session_id: GAP.into(),
        free_minutes: None,
        limit: 20,
    }
}

fn offer(
    world: Option<pb::ProposeAllocationsRequest>,
    world_id: &str,
    patient: Patient,
) -> pb::OfferDatesRequest {
    pb::OfferDatesRequest {
        world,
        world_id: world_id.into(),
        patient: Some(patient),
        limit: 1_000,
    }
}

fn fields(status: &tonic::Status) -> BTreeSet<String> {
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

#[tokio::test]
async fn desk_calls_on_a_held_world_answer_as_on_the_sent_world() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let world = sample();
    let loaded = client
        .load_world(pb::LoadWorldRequest {
            world: Some(world.clone()),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(loaded.sessions as usize, world.sessions.len());
    assert_eq!(loaded.patients as usize, world.patients.len());
    assert_eq!(loaded.idle_seconds, 15 * 60);
    let id = loaded.world_id;
    assert_ne!(
        id,
        load(&mut client, world.clone()).await,
        "every load gets its own id"
    );

    let sent = client
        .recommend_backfill(backfill(Some(world.clone()), ""))
        .await
        .unwrap();
    let held = client.recommend_backfill(backfill(None, &id)).await.unwrap();
    assert!(!held.get_ref().options.is_empty());
    assert_eq!(held.into_inner(), sent.into_inner());

    // A pool patient by id, and a child not yet in the pool, validated against the held world.
    let child = unbooked_child(&world, "120");
    let by_id = Patient::PatientId(child.id.clone());
    let sent = client
        .offer_dates(offer(Some(world.clone()), "", by_id.clone()))
        .await
        .unwrap();
    let held = client.offer_dates(offer(None, &id, by_id)).await.unwrap();
    assert!(!held.get_ref().offers.is_empty());
    assert_eq!(held.into_inner(), sent.into_inner());
    let mut new = child.clone();
    new.id = "CYP-NEW".into();
    let sent = client
        .offer_dates(offer(Some(world.clone()), "", Patient::NewPatient(new.clone())))
        .await
        .unwrap();
    let held = client
        .offer_dates(offer(None, &id, Patient::NewPatient(new.clone())))
        .await
        .unwrap();
    assert_eq!(held.into_inner(), sent.into_inner());
    // The new child did not join the held world.
    let again = client
        .offer_dates(offer(None, &id, Patient::PatientId(new.id.clone())))
        .await
        .unwrap_err();
    assert_eq!(fields(&again), BTreeSet::from(["patient_id".to_string()]));

    // A plan checked on the held world: the held bookings plus one unknown patient.
    let mut lists = held_with(&world, None);
    let check =
        |world: Option<pb::ProposeAllocationsRequest>, world_id: &str, lists: Vec<pb::PlannedList>| {
            pb::CheckPlanRequest {
                world,
                world_id: world_id.into(),
                lists,
            }
        };
    let sent = client
        .check_plan(check(Some(world.clone()), "", lists.clone()))
        .await
        .unwrap();
    let held = client.check_plan(check(None, &id, lists.clone())).await.unwrap();
    assert!(held.get_ref().valid);
    assert_eq!(held.into_inner(), sent.into_inner());
    let unknown = format!("lists[0].patient_ids[{}]", lists[0].patient_ids.len());
    lists[0].patient_ids.push("NOT-IN-POOL".into());
    let refused = client.check_plan(check(None, &id, lists)).await.unwrap_err();
    assert_eq!(fields(&refused), BTreeSet::from([unknown]));

    // Unloaded: the id is unknown from then on.
    let gone = client
        .unload_world(pb::UnloadWorldRequest { world_id: id.clone() })
        .await
        .unwrap()
        .into_inner();
    assert!(gone.unloaded);
    let status = client.recommend_backfill(backfill(None, &id)).await.unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    assert!(
        !status.message().contains(&id),
        "the refusal does not echo the id"
    );
    let again = client
        .unload_world(pb::UnloadWorldRequest { world_id: id })
        .await
        .unwrap()
        .into_inner();
    assert!(!again.unloaded);
}

#[tokio::test]
async fn held_world_refusals_name_their_fields_and_the_store_keeps_its_bound() {
    let options = ServerOptions {
        service: ServiceConfig {
            max_worlds: 2,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = server.client().await;

    // An invalid world is not held: every violation under `world.`.
    let mut bad = sample();
    bad.patients[0].age_months = -1;
    bad.planning_date = "yesterday".into();
    let status = client
        .load_world(pb::LoadWorldRequest { world: Some(bad) })
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        BTreeSet::from([
            "world.planning_date".to_string(),
            "world.patients[0].age_months".to_string()
        ])
    );
    let status = client
        .load_world(pb::LoadWorldRequest { world: None })
        .await
        .unwrap_err();
    assert_eq!(fields(&status), BTreeSet::from(["world".to_string()]));

    // Both forms of the world at once.
    let id = load(&mut client, sample()).await;
    let status = client
        .recommend_backfill(backfill(Some(sample()), &id))
        .await
        .unwrap_err();
    assert_eq!(fields(&status), BTreeSet::from(["world_id".to_string()]));

    // A new patient on a held world is refused at its own paths, as on a sent world.
    let mut child = sample().patients[0].clone();
    child.id = "CYP-NEW".into();
    child.expected_minutes = 0;
    let status = client
        .offer_dates(offer(None, &id, Patient::NewPatient(child.clone())))
        .await
        .unwrap_err();
    let sent = client
        .offer_dates(offer(Some(sample()), "", Patient::NewPatient(child)))
        .await
        .unwrap_err();
    assert_eq!(
        fields(&status),
        BTreeSet::from(["new_patient.expected_minutes".to_string()])
    );
    assert_eq!(fields(&status), fields(&sent));
    let mut twin = sample().patients[1].clone();
    twin.age_months += 1;
    let status = client
        .offer_dates(offer(None, &id, Patient::NewPatient(twin)))
        .await
        .unwrap_err();
    assert_eq!(fields(&status), BTreeSet::from(["new_patient.id".to_string()]));

    // An id never given is NOT_FOUND.
    let status = client
        .recommend_backfill(backfill(None, "0123456789abcdef0123456789abcdef"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");

    // Two worlds at most: a third pushes out the least recently used.
    let second = load(&mut client, sample()).await;
    client.recommend_backfill(backfill(None, &id)).await.unwrap();
    let third = load(&mut client, sample()).await;
    let status = client
        .recommend_backfill(backfill(None, &second))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound, "{status:?}");
    for kept in [&id, &third] {
        client.recommend_backfill(backfill(None, kept)).await.unwrap();
    }
}
