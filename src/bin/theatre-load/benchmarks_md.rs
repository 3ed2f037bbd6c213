//! The results' place in BENCHMARKS.md: the "## Service load" section, other sections kept.

use std::path::Path;

use anyhow::{Context, Result};

pub(crate) const HEADING: &str = "## Service load";

/// Adds `run` at the end of the "## Service load" section of `path` (created if missing),
/// leaving every other section as it was.
pub(crate) fn append_section(path: &Path, run: &str) -> Result<()> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let out = insert_run(&text, run);
    std::fs::write(path, out).with_context(|| format!("writing {}", path.display()))
}

pub(crate) fn insert_run(text: &str, run: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    match lines.iter().position(|l| l.trim_end() == HEADING) {
        Some(start) => {
            let end = lines[start + 1..]
                .iter()
                .position(|l| l.starts_with("## ") || l.starts_with("# "))
                .map_or(lines.len(), |i| start + 1 + i);
            let mut out: Vec<String> = lines[..end].iter().map(|l| l.to_string()).collect();
            while out.last().is_some_and(|l| l.trim().is_empty()) {
                out.pop();
            }
            out.push(String::new());
            out.extend(run.trim_end().lines().map(str::to_string));
            if end < lines.len() {
                out.push(String::new());
                out.extend(lines[end..].iter().map(|l| l.to_string()));
            }
            out.join("\n") + "\n"
        }
        None => {
            let mut out = text.trim_end().to_string();
            if !out.is_empty() {
                out.push_str("\n\n");
            }
            out.push_str(HEADING);
            out.push_str(
                "\n\nThe gRPC service under concurrent load over loopback: `make load` builds in release, starts \
                 `theatre-optimiser serve` on a free 127.0.0.1 port, drives it with `theatre-load` (small \
                 requests at 8 clients, large ones at 2, then a soak of both), stops it with SIGTERM and adds \
                 a run below. Client and server share the machine's cores.\n\n",
            );
            out.push_str(run.trim_end());
            out.push('\n');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_goes_into_its_section_and_other_sections_stay() {
        let first = insert_run("", "### run 1\n");
        assert!(first.starts_with("## Service load\n"));
        assert!(first.contains("### run 1"));
        let doc = format!("# Benchmarks\n\n## Solver\n\ntable\n\n{first}\n## Later\n\nkept\n");
        let second = insert_run(&doc, "### run 2\n");
        let (i1, i2, later) = (
            second.find("### run 1").unwrap(),
            second.find("### run 2").unwrap(),
            second.find("## Later").unwrap(),
        );
        assert!(i1 < i2 && i2 < later, "{second}");
        assert!(second.contains("## Solver\n\ntable\n"));
        assert!(second.contains("## Later\n\nkept\n"));
        assert_eq!(second.matches(HEADING).count(), 1);
    }
}
