//! The plan checker stands between the solver and every answer: a solver that plants a fault
//! behind the real pipeline (validation, checker, baseline fallback, conversion) never gets its
//! plan out, through the in-process path the command line uses or through any RPC.

use std::collections::BTreeSet;
use std::sync::Arc;

use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::ServerOptions;
use theatre_optimiser::api::service::{OptimiserService, ServiceConfig};
use theatre_optimiser::api::{self, Solver};
use theatre_optimiser::check;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::solve::plan;
use theatre_optimiser::planning::SolveOptions;
use tonic::Code;

use crate::support::planting::{is_checked_baseline, lose_a_patient, planting_with};
use crate::support::{sample, streamed_plan, TestServer};

fn planting(broken: &'static [PlannerKind]) -> Arc<Solver> {
    planting_with(broken, lose_a_patient)
}

/// The rule codes the checker finds in the planted plan of `request`.
fn planted_codes(request: &pb::ProposeAllocationsRequest) -> BTreeSet<&'static str> {
    let req = PlanningRequest::try_from(request.clone()).unwrap();
    let mut p = plan(&req, &SolveOptions::default()).unwrap();
    lose_a_patient(&mut p);
    let codes: BTreeSet<&'static str> = check::check(&req, &p).iter().map(|v| v.rule.code()).collect();
    assert!(!codes.is_empty(), "the planted fault is one the checker sees");
    codes
}

/// The in-process path (what the CLI's `solve` and `whatif` call) answers with the checked
/// baseline.
#[test]
fn the_in_process_path_returns_the_checked_baseline() {
    let request = sample();
    let response = api::propose_with(
        request.clone(),
        &SolveOptions::default(),
        &*planting(&[PlannerKind::Optimiser]),
    )
    .expect("the baseline is planned");
    is_checked_baseline(&request, &response);
    // The planted fault is one the checker names.
    assert!(!planted_codes(&request).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_rpc_returns_a_plan_the_checker_has_not_seen() {
    let service = OptimiserService::with_solver(
        ServiceConfig::default(),
        Arc::new(Metrics::default()),
        planting(&[PlannerKind::Optimiser]),
    );
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = server.client().await;
    let request = sample();

    let response = client
        .propose_allocations(request.clone())
        .await
        .unwrap()
        .into_inner();
    is_checked_baseline(&request, &response);

    let last = streamed_plan(&mut client, &request).await;
    is_checked_baseline(&request, &last.expect("the stream ends with a plan"));

    let compared = client
        .compare_scenarios(pb::CompareScenariosRequest {
            base: Some(request.clone()),
            scenarios: vec![pb::Scenario {
                name: "without the first list".into(),
                changes: vec![pb::ScenarioChange {
                    change: Some(pb::scenario_change::Change::RemoveSessionId(
                        request.sessions[0].id.clone(),
                    )),
                }],
            }],
        })
        .await
        .unwrap()
        .into_inner();
    let base = compared.base.unwrap().plan.unwrap();
    is_checked_baseline(&request, &base);
    assert_eq!(compared.scenarios.len(), 1);
    let scenario = compared.scenarios[0].plan.as_ref().unwrap();
    assert_eq!(scenario.planner, pb::Planner::Baseline as i32);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_no_plan_passes_the_checker_every_rpc_answers_internal() {
    let service = OptimiserService::with_solver(
        ServiceConfig::default(),
        Arc::new(Metrics::default()),
        planting(&[PlannerKind::Optimiser, PlannerKind::Baseline]),
    );
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = server.client().await;
    let request = sample();
    let status = client.propose_allocations(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{}", status.message());
    let mut stream = client
        .propose_allocations_stream(request.clone())
        .await
        .unwrap()
        .into_inner();
    let end = loop {
        match stream.message().await {
            Ok(Some(pb::ProposeAllocationsEvent {
                event: Some(pb::propose_allocations_event::Event::Plan(_)),
            })) => panic!("the stream sent a plan no checker passed"),
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without an error"),
            Err(status) => break status,
        }
    };
    assert_eq!(end.code(), Code::Internal, "{}", end.message());
    let status = client
        .compare_scenarios(pb::CompareScenariosRequest {
            base: Some(request),
            scenarios: vec![],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Internal, "{}", status.message());
}
