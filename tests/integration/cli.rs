//! The scheduler-facing commands end to end: `whatif`, `solve` with `report`, and `import`.

use std::process::Command;

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::io::report;
use theatre_optimiser::planning::SolveOptions;

use crate::support::files::{case_rects, cases_of, root, run, scratch, BIN, ROOT};
use crate::support::sample;
use crate::whatif::SCENARIOS;

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
