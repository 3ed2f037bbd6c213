//! The streaming RPC under a client's deadline and a client's cancel: the stream ends with
//! DEADLINE_EXCEEDED from the service, and in both cases the work stops (seen by a planner seam
//! that works until its cancel flag is raised). Time limits here are hang guards only.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::ServerOptions;
use theatre_optimiser::api::service::{OptimiserService, ServiceConfig};
use tonic::Code;

use crate::service::{cancelled, client, in_flight, stubborn_planner};
use crate::support::{sample, wait_until, TestServer};

async fn stubborn_server(saw_cancel: Arc<AtomicBool>) -> TestServer {
    let service = OptimiserService::with_planner(
        ServiceConfig::default(),
        Arc::new(Metrics::default()),
        stubborn_planner(saw_cancel),
    );
    TestServer::start_with_service(ServerOptions::default(), service).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_its_deadline_ends_with_deadline_exceeded_and_its_solve_stops() {
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let server = stubborn_server(saw_cancel.clone()).await;
    let mut client = client(&server).await;
    let mut call = tonic::Request::new(sample());
    call.set_timeout(Duration::from_secs(1));
    let mut stream = client
        .propose_allocations_stream(call)
        .await
        .expect("the stream opens")
        .into_inner();
    let end = loop {
        match stream.message().await {
            Ok(Some(pb::ProposeAllocationsEvent {
                event: Some(pb::propose_allocations_event::Event::Plan(_)),
            })) => panic!("a plan from a planner that never plans"),
            Ok(Some(_)) => continue,
            Ok(None) => panic!("the stream ended without a status"),
            Err(status) => break status,
        }
    };
    assert_eq!(end.code(), Code::DeadlineExceeded, "{}", end.message());
    assert!(
        wait_until(Duration::from_secs(30), || saw_cancel.load(Ordering::SeqCst)).await,
        "the solve was not told to stop"
    );
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 0).await,
        "the solve still holds its slot"
    );
    assert_eq!(server.metrics.deadline_exceeded.get(), 1);
    assert_eq!(
        cancelled(&server.metrics),
        0,
        "a deadline is not a client going away"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_client_drops_stops_its_solve() {
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let server = stubborn_server(saw_cancel.clone()).await;
    let mut client = client(&server).await;
    let stream = client
        .propose_allocations_stream(sample())
        .await
        .expect("the stream opens")
        .into_inner();
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await,
        "the solve never started"
    );
    assert!(!saw_cancel.load(Ordering::SeqCst));
    // Dropping the stream resets it: the client has gone away.
    drop(stream);
    assert!(
        wait_until(Duration::from_secs(30), || saw_cancel.load(Ordering::SeqCst)).await,
        "the solve was not told to stop"
    );
    assert!(
        wait_until(Duration::from_secs(30), || {
            cancelled(&server.metrics) == 1 && in_flight(&server.metrics) == 0
        })
        .await,
        "cancelled {} in flight {}",
        cancelled(&server.metrics),
        in_flight(&server.metrics)
    );
}
