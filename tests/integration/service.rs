//! Production behaviour over a real socket: client deadlines, cancellation, the bounded queue,
//! size limits, graceful shutdown, and a failing solve that costs only its own request (TLS and
//! tokens: `security.rs`; logs without patient data: `logs.rs`). The helpers here serve all three.
//!
//! Trust-scale requests (430 lists, 2,400 patients) make solves that run to their time limit, so
//! a test that sets a long limit and finishes well inside it proves the solve was stopped early.
//! Time bounds are generous fractions of those limits, never tight wall-clock targets.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::proto::theatre_optimiser_client::TheatreOptimiserClient;
use theatre_optimiser::api::server::ServerOptions;
use theatre_optimiser::api::service::{OptimiserService, Planner, ServiceConfig, MAX_SCENARIOS};
use theatre_optimiser::api::{self, ProposeError};
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::planning::{PlanError, SolveOptions, SolverError};
use tonic::transport::Channel;
use tonic::Code;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;
use tonic_types::StatusExt;

use crate::support::{
    assert_valid, sample, streamed_plan, trust_request, wait_until, with_metrics_port, TestServer,
};

pub(crate) const SERVICE_NAME: &str = "theatre.optimiser.v1.TheatreOptimiser";
pub(crate) const BIG: usize = 64 * 1024 * 1024;

/// A plaintext client that takes trust-scale plans (larger than tonic's default 4 MiB limit).
pub(crate) async fn client(server: &TestServer) -> TheatreOptimiserClient<Channel> {
    server
        .client()
        .await
        .max_decoding_message_size(BIG)
        .max_encoding_message_size(BIG)
}

pub(crate) fn in_flight(m: &Metrics) -> i64 {
    m.in_flight.get()
}

pub(crate) fn cancelled(m: &Metrics) -> u64 {
    m.cancelled.get()
}

/// `GET /metrics`; the body.
pub(crate) async fn scrape(addr: SocketAddr) -> String {
    let (status, _, body) = crate::metrics::http(addr, "GET", "/metrics").await;
    assert_eq!(status, 200);
    body
}

pub(crate) fn is_plan(plan: &pb::ProposeAllocationsResponse) -> bool {
    plan.status == pb::PlanStatus::Optimal as i32 || plan.status == pb::PlanStatus::Feasible as i32
}

// (a) ------------------------------------------------------------------------------------------

/// The client's deadline becomes the solver's time limit (less the service's margin), and a solve
/// that reaches its limit answers with its incumbent: a checked plan, FEASIBLE, stopped by the
/// time limit, never a cancellation. The seam records the limit the service handed over and
/// makes it expire at once (the real solver with a zero limit), so the test is exact on any
/// machine; the client's 60 s deadline is only a hang guard.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_deadline_becomes_the_time_limit_and_the_incumbent_is_answered() {
    let given: Arc<Mutex<Vec<Option<Duration>>>> = Arc::default();
    let solver: Arc<api::Solver> = {
        let given = given.clone();
        Arc::new(move |req: &PlanningRequest, opts: &SolveOptions| {
            given.lock().unwrap().push(opts.time_limit);
            let expired = SolveOptions {
                time_limit: Some(Duration::ZERO),
                ..opts.clone()
            };
            theatre_optimiser::planning::solve::plan(req, &expired)
        })
    };
    let config = ServiceConfig::default();
    let margin = config.deadline_margin;
    let service = OptimiserService::with_solver(config, Arc::new(Metrics::default()), solver);
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = client(&server).await;
    // The policy would let the solver run for a minute.
    let mut request = theatre_optimiser::synth::generate(theatre_optimiser::synth::Scale::Theatre, 1);
    request
        .policy
        .get_or_insert_with(Default::default)
        .time_limit_seconds = Some(60.0);
    let deadline = Duration::from_secs(60);
    let mut call = tonic::Request::new(request.clone());
    call.set_timeout(deadline);
    let plan = client
        .propose_allocations(call)
        .await
        .unwrap_or_else(|s| panic!("no plan: {:?} {}", s.code(), s.message()))
        .into_inner();
    let limits = given.lock().unwrap().clone();
    assert_eq!(limits.len(), 1, "one solve");
    let limit = limits[0].expect("the service hands the client's deadline to the solver");
    assert!(
        limit <= deadline - margin,
        "time limit {limit:?} for a {deadline:?} deadline"
    );
    assert_eq!(plan.status, pb::PlanStatus::Feasible as i32);
    let stats = plan.solver.as_ref().unwrap();
    assert_ne!(stats.stop_reason, "cancelled");
    assert!(stats.relative_gap > 0.0);
    assert_valid(&request, &plan);
    assert_eq!(
        cancelled(&server.metrics),
        0,
        "a time limit is not a cancellation"
    );
}

