//! Reading and writing the command line's files, and how a refused request is told.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use theatre_optimiser::api::convert::InvalidRequest;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::api::ProposeError;

pub fn read_request(path: &Path) -> Result<pb::ProposeAllocationsRequest> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not a valid request JSON", path.display()))
}

pub fn write_json<T: serde::Serialize>(value: &T, out: Option<&PathBuf>) -> Result<()> {
    let text = serde_json::to_string_pretty(value)? + "\n";
    match out {
        Some(path) => std::fs::write(path, text).with_context(|| format!("writing {}", path.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

pub fn write_text(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

/// A file's stem, for titles and column names.
pub fn file_label(path: &Path) -> String {
    path.file_stem().map_or_else(
        || path.display().to_string(),
        |s| s.to_string_lossy().into_owned(),
    )
}

/// What a refused request gets on the terminal: every violation, one a line, or the error.
pub fn describe(e: ProposeError) -> String {
    match e {
        ProposeError::Invalid(inv) => describe_invalid(&inv),
        other => other.to_string(),
    }
}

/// Every violation of a refused request, one a line.
pub fn describe_invalid(inv: &InvalidRequest) -> String {
    let lines: Vec<String> = inv
        .0
        .iter()
        .map(|v| format!("  {}: {}", v.field, v.description))
        .collect();
    format!(
        "invalid request ({} violation(s)):\n{}",
        inv.0.len(),
        lines.join("\n")
    )
}
