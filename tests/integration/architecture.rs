//! The layering, checked. Every `crate::` path in the library's `src/` (and every
//! `theatre_optimiser::` path in the binaries) names a layer that the importing file's layer may
//! import, by the table below, which is also the table of ARCHITECTURE.md (checked too), and each
//! layer's `mod.rs` says the same in its `Imports:` line. Arrows only point down, so there is no
//! cycle between layers (the table itself is checked to be acyclic).
//!
//! Unit tests (`#[cfg(test)]` modules, which sit at the end of their files, and `tests.rs` or
//! `tests/` files) may reach any layer for fixtures: only library code is held to the table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each layer and the layers it may import, top of the stack first. A layer may always use its
/// own modules.
const ALLOWED: &[(&str, &[&str])] = &[
    (
        "cli",
        &["api", "io", "synth", "planning", "check", "rules", "domain"],
    ),
    ("bin", &["api", "synth"]),
    ("io", &["api", "domain"]),
    ("synth", &["api", "rules", "domain"]),
    ("api", &["planning", "domain"]),
    ("planning", &["check", "rules", "domain"]),
    ("check", &["domain"]),
    ("rules", &["domain"]),
    ("domain", &[]),
];

/// Library code above this many lines usually holds two jobs (test code not counted).
const MOST_LINES: usize = 600;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The layer a file belongs to (`None`: the crate root, which only declares the layers).
fn layer_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?.to_string();
    match first.as_str() {
        "lib.rs" => None,
        "main.rs" => Some("cli".to_string()),
        _ => Some(first.trim_end_matches(".rs").to_string()),
    }
}

/// Whether a file is in a binary (its `crate::` is the binary, the library is
/// `theatre_optimiser::`).
fn in_binary(relative: &Path) -> bool {
    let first = relative.components().next().and_then(|c| c.as_os_str().to_str());
    matches!(first, Some("main.rs" | "cli" | "bin"))
}

fn is_test_file(relative: &Path) -> bool {
    relative.file_name().is_some_and(|n| n == "tests.rs")
        || relative.components().any(|c| c.as_os_str() == "tests")
}

/// The library code of a file: comments removed, and nothing from the first `#[cfg(test)]` on.
fn library_code(text: &str) -> Vec<(usize, String)> {
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("#[cfg(test)]") {
            break;
        }
        let code = match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        };
        lines.push((i + 1, code.to_string()));
    }
    lines
}

