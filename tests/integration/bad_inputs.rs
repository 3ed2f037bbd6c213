//! The catalogue of bad inputs in `tests/bad_inputs/`: every case's bytes are sent through a real
//! server as JSON (`application/grpc+json`), and every case that decodes as a request is also sent
//! as protobuf, with the same answer.
//!
//! Each case is a pair: `NAME.json`, a request (possibly malformed), and `NAME.expected.json`:
//! - `{"code": "INVALID_ARGUMENT", "fields": [...]}`: the server refuses the request and the set of
//!   `google.rpc.BadRequest` field paths is exactly `fields`;
//! - with `"parse_error": true` as well: the JSON does not decode into the proto type at all
//!   (malformed JSON, wrong types, unknown fields or enum names, out-of-range numbers), so only
//!   the JSON call reaches the server, which refuses it at decoding with the one field path where
//!   decoding stopped (`request` for the whole message);
//! - `{"code": "OK"}`: a control case that must be planned, and the plan must pass the checker.
//!
//! An expectation may carry `"note": "..."` for readers, and `"known_gap": "..."`: the service does not meet it yet (a validation gap
//! reported to the owner of `src/convert/request.rs`). Such a case must still fail its expectation;
//! once the gap is fixed this test says so, and the marker is removed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::server::ServerOptions;
use tonic::Code;
use tonic_types::StatusExt;

use crate::support::{assert_valid, grpc_json, TestServer};

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    code: String,
    #[serde(default)]
    fields: Option<Vec<String>>,
    #[serde(default)]
    parse_error: bool,
    #[serde(default)]
    known_gap: Option<String>,
    /// The desk's cases (`desk/`): the RPC the case is sent to.
    #[serde(default)]
    rpc: Option<String>,
    /// `ValidateRequest`'s answer: the field paths it lists as data.
    #[serde(default)]
    violations: Option<Vec<String>>,
    /// Free text for people reading the catalogue.
    #[serde(default, rename = "note")]
    _note: Option<String>,
}

fn catalogue_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bad_inputs")
}

/// Every case, sorted by name: (name, request text, expectation).
fn cases() -> Vec<(String, Vec<u8>, Expected)> {
    let dir = catalogue_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/bad_inputs exists")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && !n.ends_with(".expected.json"))
        .map(|n| n.trim_end_matches(".json").to_string())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let request = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
            let expected_path = dir.join(format!("{name}.expected.json"));
            let text = std::fs::read_to_string(&expected_path)
                .unwrap_or_else(|_| panic!("{name}.json has no {name}.expected.json"));
            let expected: Expected =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}.expected.json: {e}"));
            (name, request, expected)
        })
        .collect()
}

/// What happened to one request: the server's code and field paths, or a plan.
#[derive(Debug, PartialEq)]
enum Outcome {
    Refused { code: Code, fields: BTreeSet<String> },
    Planned,
}

type Client = pb::theatre_optimiser_client::TheatreOptimiserClient<tonic::transport::Channel>;

/// Sends the case's bytes as JSON, and as protobuf when they decode; both must answer alike.
async fn send(
    client: &mut Client,
    channel: &tonic::transport::Channel,
    name: &str,
    bytes: &[u8],
    expected: &Expected,
) -> Outcome {
    let decoded = serde_json::from_slice::<pb::ProposeAllocationsRequest>(bytes).ok();
    assert_eq!(
        decoded.is_none(),
        expected.parse_error,
        "{name}: `parse_error` says whether the JSON decodes as a request"
    );
    let json = match grpc_json::call(channel, "ProposeAllocations", bytes).await {
        Ok(answer) => {
            let response: pb::ProposeAllocationsResponse =
                serde_json::from_slice(&answer).unwrap_or_else(|e| panic!("{name}: the JSON answer: {e}"));
            assert_valid(decoded.as_ref().expect("a planned request decodes"), &response);
            Outcome::Planned
        }
        Err(status) => refused(name, &status, decoded.as_ref()),
    };
    if let Some(request) = decoded {
        let proto = match client.propose_allocations(request.clone()).await {
            Ok(response) => {
                assert_valid(&request, response.get_ref());
                Outcome::Planned
            }
            Err(status) => refused(name, &status, Some(&request)),
        };
        assert_eq!(proto, json, "{name}: protobuf and JSON are answered alike");
    }
    json
}