/// A planner that ignores its time limit and works until it is cancelled (at most 60 s), noting
/// whether the cancel flag reached it.
pub(crate) fn stubborn_planner(saw_cancel: Arc<AtomicBool>) -> Planner {
    Arc::new(move |_, opts: &SolveOptions| {
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if opts.cancel.load(Ordering::SeqCst) {
                saw_cancel.store(true, Ordering::SeqCst);
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        Err(ProposeError::Internal("stopped".into()))
    })
}

#[tokio::test]
async fn a_solve_that_overruns_the_deadline_answers_deadline_exceeded_and_is_stopped() {
    let saw_cancel = Arc::new(AtomicBool::new(false));
    let service = OptimiserService::with_planner(
        ServiceConfig::default(),
        Arc::new(Metrics::default()),
        stubborn_planner(saw_cancel.clone()),
    );
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = client(&server).await;
    let mut call = tonic::Request::new(sample());
    call.set_timeout(Duration::from_secs(1));
    let started = Instant::now();
    let status = client.propose_allocations(call).await.unwrap_err();
    // DEADLINE_EXCEEDED from the service, not tonic's CANCELLED "Timeout expired".
    assert_eq!(status.code(), Code::DeadlineExceeded, "{}", status.message());
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 0).await,
        "the solve was not stopped"
    );
    assert!(saw_cancel.load(Ordering::SeqCst));
    assert_eq!(server.metrics.deadline_exceeded.get(), 1);
    assert_eq!(
        cancelled(&server.metrics),
        0,
        "a deadline is not a client going away"
    );
}

// (b) ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_goes_away_stops_its_solve() {
    let (metrics_addr, server) = with_metrics_port().await;
    let mut client = client(&server).await;
    let call = tokio::spawn(async move { client.propose_allocations(trust_request(60.0)).await });
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await,
        "the solve never started"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!call.is_finished(), "a 60 s solve finished within a second");
    // Dropping the call future resets the stream: the client has gone away.
    call.abort();
    assert!(call.await.unwrap_err().is_cancelled());
    let dropped = Instant::now();
    // The solve may take up to 60 s; stopping well inside that is the cancellation at work.
    assert!(
        wait_until(Duration::from_secs(30), || {
            cancelled(&server.metrics) == 1 && in_flight(&server.metrics) == 0
        })
        .await,
        "cancelled {} in flight {} after {:?}",
        cancelled(&server.metrics),
        in_flight(&server.metrics),
        dropped.elapsed()
    );
    eprintln!("cancelled solve released after {:?}", dropped.elapsed());
    // The same on the metrics port, in the Prometheus text format.
    let text = scrape(metrics_addr).await;
    assert!(text.contains("theatre_solves_cancelled_total 1\n"), "{text}");
    assert!(text.contains("theatre_solves_in_flight 0\n"), "{text}");
    assert!(text.contains("theatre_requests_total 1\n"), "{text}");
    assert!(text.contains("# TYPE theatre_solve_seconds histogram"), "{text}");
    assert!(
        text.contains("theatre_rpc_requests_total{rpc=\"ProposeAllocations\",code=\"CANCELLED\"} 1\n"),
        "{text}"
    );
}

