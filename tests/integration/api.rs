//! The service over a real socket: plans, errors with field paths, health, reflection, streaming,
//! scenarios, auth.

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::ServerOptions;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{assert_valid, objective, sample, TestServer};

#[tokio::test]
async fn the_sample_is_planned_over_grpc_and_passes_the_checker() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let request = sample();
    let plan = client
        .propose_allocations(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(plan.status, pb::PlanStatus::Optimal as i32);
    assert_eq!(plan.planner, pb::Planner::Optimiser as i32);
    assert!(plan.kpis.as_ref().unwrap().booked > 0);
    let stats = plan.solver.as_ref().unwrap();
    assert!(stats.objective >= stats.baseline_objective - 1e-9);
    assert!(stats.best_bound >= stats.objective - 1e-6);
    assert_valid(&request, &plan);
}

#[tokio::test]
async fn the_baseline_planner_is_selectable_and_never_better() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let mut request = sample();
    request.planner = pb::Planner::Baseline as i32;
    let baseline = client
        .propose_allocations(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(baseline.planner, pb::Planner::Baseline as i32);
    assert_eq!(baseline.status, pb::PlanStatus::Feasible as i32);
    assert_valid(&request, &baseline);
    request.planner = pb::Planner::Optimiser as i32;
    let optimised = client
        .propose_allocations(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert!(objective(&optimised) >= objective(&baseline) - 1e-9);
    assert!((optimised.solver.unwrap().baseline_objective - objective(&baseline)).abs() < 1e-6);
}

#[tokio::test]
async fn bad_requests_get_invalid_argument_with_every_field_path() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let mut request = sample();
    request.planning_date = "2026-02-30".into();
    request.sessions[1].minutes = 0;
    request.patients[3].priority = 0;
    let status = client.propose_allocations(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let details = status.get_error_details();
    let fields: Vec<String> = details
        .bad_request()
        .unwrap()
        .field_violations
        .iter()
        .map(|v| v.field.clone())
        .collect();
    assert!(fields.contains(&"planning_date".to_string()), "{fields:?}");
    assert!(fields.contains(&"sessions[1].minutes".to_string()), "{fields:?}");
    assert!(fields.contains(&"patients[3].priority".to_string()), "{fields:?}");
    // No patient id is echoed.
    assert!(!status.message().contains("CYP-"));
    for v in &details.bad_request().unwrap().field_violations {
        assert!(!v.description.contains("CYP-"));
    }
}

#[tokio::test]
async fn health_reports_serving_and_reflection_lists_the_service() {
    use tonic_health::pb::health_client::HealthClient;
    use tonic_health::pb::HealthCheckRequest;
    let server = TestServer::start(ServerOptions::default()).await;
    let channel = tonic::transport::Channel::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel.clone());
    let reply = health
        .check(HealthCheckRequest {
            service: "theatre.optimiser.v1.TheatreOptimiser".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.status, 1, "SERVING");

    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let mut reflection = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = reflection
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let reply = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("no list")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    assert!(
        names.contains(&"theatre.optimiser.v1.TheatreOptimiser".to_string()),
        "{names:?}"
    );
    assert!(names.contains(&"grpc.health.v1.Health".to_string()), "{names:?}");

    // The v1alpha protocol too (what grpcurl asks for first on older versions).
    use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient as AlphaClient;
    use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest as AlphaRequest;
    use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse as AlphaResponse;
    let channel = tonic::transport::Channel::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut alpha = AlphaClient::new(channel);
    let request = tonic_reflection::pb::v1alpha::ServerReflectionRequest {
        host: String::new(),
        message_request: Some(AlphaRequest::ListServices(String::new())),
    };
    let mut stream = alpha
        .server_reflection_info(tokio_stream::iter(vec![request]))
        .await
        .unwrap()
        .into_inner();
    let reply = stream.message().await.unwrap().unwrap();
    let Some(AlphaResponse::ListServicesResponse(list)) = reply.message_response else {
        panic!("no list")
    };
    assert!(list
        .service
        .iter()
        .any(|s| s.name == "theatre.optimiser.v1.TheatreOptimiser"));
}

#[tokio::test]
async fn the_stream_sends_progress_then_the_plan() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let request = sample();
    let mut stream = client
        .propose_allocations_stream(request.clone())
        .await
        .unwrap()
        .into_inner();
    let mut progress = 0;
    let mut plan = None;
    while let Some(event) = stream.message().await.unwrap() {
        match event.event.unwrap() {
            pb::propose_allocations_event::Event::Progress(p) => {
                assert!(plan.is_none(), "progress after the plan");
                assert!(p.best_bound >= p.best_objective - 1e-6);
                progress += 1;
            }
            pb::propose_allocations_event::Event::Plan(p) => plan = Some(p),
        }
    }
    assert!(progress >= 1);
    assert_valid(&request, &plan.expect("a plan at the end"));
}