/// The code and field paths of a refusal, checking that every violation is described without
/// naming a patient (by id, or by echoing any value of a request that does not decode).
fn refused(name: &str, status: &tonic::Status, request: Option<&pb::ProposeAllocationsRequest>) -> Outcome {
    let details = status.get_error_details();
    let violations = details
        .bad_request()
        .map(|b| b.field_violations.as_slice())
        .unwrap_or_default();
    for v in violations {
        assert!(
            !v.description.is_empty(),
            "{name}: {} has no description",
            v.field
        );
        match request {
            Some(request) => {
                for p in &request.patients {
                    assert!(
                        p.id.len() < 2 || !v.description.contains(&p.id),
                        "{name}: a description names a patient id"
                    );
                }
            }
            // serde quotes the values it found; a decoding refusal must not repeat them.
            None => assert!(
                !v.description.contains(['"', '`', '\'']),
                "{name}: a decoding refusal quotes the request: {}",
                v.description
            ),
        }
    }
    Outcome::Refused {
        code: status.code(),
        fields: violations.iter().map(|v| v.field.clone()).collect(),
    }
}

fn expected_outcome(e: &Expected) -> Outcome {
    assert!(
        e.rpc.is_none() && e.violations.is_none(),
        "`rpc` and `violations` belong to the desk's cases: {e:?}"
    );
    match (e.code.as_str(), e.parse_error, &e.fields) {
        ("OK", false, None) => Outcome::Planned,
        ("INVALID_ARGUMENT", _, Some(fields)) => Outcome::Refused {
            code: Code::InvalidArgument,
            fields: fields.iter().cloned().collect(),
        },
        _ => panic!("malformed expectation {e:?}"),
    }
}

#[tokio::test]
async fn every_bad_input_is_refused_with_exactly_its_field_paths() {
    let cases = cases();
    assert!(cases.len() >= 30, "the catalogue has {} cases", cases.len());
    let server = TestServer::start(ServerOptions::default()).await;
    let mut client = server
        .client()
        .await
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let channel = grpc_json::channel(server.channel_url()).await;
    let mut failures = Vec::new();
    let mut fixed_gaps = Vec::new();
    for (name, bytes, expected) in &cases {
        let want = expected_outcome(expected);
        let got = send(&mut client, &channel, name, bytes, expected).await;
        match (&expected.known_gap, got == want) {
            (None, true) => {}
            (Some(_), false) => eprintln!("known gap, still open:{}", describe(name, &want, &got)),
            (None, false) => failures.push(describe(name, &want, &got)),
            (Some(_), true) => fixed_gaps.push(name.clone()),
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ from their expectation:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        fixed_gaps.is_empty(),
        "known gaps now behave as expected; remove `known_gap` from: {fixed_gaps:?}"
    );
    server.shutdown().await.unwrap();
}

fn describe(name: &str, want: &Outcome, got: &Outcome) -> String {
    let short = |o: &Outcome| match o {
        Outcome::Refused { code, fields } => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| {
                    if f.len() > 80 {
                        format!("{}...({} chars)", &f[..60], f.len())
                    } else {
                        f.clone()
                    }
                })
                .collect();
            let shown: Vec<&String> = fields.iter().take(12).collect();
            let more = fields.len().saturating_sub(shown.len());
            format!("{code:?} {shown:?} (+{more} more)")
        }
        other => format!("{other:?}"),
    };
    format!("  {name}: expected {}, got {}", short(want), short(got))
}

/// The catalogue covers what it claims: many cases, parse errors and field paths in every section,
/// and every expectation file has its request.
#[test]
fn the_catalogue_is_complete() {
    let cases = cases();
    let dir = catalogue_dir();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(stem) = name.strip_suffix(".expected.json") {
            assert!(dir.join(format!("{stem}.json")).exists(), "{name} has no request");
        }
    }
    let parse_errors = cases.iter().filter(|(_, _, e)| e.parse_error).count();
    assert!(parse_errors >= 10, "{parse_errors} parse-error cases");
    let fields: BTreeSet<String> = cases
        .iter()
        .flat_map(|(_, _, e)| e.fields.iter().flatten().cloned())
        .collect();
    // Every field path the validator can name, with indexes erased, is reached by some case.
    let erased: BTreeSet<String> = fields
        .iter()
        .map(|f| {
            let mut out = String::new();
            let mut in_index = false;
            for c in f.chars() {
                match c {
                    '[' => {
                        in_index = true;
                        out.push('[');
                    }
                    ']' => {
                        in_index = false;
                        out.push(']');
                    }
                    _ if in_index => {}
                    _ => out.push(c),
                }
            }
            out
        })
        .collect();
    for path in [
        "planning_date",
        "sites",
        "sites[].id",
        "sites[].name",
        "sessions[].id",
        "sessions[].site_id",
        "sessions[].theatre",
        "sessions[].date",
        "sessions[].start_time",
        "sessions[].minutes",
        "sessions[].specialty",
        "sessions[].surgeon",
        "sessions[].list_type",
        "sessions[].min_age_months",
        "sessions[].max_age_months",
        "sessions[].reserved_minutes",
        "sessions[].status",
        "sessions[].cases_per_list_target",
        "sessions[].hvlc_group",
        "patients[].id",
        "patients[].specialty",
        "patients[].procedure",
        "patients[].expected_minutes",
        "patients[].age_months",
        "patients[].priority",
        "patients[].date_listed",
        "patients[].rtt_clock_start",
        "patients[].preop",
        "patients[].preop.status",
        "patients[].preop.date",
        "patients[].accepted_site_ids[]",
        "patients[].surgeon",
        "patients[].unavailable[]",
        "patients[].unavailable[].from",
        "patients[].unavailable[].to",
        "existing_bookings[].patient_id",
        "existing_bookings[].session_id",
        "existing_bookings[].state",
        "policy.profile",
        "policy.overrides[]",
        "policy.time_limit_seconds",
        "policy.relative_gap",
    ] {
        assert!(erased.contains(path), "no catalogue case reaches {path}");
    }
}

