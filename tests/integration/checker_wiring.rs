//! The plan checker stands between the solver and every answer: a solver that plants a fault
//! behind the real pipeline (validation, checker, baseline fallback, conversion) never gets its
//! plan out, through the in-process path the command line uses or through any RPC.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use theatre_optimiser::api::metrics::Metrics;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::ServerOptions;
use theatre_optimiser::api::service::{OptimiserService, ServiceConfig};
use theatre_optimiser::api::{self, Solver};
use theatre_optimiser::check;
use theatre_optimiser::domain::plan::Plan;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::solve::plan;
use theatre_optimiser::planning::{SolveOptions, SolverError};
use tonic::Code;

use crate::support::{assert_valid, sample, streamed_plan, TestServer};

/// The real solver's plan, with the last case of the first list that has one lost (neither on a
/// list nor reported) whenever the planner asked for is one of `broken`.
fn lose_a_patient(plan: &mut Plan) {
    let list = plan
        .lists
        .iter_mut()
        .find(|l| !l.cases.is_empty())
        .expect("a booked list");
    let case = list.cases.pop().unwrap();
    plan.assignment[case.patient] = None;
}

/// The real solver's plan with the first case of the first list holding two or more lost: the
/// patient is on no list, and the list no longer starts with a case (a fault that names a list).
fn lose_a_first_case(plan: &mut Plan) {
    let list = plan
        .lists
        .iter_mut()
        .find(|l| l.cases.len() > 1)
        .expect("a list with two cases");
    let case = list.cases.remove(0);
    plan.assignment[case.patient] = None;
}

fn planting(broken: &'static [PlannerKind]) -> Arc<Solver> {
    planting_with(broken, lose_a_patient)
}

/// The real solver, with `fault` planted in its plans whenever the planner asked for is one of
/// `broken`.
fn planting_with(broken: &'static [PlannerKind], fault: fn(&mut Plan)) -> Arc<Solver> {
    Arc::new(
        move |req: &PlanningRequest, opts: &SolveOptions| -> Result<Plan, SolverError> {
            let mut p = plan(req, opts)?;
            if broken.contains(&req.planner) {
                fault(&mut p);
            }
            Ok(p)
        },
    )
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

fn is_checked_baseline(request: &pb::ProposeAllocationsRequest, response: &pb::ProposeAllocationsResponse) {
    assert_eq!(
        response.planner,
        pb::Planner::Baseline as i32,
        "the planted plan got out instead of the checked baseline"
    );
    assert_valid(request, response);
}

/// The checker's findings on the plan of `request` with its first case lost: its rule codes, the
/// ids of the lists it names and how many there are, as the warning prints them.
fn planted_findings(request: &pb::ProposeAllocationsRequest) -> (String, String, String) {
    let req = PlanningRequest::try_from(request.clone()).unwrap();
    let mut p = plan(&req, &SolveOptions::default()).unwrap();
    lose_a_first_case(&mut p);
    let violations = check::check(&req, &p);
    let codes: BTreeSet<&str> = violations.iter().map(|v| v.rule.code()).collect();
    let sessions: BTreeSet<&str> = violations
        .iter()
        .filter_map(|v| v.session)
        .map(|s| req.sessions[s].id.as_str())
        .collect();
    assert!(!sessions.is_empty(), "the planted fault names a list");
    (
        format!("{codes:?}"),
        format!("{sessions:?}"),
        violations.len().to_string(),
    )
}

/// Every event's level and fields (the message as `message`), as the subscriber sees them.
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<Event>>>);

/// An event's level and its fields by name.
type Event = (tracing::Level, BTreeMap<String, String>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_string(), format!("{value:?}"));
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_string(), value.to_string());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Events {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0.lock().unwrap().push((*event.metadata().level(), fields));
    }
}

/// The warning for a plan the checker rejects names its rule codes, the lists it names and the
/// count of findings, exactly as the checker finds them, and nothing of any patient.
#[test]
fn the_checker_warning_names_rules_lists_and_counts_and_no_patient() {
    use tracing_subscriber::layer::SubscriberExt;
    let request = sample();
    let events = Events::default();
    let subscriber = tracing_subscriber::registry().with(events.clone());
    let response = tracing::subscriber::with_default(subscriber, || {
        // Callsites other tests' threads registered before this subscriber existed may have
        // cached "never"; recompute, so this thread's events all reach the subscriber.
        tracing::callsite::rebuild_interest_cache();
        api::propose_with(
            request.clone(),
            &SolveOptions::default(),
            &*planting_with(&[PlannerKind::Optimiser], lose_a_first_case),
        )
    })
    .expect("the baseline is planned");
    is_checked_baseline(&request, &response);
    let events = events.0.lock().unwrap();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, _)| *level == tracing::Level::WARN)
        .map(|(_, fields)| fields)
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {warnings:?}");
    let warning = warnings[0];
    let (rules, sessions, count) = planted_findings(&request);
    assert_eq!(warning.get("rules"), Some(&rules), "{warning:?}");
    assert_eq!(warning.get("sessions"), Some(&sessions), "{warning:?}");
    assert_eq!(warning.get("count"), Some(&count), "{warning:?}");
    let names: BTreeSet<&str> = warning.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["count", "message", "rules", "sessions"]),
        "the warning has no other field"
    );
    // No event of the whole call names a patient or a patient's date.
    for p in &request.patients {
        for (_, fields) in events.iter() {
            for value in fields.values() {
                for private in [&p.id, &p.date_listed, &p.rtt_clock_start] {
                    assert!(
                        !value.contains(private.as_str()),
                        "a log names a patient: {fields:?}"
                    );
                }
            }
        }
    }
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