#[tokio::test]
async fn scenarios_compare_against_the_base() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server.client().await;
    let mut base = sample();
    // Solved to optimality (no gap), so the comparisons below are exact.
    base.policy.get_or_insert_with(Default::default).relative_gap = Some(0.0);
    let close = pb::ScenarioChange {
        change: Some(pb::scenario_change::Change::Close(pb::CloseTheatre {
            site_id: "DGH".into(),
            theatre: String::new(),
            dates: Some(pb::DateRange {
                from: "2026-12-14".into(),
                to: "2026-12-18".into(),
            }),
        })),
    };
    let mut saturday = base
        .sessions
        .iter()
        .find(|s| s.id == "RCH-1215-T2-AM")
        .unwrap()
        .clone();
    saturday.id = "RCH-1219-T2-SAT".into();
    saturday.date = "2027-01-16".into();
    let add = pb::ScenarioChange {
        change: Some(pb::scenario_change::Change::AddSession(saturday)),
    };
    let request = pb::CompareScenariosRequest {
        base: Some(base),
        scenarios: vec![
            pb::Scenario {
                name: "close DGH week".into(),
                changes: vec![close],
            },
            pb::Scenario {
                name: "Saturday list".into(),
                changes: vec![add],
            },
        ],
    };
    let reply = client.compare_scenarios(request).await.unwrap().into_inner();
    let base_plan = reply.base.unwrap().plan.unwrap();
    assert_eq!(reply.scenarios.len(), 2);
    let closed = &reply.scenarios[0];
    let added = &reply.scenarios[1];
    let closed_plan = closed.plan.as_ref().unwrap();
    let added_plan = added.plan.as_ref().unwrap();
    // Both solved to optimality: closing lists never raises the value, adding one never lowers it.
    assert_eq!(closed_plan.status, pb::PlanStatus::Optimal as i32);
    assert_eq!(added_plan.status, pb::PlanStatus::Optimal as i32);
    let tol = 1e-6 + 0.01 * objective(&base_plan).abs();
    assert!(objective(closed_plan) <= objective(&base_plan) + tol);
    assert!(objective(added_plan) >= objective(&base_plan) - tol);
    // Deltas add up.
    let d = closed.delta.as_ref().unwrap();
    let k = |p: &pb::ProposeAllocationsResponse| p.kpis.clone().unwrap();
    assert_eq!(d.booked, k(closed_plan).booked - k(&base_plan).booked);
    assert_eq!(closed.gained.len() as i32 - closed.lost.len() as i32, d.booked);
    assert!((d.objective - (objective(closed_plan) - objective(&base_plan))).abs() < 1e-5);
}

#[tokio::test]
async fn a_token_is_required_when_configured() {
    let options = ServerOptions {
        token: Some("s3cret".into()),
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = server.client().await;
    let err = client.propose_allocations(sample()).await.unwrap_err();
    assert_eq!(err.code(), Code::Unauthenticated);
    let mut request = tonic::Request::new(sample());
    request
        .metadata_mut()
        .insert("authorization", "Bearer wrong".parse().unwrap());
    assert_eq!(
        client.propose_allocations(request).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    let mut request = tonic::Request::new(sample());
    request
        .metadata_mut()
        .insert("authorization", "Bearer s3cret".parse().unwrap());
    assert!(client.propose_allocations(request).await.is_ok());
}
