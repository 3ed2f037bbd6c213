//! The HTML report: rendered in headless Chromium (one bar per case, no network request, a
//! legible screenshot), and the policy it shows taken from the plan.
//!
//! The browser test needs the Debian package `chromium`; `make test` installs it. Without it the
//! test fails (it is never skipped).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::io::report;
use theatre_optimiser::planning::SolveOptions;

use crate::support::files::{case_rects, cases_of, scratch};
use crate::support::{assert_valid, sample};

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
