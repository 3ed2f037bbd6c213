//! Files and the command line for the scheduler-facing tests: paths in the repository, scratch
//! directories, running the binary, and the case bars of a report.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use theatre_optimiser::api::proto as pb;

pub const BIN: &str = env!("CARGO_BIN_EXE_theatre-optimiser");
pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

pub fn root(path: &str) -> PathBuf {
    Path::new(ROOT).join(path)
}

/// A fresh directory under the target directory's test scratch space (kept for inspection).
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("report-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn cases_of(plan: &pb::ProposeAllocationsResponse) -> Vec<&str> {
    let mut ids: Vec<&str> = plan
        .sessions
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.patient_id.as_str()))
        .collect();
    ids.sort_unstable();
    ids
}

/// `data-patient` of every `<rect ...>` whose class is `case`, in document order.
pub fn case_rects(html: &str) -> Vec<String> {
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

pub fn run(args: &[&str]) -> Output {
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
