//! The checker's warning, in a process of its own: a plan the checker rejects is logged with its
//! rule codes, lists and count and nothing of any patient. Events are read through the process's
//! global subscriber, which no other test's thread can race (tracing registers a callsite's
//! interest once per process, so a test among many cannot rely on seeing its own events).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use theatre_optimiser::api;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::check;
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::solve::plan;
use theatre_optimiser::planning::SolveOptions;

#[allow(dead_code)]
#[path = "integration/support/mod.rs"]
mod support;

use support::planting::{is_checked_baseline, lose_a_first_case, planting_with};
use support::sample;

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
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(events.clone()))
        .expect("the only subscriber of this process");
    let response = api::propose_with(
        request.clone(),
        &SolveOptions::default(),
        &*planting_with(&[PlannerKind::Optimiser], lose_a_first_case),
    )
    .expect("the baseline is planned");
    is_checked_baseline(&request, &response);
    // Worked out before the events are read: planning logs too, into the same subscriber.
    let (rules, sessions, count) = planted_findings(&request);
    let events = events.0.lock().unwrap();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, _)| *level == tracing::Level::WARN)
        .map(|(_, fields)| fields)
        .collect();
    assert_eq!(warnings.len(), 1, "one warning: {warnings:?}");
    let warning = warnings[0];
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
