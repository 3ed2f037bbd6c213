//! The scheduler-facing commands: the HTML report rendered in headless Chromium (one bar per case,
//! no network request, a legible screenshot), the shipped what-if scenarios, the shipped CSVs, and
//! the `report`, `whatif` and `import` commands end to end.
//!
//! The browser test needs the Debian package `chromium`; `make test` installs it. Without it the
//! test fails (it is never skipped).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::whatif as scenario;
use theatre_optimiser::domain::PlanningRequest;
use theatre_optimiser::io::import::{self, Source, Sources};
use theatre_optimiser::io::report;
use theatre_optimiser::planning::SolveOptions;

use crate::support::{assert_valid, sample};

const BIN: &str = env!("CARGO_BIN_EXE_theatre-optimiser");
const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const SCENARIOS: [&str; 2] = [
    "examples/scenarios/saturday-hit-list.json",
    "examples/scenarios/dgh-closed-week-2026-12-14.json",
];

fn root(path: &str) -> PathBuf {
    Path::new(ROOT).join(path)
}

/// A fresh directory under the target directory's test scratch space (kept for inspection).
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cases_of(plan: &pb::ProposeAllocationsResponse) -> Vec<&str> {
    let mut ids: Vec<&str> = plan
        .sessions
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.patient_id.as_str()))
        .collect();
    ids.sort_unstable();
    ids
}

/// `data-patient` of every `<rect ...>` whose class is `case`, in document order.
fn case_rects(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<rect") {
        let tag_end = rest[at..].find('>').map_or(rest.len(), |e| at + e);
        let tag = &rest[at..tag_end];
        if tag.contains(" class=\"case\"") {
            let id = tag
                .split_once("data-patient=\"")
                .and_then(|(_, t)| t.split_once('"'))
                .map(|(id, _)| id.to_string())
                .unwrap_or_default();
            out.push(id);
        }
        rest = &rest[tag_end..];
    }
    out
}

fn sample_plan() -> pb::ProposeAllocationsResponse {
    let request = sample();
    let plan = propose(request.clone(), &SolveOptions::default()).expect("the sample plans");
    assert_valid(&request, &plan);
    plan
}

// ---------------------------------------------------------------------------------------------
// Headless Chromium
// ---------------------------------------------------------------------------------------------

fn chromium() -> PathBuf {
    let path = std::env::var_os("CHROMIUM").map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    assert!(
        path.exists(),
        "headless Chromium is needed for the report browser test but {} does not exist: \
         run `make test` (it installs the Debian package `chromium` through scripts/ensure-deps.sh), \
         or `apt-get install chromium`",
        path.display()
    );
    path
}

/// Runs headless Chromium on a local file with the given action flags (killing it after 90 s);
/// answers its stdout. Output goes to files beside the profile: a pipe could fill and block it.
fn run_chromium(page: &Path, profile: &Path, extra: &[String]) -> String {
    let (stdout_path, stderr_path) = (profile.with_extension("stdout"), profile.with_extension("stderr"));
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-extensions",
            "--disable-default-apps",
            // Nothing may leave the machine even if something tried: names do not resolve.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("chromium starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for chromium") {
            break status;
        }
        if started.elapsed() > Duration::from_secs(90) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        status.success(),
        "chromium failed: {}",
        std::fs::read_to_string(&stderr_path).unwrap_or_default()
    );
    std::fs::read_to_string(&stdout_path).expect("chromium's output is UTF-8")
}

/// URLs of network requests the page itself made (Chromium's own background traffic, such as
/// update checks, has no initiator and is not counted), read from a NetLog file.
fn page_requests(netlog: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(netlog).expect("chromium wrote the net log");
    // A NetLog cut short lacks its closing brackets.
    let log: serde_json::Value = serde_json::from_str(&text)
        .or_else(|_| serde_json::from_str(&format!("{}]}}", text.trim_end().trim_end_matches(','))))
        .expect("the net log is JSON");
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names URL_REQUEST_START_JOB");
    let mut urls = Vec::new();
    for event in log["events"].as_array().expect("net log events") {
        if event["type"].as_u64() != Some(start_job) {
            continue;
        }
        let p = &event["params"];
        let url = p["url"].as_str().unwrap_or_default();
        let initiator = p["initiator"].as_str().unwrap_or("not an origin");
        let isolation = p["network_isolation_key"].as_str().unwrap_or_default();
        let from_page = initiator != "not an origin" || isolation.contains("file://");
        if from_page && !url.starts_with("file:") && !url.starts_with("data:") {
            urls.push(url.to_string());
        }
    }
    urls
}