// (c) ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_refuses_at_once_with_resource_exhausted_and_retry_info() {
    let options = ServerOptions {
        service: ServiceConfig {
            max_concurrent_solves: 1,
            max_queued: 1,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    // Four slow requests at once: one runs, one waits, two are refused.
    let mut calls = Vec::new();
    for _ in 0..4 {
        let mut client = client(&server).await;
        calls.push(tokio::spawn(async move {
            let started = Instant::now();
            let out = client.propose_allocations(trust_request(60.0)).await;
            (out, started.elapsed())
        }));
    }
    let mut refused = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while refused.len() < 2 && Instant::now() < deadline {
        let mut i = 0;
        while i < calls.len() {
            if calls[i].is_finished() {
                refused.push(calls.remove(i).await.unwrap());
            } else {
                i += 1;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(refused.len(), 2, "expected two refusals within 30 s");
    for (out, elapsed) in &refused {
        let status = out.as_ref().expect_err("refused");
        assert_eq!(status.code(), Code::ResourceExhausted, "{}", status.message());
        assert!(status.message().contains("retry"), "{}", status.message());
        let retry = status
            .get_error_details()
            .retry_info()
            .cloned()
            .expect("RetryInfo");
        assert!(retry.retry_delay.is_some_and(|d| d > Duration::ZERO));
        // Refused without waiting for the running solve (60 s) to finish.
        assert!(*elapsed < Duration::from_secs(20), "refused after {elapsed:?}");
    }
    assert_eq!(calls.len(), 2);
    assert_eq!(server.metrics.refused.get(), 2);
    assert_eq!(in_flight(&server.metrics), 1);
    assert_eq!(server.metrics.queue_depth(), 1);
    // Both remaining clients go away: the running solve stops and the queue empties.
    for call in calls.drain(..) {
        call.abort();
    }
    assert!(
        wait_until(Duration::from_secs(30), || {
            in_flight(&server.metrics) == 0 && server.metrics.queue_depth() == 0
        })
        .await,
        "in flight {} queued {}",
        in_flight(&server.metrics),
        server.metrics.queue_depth()
    );
    // The slot and the queue place are free again: the next request is planned.
    let mut client = client(&server).await;
    let plan = client.propose_allocations(sample()).await.unwrap().into_inner();
    assert_valid(&sample(), &plan);
}

#[tokio::test]
async fn with_no_queue_a_second_request_is_refused_while_one_solves() {
    let options = ServerOptions {
        service: ServiceConfig {
            max_concurrent_solves: 1,
            max_queued: 0,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut first = client(&server).await;
    let running = tokio::spawn(async move { first.propose_allocations(trust_request(60.0)).await });
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await);
    let mut second = client(&server).await;
    let status = second.propose_allocations(sample()).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted);
    running.abort();
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 0).await);
    assert!(second.propose_allocations(sample()).await.is_ok());
}

// (d) ------------------------------------------------------------------------------------------

fn assert_no_patient_data(request: &pb::ProposeAllocationsRequest, text: &str) {
    for p in &request.patients {
        assert!(!text.contains(&p.id), "a patient id in: {text}");
    }
}

#[tokio::test]
async fn requests_over_the_size_limits_are_refused_with_the_limit_named() {
    let request = sample();
    assert_eq!((request.sessions.len(), request.patients.len()), (16, 55));
    let options = ServerOptions {
        service: ServiceConfig {
            max_sessions: 10,
            max_patients: 40,
            ..ServiceConfig::default()
        },
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = client(&server).await;

    let status = client.propose_allocations(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("16 sessions; the limit is 10"),
        "{}",
        status.message()
    );
    assert_no_patient_data(&request, status.message());

    let mut fewer_sessions = request.clone();
    fewer_sessions.sessions.truncate(10);
    let status = client.propose_allocations(fewer_sessions).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("55 patients; the limit is 40"),
        "{}",
        status.message()
    );

    // The streaming and scenario RPCs apply the same limits.
    let status = client
        .propose_allocations_stream(request.clone())
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("the limit is 10"),
        "{}",
        status.message()
    );
    let compare = pb::CompareScenariosRequest {
        base: Some(request.clone()),
        scenarios: Vec::new(),
    };
    let status = client.compare_scenarios(compare).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().contains("the limit is 10"),
        "{}",
        status.message()
    );
    assert_eq!(server.metrics.in_flight.get(), 0);
    assert_eq!(server.metrics.errors.get(), 4);
}

#[tokio::test]
async fn too_many_scenarios_are_refused() {
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = client(&server).await;
    let scenarios = (0..=MAX_SCENARIOS)
        .map(|i| pb::Scenario {
            name: format!("s{i}"),
            changes: Vec::new(),
        })
        .collect();
    let request = pb::CompareScenariosRequest {
        base: Some(sample()),
        scenarios,
    };
    let status = client.compare_scenarios(request).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status
            .message()
            .contains(&format!("the limit is {MAX_SCENARIOS}")),
        "{}",
        status.message()
    );
}