/// Whether `bytes` decode as the request of `rpc`, as the service's JSON decoding reads them.
fn desk_decodes(rpc: &str, bytes: &[u8]) -> bool {
    match rpc {
        "RecommendBackfill" => serde_json::from_slice::<pb::RecommendBackfillRequest>(bytes).is_ok(),
        "OfferDates" => serde_json::from_slice::<pb::OfferDatesRequest>(bytes).is_ok(),
        "CheckPlan" => serde_json::from_slice::<pb::CheckPlanRequest>(bytes).is_ok(),
        "ValidateRequest" => serde_json::from_slice::<pb::ValidateRequestRequest>(bytes).is_ok(),
        "LoadWorld" => serde_json::from_slice::<pb::LoadWorldRequest>(bytes).is_ok(),
        other => panic!("no desk RPC {other}"),
    }
}

/// The desk RPCs' bad inputs, each sent as JSON through a real server: refused with its code and
/// exactly its field paths, or (`ValidateRequest`, and the controls) answered, with the violations
/// `ValidateRequest` lists as data.
#[tokio::test]
async fn every_desk_bad_input_is_refused_with_exactly_its_field_paths() {
    let dir = catalogue_dir().join("desk");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".expected.json").map(str::to_string))
        .collect();
    names.sort();
    let server = TestServer::start(ServerOptions::default()).await;
    let channel = grpc_json::channel(server.channel_url()).await;
    let mut failures = Vec::new();
    let mut rpcs = BTreeSet::new();
    let base_world: pb::ProposeAllocationsRequest =
        serde_json::from_slice(&std::fs::read(catalogue_dir().join("valid_base.json")).unwrap()).unwrap();
    for name in &names {
        let bytes = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
        let text = std::fs::read_to_string(dir.join(format!("{name}.expected.json"))).unwrap();
        let expected: Expected =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}.expected.json: {e}"));
        let rpc = expected.rpc.clone().unwrap_or_else(|| panic!("{name}: no `rpc`"));
        rpcs.insert(rpc.clone());
        assert_eq!(
            !desk_decodes(&rpc, &bytes),
            expected.parse_error,
            "{name}: `parse_error` says whether the JSON decodes as a request"
        );
        let got = match grpc_json::call(&channel, &rpc, &bytes).await {
            Ok(answer) if rpc == "ValidateRequest" => {
                let response: pb::ValidateRequestResponse = serde_json::from_slice(&answer).unwrap();
                assert_eq!(response.valid, response.violations.is_empty(), "{name}");
                format!(
                    "OK violations {:?}",
                    response
                        .violations
                        .iter()
                        .map(|v| v.field.clone())
                        .collect::<BTreeSet<_>>()
                )
            }
            Ok(_) => "OK".to_string(),
            Err(status) => {
                // Refusals after decoding must not name the base world's patients either.
                let world = (!expected.parse_error).then_some(&base_world);
                let refusal = refused(name, &status, world);
                format!("{refusal:?}")
            }
        };
        let want = match (expected.code.as_str(), &expected.fields, &expected.violations) {
            ("OK", None, Some(v)) => {
                format!("OK violations {:?}", v.iter().cloned().collect::<BTreeSet<_>>())
            }
            ("OK", None, None) => "OK".to_string(),
            ("INVALID_ARGUMENT", Some(fields), None) => format!(
                "{:?}",
                Outcome::Refused {
                    code: Code::InvalidArgument,
                    fields: fields.iter().cloned().collect(),
                }
            ),
            _ => panic!("{name}: malformed expectation {expected:?}"),
        };
        if got != want {
            failures.push(format!("  {name}: expected {want}, got {got}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} desk case(s) differ from their expectation:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let all: BTreeSet<String> = [
        "CheckPlan",
        "LoadWorld",
        "OfferDates",
        "RecommendBackfill",
        "ValidateRequest",
    ]
    .map(String::from)
    .into();
    assert_eq!(rpcs, all, "every desk RPC has catalogue cases");
    server.shutdown().await.unwrap();
}