#[test]
fn report_renders_in_headless_chromium_without_network() {
    let dir = scratch("chromium");
    let plan = sample_plan();
    let html = report::html(&plan, None, "Sample week: children's theatre lists");

    // Self-contained: no external reference of any kind in the file itself.
    for bad in [
        "src=\"http",
        "href=\"http",
        "src='http",
        "href='http",
        "url(http",
        "@import",
        "<link",
        "<script",
    ] {
        assert!(!html.contains(bad), "the report contains {bad}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
    let page = dir.join("sample-plan.html");
    std::fs::write(&page, &html).unwrap();

    // The rendered DOM: exactly one rect.case per allocated case, for the right patients.
    let netlog = dir.join("netlog.json");
    let dom = run_chromium(
        &page,
        &dir.join("profile-dom"),
        &["--dump-dom".into(), format!("--log-net-log={}", netlog.display())],
    );
    assert!(
        dom.contains("<svg class=\"timeline\""),
        "no timeline in the rendered DOM"
    );
    let mut drawn = case_rects(&dom);
    drawn.sort_unstable();
    let expected = cases_of(&plan);
    assert!(!expected.is_empty(), "the sample books nobody");
    assert_eq!(drawn, expected, "one rect.case per allocated case");
    assert_eq!(
        dom.matches("class=\"reserved\"").count(),
        plan.sessions.iter().filter(|s| s.reserved_minutes > 0).count(),
        "one reserved block per list with adult time"
    );
    let requests = page_requests(&netlog);
    assert!(
        requests.is_empty(),
        "the report made network requests: {requests:?}"
    );

    // The screenshot, for people to look at: target/tmp/report-tests/chromium/sample-plan.png.
    let shot = dir.join("sample-plan.png");
    run_chromium(
        &page,
        &dir.join("profile-shot"),
        &[
            format!("--screenshot={}", shot.display()),
            "--window-size=1400,2000".into(),
        ],
    );
    let png = std::fs::read(&shot).expect("chromium wrote the screenshot");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let (width, height) = (
        u32::from_be_bytes(png[16..20].try_into().unwrap()),
        u32::from_be_bytes(png[20..24].try_into().unwrap()),
    );
    assert_eq!((width, height), (1400, 2000));
    assert!(
        png.len() > 50_000,
        "the screenshot looks blank ({} bytes)",
        png.len()
    );
}

/// The network check above can fail: a page that fetches something is caught.
#[test]
fn the_network_check_catches_a_page_that_fetches() {
    let dir = scratch("canary");
    let page = dir.join("canary.html");
    std::fs::write(
        &page,
        "<!DOCTYPE html><html><body><img src=\"http://127.0.0.1:9/pixel.png\" alt=\"\"></body></html>",
    )
    .unwrap();
    let netlog = dir.join("netlog.json");
    run_chromium(
        &page,
        &dir.join("profile"),
        &["--dump-dom".into(), format!("--log-net-log={}", netlog.display())],
    );
    let requests = page_requests(&netlog);
    assert!(
        requests.iter().any(|u| u.starts_with("http://127.0.0.1:9/")),
        "the canary fetch was not seen: {requests:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// What-if scenarios
// ---------------------------------------------------------------------------------------------

fn example_scenarios() -> Vec<pb::Scenario> {
    SCENARIOS
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(root(p)).unwrap();
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{p}: {e}"))
        })
        .collect()
}

#[test]
fn example_scenarios_expand_against_the_sample() {
    let base = sample();
    let requests = scenario::expand(&pb::CompareScenariosRequest {
        base: Some(base.clone()),
        scenarios: example_scenarios(),
    })
    .expect("the example scenarios expand");
    let names: Vec<&str> = requests.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["base", "saturday-hit-list", "dgh-closed-week-2026-12-14"]);
    for (name, r) in &requests {
        PlanningRequest::try_from(r.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    assert_eq!(requests[0].1, base);

    // Saturday: one more list, on a Saturday, nothing else changed.
    let saturday = &requests[1].1;
    assert_eq!(saturday.sessions.len(), base.sessions.len() + 1);
    let added = saturday.sessions.last().unwrap();
    let date = chrono::NaiveDate::parse_from_str(&added.date, "%Y-%m-%d").unwrap();
    assert_eq!(chrono::Datelike::weekday(&date), chrono::Weekday::Sat);
    assert_eq!(saturday.sessions[..base.sessions.len()], base.sessions[..]);
    assert_eq!(saturday.patients, base.patients);

    // DGH closed 14-20 December: every DGH list that week released, nothing else touched.
    let closed = &requests[2].1;
    let in_week =
        |s: &pb::Session| s.site_id == "DGH" && ("2026-12-14"..="2026-12-20").contains(&s.date.as_str());
    assert!(base.sessions.iter().filter(|s| in_week(s)).count() >= 3);
    for (b, c) in base.sessions.iter().zip(&closed.sessions) {
        if in_week(b) {
            assert_eq!(c.status, pb::SessionStatus::Released as i32, "{}", c.id);
        } else {
            assert_eq!(b, c);
        }
    }
    let closed_ids: Vec<&str> = closed
        .sessions
        .iter()
        .filter(|s| in_week(s))
        .map(|s| s.id.as_str())
        .collect();
    assert!(closed
        .existing_bookings
        .iter()
        .all(|b| !closed_ids.contains(&b.session_id.as_str())));
}

#[test]
fn example_scenarios_plan_and_compare() {
    // The baseline planner makes the comparison independent of solver tuning.
    let mut base = sample();
    base.planner = pb::Planner::Baseline as i32;
    let requests = scenario::expand(&pb::CompareScenariosRequest {
        base: Some(base),
        scenarios: example_scenarios(),
    })
    .unwrap();
    let plans: Vec<(String, pb::ProposeAllocationsResponse)> = requests
        .iter()
        .map(|(name, r)| {
            let plan = propose(r.clone(), &SolveOptions::default()).unwrap();
            assert_valid(r, &plan);
            (name.clone(), plan)
        })
        .collect();
    let comparison = scenario::compare(plans);
    let saturday = &comparison.scenarios[0];
    assert!(
        !saturday.gained.is_empty() && saturday.lost.is_empty(),
        "a Saturday list books more patients and costs nobody a date"
    );
    assert!(saturday.delta.as_ref().unwrap().booked > 0);
    let closed = &comparison.scenarios[1];
    assert!(!closed.lost.is_empty(), "closing DGH for a week costs dates");
    let plan = closed.plan.as_ref().unwrap();
    for s in plan
        .sessions
        .iter()
        .filter(|s| s.site_id == "DGH" && s.date.as_str() >= "2026-12-14" && s.date.as_str() <= "2026-12-20")
    {
        assert!(
            s.released && s.cases.is_empty(),
            "{} should be closed",
            s.session_id
        );
    }

    let html = report::comparison_html(&comparison, "What-if");
    let total: usize = report::comparison_plans(&comparison)
        .iter()
        .map(|(_, p)| cases_of(p).len())
        .sum();
    assert_eq!(case_rects(&html).len(), total);
    assert!(html.contains("change vs base"));
    let text = report::kpi_text(&report::comparison_plans(&comparison));
    let booked = text.lines().find(|l| l.starts_with("Patients booked")).unwrap();
    assert!(booked.contains("better") && booked.contains("worse"), "{booked}");
}

// ---------------------------------------------------------------------------------------------
// The commands end to end
// ---------------------------------------------------------------------------------------------

fn run(args: &[&str]) -> Output {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(ROOT)
        .env("NO_COLOR", "1")
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn whatif_command_prints_kpis_and_writes_json_and_report() {
    let dir = scratch("whatif");
    let (json, html) = (dir.join("comparison.json"), dir.join("comparison.html"));
    let out = run(&[
        "whatif",
        "--request",
        "examples/sample-request.json",
        "--scenario",
        SCENARIOS[0],
        SCENARIOS[1],
        "--out",
        json.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let header = stdout.lines().next().unwrap();
    for column in [
        "KPI",
        "base",
        "saturday-hit-list",
        "dgh-closed-week-2026-12-14",
        "change",
    ] {
        assert!(header.contains(column), "{header}");
    }
    assert!(stdout.lines().any(|l| l.starts_with("Patients booked")));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stderr.contains("CYP-"), "patient ids on stderr: {stderr}");
    let comparison: pb::CompareScenariosResponse =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(comparison.scenarios.len(), 2);
    let page = std::fs::read_to_string(&html).unwrap();
    let total: usize = report::comparison_plans(&comparison)
        .iter()
        .map(|(_, p)| cases_of(p).len())
        .sum();
    assert_eq!(case_rects(&page).len(), total);

    // `report` on the comparison JSON gives the same page body.
    let again = dir.join("again.html");
    run(&[
        "report",
        "--plan",
        json.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]);
    assert_eq!(case_rects(&std::fs::read_to_string(&again).unwrap()).len(), total);
}

#[test]
fn solve_and_report_commands_write_reports() {
    let dir = scratch("solve-report");
    let (plan, html) = (dir.join("plan.json"), dir.join("plan.html"));
    run(&[
        "solve",
        "--request",
        "examples/sample-request.json",
        "--out",
        plan.to_str().unwrap(),
        "--report",
        html.to_str().unwrap(),
    ]);
    let plan_json: pb::ProposeAllocationsResponse =
        serde_json::from_str(&std::fs::read_to_string(&plan).unwrap()).unwrap();
    let mut drawn = case_rects(&std::fs::read_to_string(&html).unwrap());
    drawn.sort_unstable();
    assert_eq!(drawn, cases_of(&plan_json));

    // A baseline plan of the same week, compared with the optimiser's.
    let mut request = sample();
    request.planner = pb::Planner::Baseline as i32;
    let baseline = propose(request, &SolveOptions::default()).unwrap();
    let other = dir.join("baseline.json");
    std::fs::write(&other, serde_json::to_string(&baseline).unwrap()).unwrap();
    let compared = dir.join("compared.html");
    run(&[
        "report",
        "--plan",
        plan.to_str().unwrap(),
        "--compare",
        other.to_str().unwrap(),
        "--out",
        compared.to_str().unwrap(),
    ]);
    let page = std::fs::read_to_string(&compared).unwrap();
    assert!(page.contains("change vs baseline"));
    assert!(page.contains("Who gains or loses a date"));
}

// ---------------------------------------------------------------------------------------------
// Importing spreadsheets
// ---------------------------------------------------------------------------------------------

#[test]
fn shipped_csvs_import_into_the_sample_request() {
    let read = |name: &str| std::fs::read_to_string(root(&format!("examples/csv/{name}"))).unwrap();
    let (sessions, ptl, sites, bookings) = (
        read("sessions.csv"),
        read("ptl.csv"),
        read("sites.csv"),
        read("bookings.csv"),
    );
    let imported = import::import(
        &Sources {
            sessions: Source {
                name: "sessions.csv",
                text: &sessions,
            },
            patients: Source {
                name: "ptl.csv",
                text: &ptl,
            },
            sites: Some(Source {
                name: "sites.csv",
                text: &sites,
            }),
            bookings: Some(Source {
                name: "bookings.csv",
                text: &bookings,
            }),
        },
        "2026-11-23",
        "default",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(imported.request, sample(), "the CSVs are the sample week");
}

#[test]
fn import_command_writes_a_request_that_solves() {
    let dir = scratch("import");
    let request = dir.join("request.json");
    run(&[
        "import",
        "--sessions",
        "examples/csv/sessions.csv",
        "--patients",
        "examples/csv/ptl.csv",
        "--sites",
        "examples/csv/sites.csv",
        "--bookings",
        "examples/csv/bookings.csv",
        "--planning-date",
        "2026-11-23",
        "--out",
        request.to_str().unwrap(),
    ]);
    let parsed: pb::ProposeAllocationsRequest =
        serde_json::from_str(&std::fs::read_to_string(&request).unwrap()).unwrap();
    assert_eq!(parsed, sample());

    // A broken PTL: every problem listed with file, row and column; no ids or dates echoed.
    let ptl = std::fs::read_to_string(root("examples/csv/ptl.csv")).unwrap();
    let mut lines: Vec<String> = ptl.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen(",P4,", ",P7,", 1);
    lines[3] = lines[3].replacen(",completed,", ",sort of,", 1);
    let bad = dir.join("bad-ptl.csv");
    std::fs::write(&bad, lines.join("\n") + "\n").unwrap();
    let out = Command::new(BIN)
        .current_dir(ROOT)
        .args(["import", "--sessions", "examples/csv/sessions.csv", "--patients"])
        .arg(&bad)
        .args(["--planning-date", "2026-11-23"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    let bad_name = bad.display().to_string();
    assert!(
        stderr.contains(&format!("{bad_name}, row 3, column priority")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{bad_name}, row 4, column preop_status")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("CYP-") && !stderr.contains("/2026"),
        "values echoed: {stderr}"
    );
}

#[test]
fn the_report_shows_the_policy_the_plan_was_made_under() {
    let mut request = sample();
    let policy = request.policy.get_or_insert_with(Default::default);
    policy.overrides.insert("lists.utilisation_target".into(), 0.7);
    policy.overrides.insert("phases.locked_days".into(), 7.0);
    let plan = propose(request.clone(), &SolveOptions::default()).expect("the sample plans");
    assert_valid(&request, &plan);
    let effective = plan.policy.expect("the plan carries its policy");
    assert_eq!((effective.utilisation_target, effective.locked_days), (0.7, 7));
    let html = report::html(&plan, None, "overrides");
    assert!(html.contains("Utilisation target 70%"), "the overridden target");
    assert!(html.contains("within 1 week: existing bookings stay"));
}