#[tokio::test]
async fn a_message_over_the_byte_limit_is_refused() {
    let limit = 128 * 1024;
    let small = sample();
    let large = trust_request(10.0);
    assert!(small.encoded_len() < limit / 4, "{}", small.encoded_len());
    assert!(large.encoded_len() > limit, "{}", large.encoded_len());
    let options = ServerOptions {
        max_message_bytes: limit,
        ..ServerOptions::default()
    };
    let server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let status = client.propose_allocations(large.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{}", status.message());
    assert!(
        status.message().contains(&limit.to_string()),
        "{}",
        status.message()
    );
    assert_no_patient_data(&large, status.message());
    assert_eq!(in_flight(&server.metrics), 0);
    // A request under the limit on the same connection is planned.
    let plan = client
        .propose_allocations(small.clone())
        .await
        .unwrap()
        .into_inner();
    assert_valid(&small, &plan);
}

// (f) ------------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_goes_not_serving_and_finishes_the_running_solve() {
    let options = ServerOptions {
        grace: Duration::from_secs(120),
        ..ServerOptions::default()
    };
    let mut server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let request = trust_request(5.0);
    let sent = request.clone();
    let call = tokio::spawn(async move { client.propose_allocations(sent).await });
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await);

    let channel = Channel::from_shared(server.channel_url())
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: SERVICE_NAME.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(watch.message().await.unwrap().unwrap().status, 1, "SERVING");
    // The whole server (the empty name, what a probe naming no service asks about) too.
    let mut overall = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(overall.message().await.unwrap().unwrap().status, 1, "SERVING");

    let signalled = Instant::now();
    server.begin_shutdown();
    let next = tokio::time::timeout(Duration::from_secs(30), watch.message())
        .await
        .expect("a health update after the shutdown signal")
        .unwrap()
        .unwrap();
    assert_eq!(next.status, 2, "NOT_SERVING");
    let next = tokio::time::timeout(Duration::from_secs(30), overall.message())
        .await
        .expect("an overall health update after the shutdown signal")
        .unwrap()
        .unwrap();
    assert_eq!(next.status, 2, "overall NOT_SERVING");
    // An open watch would hold the drain; a real prober closes it too.
    drop((watch, overall, health));

    let plan = call
        .await
        .unwrap()
        .expect("the running solve completes during shutdown")
        .into_inner();
    assert!(is_plan(&plan));
    assert_valid(&request, &plan);
    assert_eq!(cancelled(&server.metrics), 0);
    let handle = server.handle.take().unwrap();
    let out = tokio::time::timeout(Duration::from_secs(60), handle)
        .await
        .expect("the server stops once the solve is done, long before the 120 s grace");
    out.unwrap().unwrap();
    eprintln!("shutdown drained in {:?}", signalled.elapsed());
    // Nothing is accepted any more.
    assert!(TheatreOptimiserClient::connect(server.channel_url())
        .await
        .is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_solve_still_running_when_the_grace_period_ends_is_cancelled() {
    let options = ServerOptions {
        grace: Duration::from_secs(1),
        ..ServerOptions::default()
    };
    let mut server = TestServer::start(options).await;
    let mut client = client(&server).await;
    let call = tokio::spawn(async move { client.propose_allocations(trust_request(60.0)).await });
    assert!(wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 1).await);
    server.begin_shutdown();
    let handle = server.handle.take().unwrap();
    tokio::time::timeout(Duration::from_secs(30), handle)
        .await
        .expect("the server stops after its grace period, not after the 60 s solve")
        .unwrap()
        .unwrap();
    let status = call
        .await
        .unwrap()
        .expect_err("the client gets an error, not a plan or a hang");
    assert_eq!(status.code(), Code::Unavailable, "{}", status.message());
    assert!(
        wait_until(Duration::from_secs(30), || in_flight(&server.metrics) == 0).await,
        "the abandoned solve is stopped"
    );
    assert_eq!(cancelled(&server.metrics), 1);
}

// (h) ------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_panicking_or_failing_solve_answers_internal_and_the_server_keeps_serving() {
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    // First call panics (quoting a patient id), second fails in the solver, the rest plan.
    let planner: Planner = Arc::new(
        move |request: pb::ProposeAllocationsRequest, opts: &SolveOptions| match seen
            .fetch_add(1, Ordering::SeqCst)
        {
            0 => panic!("boom on {}", request.patients[0].id),
            1 => Err(ProposeError::Plan(PlanError::Solver(SolverError::Stopped(
                highs::HighsModelStatus::SolveError,
            )))),
            _ => api::propose(request, opts),
        },
    );
    // One slot and no queue: a leaked permit after the panic would refuse the next request.
    let config = ServiceConfig {
        max_concurrent_solves: 1,
        max_queued: 0,
        ..ServiceConfig::default()
    };
    let service = OptimiserService::with_planner(config, Arc::new(Metrics::default()), planner);
    let server = TestServer::start_with_service(ServerOptions::default(), service).await;
    let mut client = client(&server).await;
    let request = sample();

    let status = client.propose_allocations(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(status.message().contains("panicked"), "{}", status.message());
    assert_no_patient_data(&request, status.message());

    let status = client.propose_allocations(request.clone()).await.unwrap_err();
    assert_eq!(status.code(), Code::Internal);
    assert!(
        status.message().contains("solver failure"),
        "{}",
        status.message()
    );

    let plan = client
        .propose_allocations(request.clone())
        .await
        .unwrap()
        .into_inner();
    assert_valid(&request, &plan);
    // The stream reports the same way.
    assert!(streamed_plan(&mut client, &request).await.is_some());
    assert_eq!(calls.load(Ordering::SeqCst), 4);
    assert_eq!(server.metrics.errors.get(), 2);
    assert_eq!(in_flight(&server.metrics), 0);
}