/// The first segment of every path after `root::` in a line: `crate::api::proto` gives `api`,
/// `crate::{domain, rules::eligible}` gives `domain` and `rules`.
fn first_segments(line: &str, root: &str) -> Vec<String> {
    let needle = format!("{root}::");
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(&needle) {
        let before = rest[..at].chars().last();
        rest = &rest[at + needle.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group.
            let mut depth = 0;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.push(std::mem::take(&mut item));
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            out.push(item);
        } else {
            out.push(rest.to_string());
        }
    }
    out.into_iter()
        .map(|s| {
            s.trim()
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|s| !s.is_empty() && s != "self")
        .collect()
}

fn allowed() -> BTreeMap<&'static str, BTreeSet<&'static str>> {
    ALLOWED
        .iter()
        .map(|(layer, may)| (*layer, may.iter().copied().collect()))
        .collect()
}

#[test]
fn no_layer_imports_a_layer_above_it_or_beside_it() {
    let table = allowed();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut wrong = Vec::new();
    let mut arrows: BTreeSet<(String, String)> = BTreeSet::new();
    for path in &files {
        let relative = path.strip_prefix(src()).unwrap();
        let Some(layer) = layer_of(relative) else {
            continue;
        };
        let may = table
            .get(layer.as_str())
            .unwrap_or_else(|| panic!("{}: layer `{layer}` is not in the table", relative.display()));
        if is_test_file(relative) {
            continue;
        }
        let root = if in_binary(relative) {
            "theatre_optimiser"
        } else {
            "crate"
        };
        let text = std::fs::read_to_string(path).unwrap();
        for (number, line) in library_code(&text) {
            for target in first_segments(&line, root) {
                if target == layer {
                    continue;
                }
                arrows.insert((layer.clone(), target.clone()));
                if !may.contains(target.as_str()) {
                    wrong.push(format!(
                        "{}:{number}: `{layer}` imports `{target}`",
                        relative.display()
                    ));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "imports the layering forbids (see ARCHITECTURE.md):\n{}",
        wrong.join("\n")
    );
    // The check saw the arrows it should (a parser that finds nothing would pass anything).
    for expected in [("api", "planning"), ("planning", "check"), ("check", "domain")] {
        assert!(
            arrows.contains(&(expected.0.to_string(), expected.1.to_string())),
            "no import {expected:?} found: {arrows:?}"
        );
    }
}

#[test]
fn the_table_has_no_cycle_and_names_only_layers() {
    let table = allowed();
    for (layer, may) in &table {
        for target in may {
            assert!(
                table.contains_key(target),
                "`{layer}` may import unknown `{target}`"
            );
        }
    }
    // Depth-first search from every layer: no path returns to it.
    fn reaches(
        table: &BTreeMap<&str, BTreeSet<&str>>,
        from: &str,
        to: &str,
        seen: &mut BTreeSet<String>,
    ) -> bool {
        table[from]
            .iter()
            .any(|next| *next == to || (seen.insert(next.to_string()) && reaches(table, next, to, seen)))
    }
    for layer in table.keys() {
        assert!(
            !reaches(&table, layer, layer, &mut BTreeSet::new()),
            "the table has a cycle through `{layer}`"
        );
    }
    // Every folder and top-level module of src/ is a layer of the table.
    for entry in std::fs::read_dir(src()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().to_string();
        if name == "lib.rs" || name == "main.rs" {
            continue;
        }
        let layer = name.trim_end_matches(".rs");
        assert!(
            table.contains_key(layer),
            "src/{name} is in no layer of the table"
        );
    }
}

/// The rows `| \`layer\` | \`a\`, \`b\` |` of ARCHITECTURE.md's table.
fn architecture_table() -> BTreeMap<String, BTreeSet<String>> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(path).expect("ARCHITECTURE.md");
    let names =
        |cell: &str| -> BTreeSet<String> { cell.split('`').skip(1).step_by(2).map(str::to_string).collect() };
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.split('|').collect();
            let layer = names(cells[1]).into_iter().next().unwrap();
            (layer, names(cells[2]))
        })
        .collect()
}

#[test]
fn architecture_md_states_the_same_table() {
    let ours: BTreeMap<String, BTreeSet<String>> = ALLOWED
        .iter()
        .map(|(l, may)| (l.to_string(), may.iter().map(|s| s.to_string()).collect()))
        .collect();
    assert_eq!(
        architecture_table(),
        ours,
        "ARCHITECTURE.md and this test disagree"
    );
}

#[test]
fn each_layer_says_what_it_may_import() {
    for (layer, may) in ALLOWED {
        let file = match *layer {
            "bin" => src().join("bin/theatre-load/main.rs"),
            other => src().join(other).join("mod.rs"),
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let doc: String = text
            .lines()
            .take_while(|l| l.starts_with("//!"))
            .map(|l| l.trim_start_matches("//!").trim())
            .collect::<Vec<_>>()
            .join(" ");
        let at = doc
            .find("Imports")
            .unwrap_or_else(|| panic!("{}: no `Imports:` line in its //!", file.display()));
        let sentence = &doc[at..];
        let sentence = &sentence[..sentence.find(". ").map_or(sentence.len(), |e| e + 1)];
        let named: BTreeSet<&str> = sentence
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|n| ALLOWED.iter().any(|(l, _)| l == n))
            .collect();
        let expected: BTreeSet<&str> = may.iter().copied().collect();
        assert_eq!(named, expected, "{}: {sentence}", file.display());
        if may.is_empty() {
            assert!(sentence.contains("nothing"), "{}: {sentence}", file.display());
        }
    }
}

#[test]
fn library_files_stay_under_600_lines() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut long = Vec::new();
    for path in &files {
        let relative = path.strip_prefix(src()).unwrap();
        if is_test_file(relative) {
            continue;
        }
        let text = std::fs::read_to_string(path).unwrap();
        let lines = text
            .lines()
            .take_while(|l| !l.trim_start().starts_with("#[cfg(test)]"))
            .count();
        if lines > MOST_LINES {
            long.push(format!("{}: {lines} lines", relative.display()));
        }
    }
    assert!(long.is_empty(), "files that hold two jobs: {long:?}");
}
