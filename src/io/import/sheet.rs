//! One CSV file read into rows, and the typed cells of a row (every bad cell reported with its
//! file, row and column).

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveTime};

use super::columns::{normalise_header, Column};
use super::{ImportError, Source};

pub(super) struct Sheet<'a> {
    pub(super) file: &'a str,
    pub(super) index: HashMap<&'static str, usize>,
    pub(super) width: usize,
    pub(super) rows: Vec<(usize, csv::StringRecord)>,
}

pub(super) fn read_sheet<'a>(
    source: Source<'a>,
    columns: &[Column],
    errors: &mut Vec<ImportError>,
    notes: &mut Vec<String>,
) -> Option<Sheet<'a>> {
    let file = source.name;
    let whole = |message: String| ImportError {
        file: file.to_string(),
        row: None,
        column: None,
        message,
    };
    let text = source.text.strip_prefix('\u{feff}').unwrap_or(source.text);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(_) => {
            errors.push(whole("the header row cannot be read as CSV".into()));
            return None;
        }
    };
    if headers.iter().all(|h| h.trim().is_empty()) {
        errors.push(whole("empty file: a header row is required".into()));
        return None;
    }
    let mut index: HashMap<&'static str, usize> = HashMap::new();
    let mut ignored = Vec::new();
    let mut ok = true;
    for (i, h) in headers.iter().enumerate() {
        let name = normalise_header(h);
        let column = columns
            .iter()
            .find(|c| c.name == name || c.aliases.iter().any(|a| *a == name));
        match column {
            Some(c) => {
                if index.insert(c.name, i).is_some() {
                    errors.push(ImportError {
                        file: file.to_string(),
                        row: Some(1),
                        column: Some(c.name.to_string()),
                        message: "the column appears twice in the header".into(),
                    });
                    ok = false;
                }
            }
            None if name.is_empty() => {}
            None => ignored.push(format!("`{}`", h.trim())),
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !index.contains_key(c.name) {
            let mut accepted = vec![c.name];
            accepted.extend(c.aliases);
            errors.push(ImportError {
                file: file.to_string(),
                row: Some(1),
                column: Some(c.name.to_string()),
                message: format!(
                    "required column missing from the header (accepted names: {})",
                    accepted.join(", ")
                ),
            });
            ok = false;
        }
    }
    if !ignored.is_empty() {
        notes.push(format!("{file}: ignored column(s) {}", ignored.join(", ")));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        match record {
            Ok(r) if r.iter().all(|c| c.trim().is_empty()) => {}
            Ok(r) => rows.push((row, r)),
            Err(e) => {
                let message = match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => "not UTF-8 text (save the sheet as CSV UTF-8)",
                    _ => "cannot be read as CSV",
                };
                errors.push(ImportError {
                    file: file.to_string(),
                    row: Some(row),
                    column: None,
                    message: message.into(),
                });
            }
        }
    }
    ok.then_some(Sheet {
        file,
        index,
        width: headers.len(),
        rows,
    })
}

/// One data row being read; problems go to the shared list.
pub(super) struct Row<'s, 'e> {
    pub(super) file: &'s str,
    pub(super) index: &'s HashMap<&'static str, usize>,
    pub(super) row: usize,
    pub(super) record: &'s csv::StringRecord,
    pub(super) errors: &'e mut Vec<ImportError>,
}

impl Row<'_, '_> {
    pub(super) fn err(&mut self, column: &str, message: impl Into<String>) {
        self.errors.push(ImportError {
            file: self.file.to_string(),
            row: Some(self.row),
            column: Some(column.to_string()),
            message: message.into(),
        });
    }

    /// The trimmed cell, `None` when the column is absent or the cell empty.
    pub(super) fn cell(&self, column: &str) -> Option<&str> {
        let i = *self.index.get(column)?;
        self.record.get(i).map(str::trim).filter(|c| !c.is_empty())
    }

    pub(super) fn required(&mut self, column: &str) -> Option<String> {
        let cell = self.cell(column).map(str::to_string);
        if cell.is_none() {
            self.err(column, "required");
        }
        cell
    }

    pub(super) fn text(&mut self, column: &str) -> String {
        self.required(column).unwrap_or_default()
    }

    pub(super) fn optional_text(&self, column: &str) -> Option<String> {
        self.cell(column).map(str::to_string)
    }

    pub(super) fn date(&mut self, column: &str, required: bool) -> Option<String> {
        let cell = if required {
            self.required(column)?
        } else {
            self.cell(column)?.to_string()
        };
        let parsed = parse_date(&cell);
        if parsed.is_none() {
            self.err(column, "not a valid date (YYYY-MM-DD or DD/MM/YYYY)");
        }
        parsed
    }

    pub(super) fn time(&mut self, column: &str, required: bool) -> Option<String> {
        let cell = if required {
            self.required(column)?
        } else {
            self.cell(column)?.to_string()
        };
        let parsed = ["%H:%M", "%H:%M:%S", "%H.%M"]
            .iter()
            .find_map(|f| NaiveTime::parse_from_str(&cell, f).ok())
            .map(|t| t.format("%H:%M").to_string());
        if parsed.is_none() {
            self.err(column, "not a valid time of day (HH:MM)");
        }
        parsed
    }

    pub(super) fn int(&mut self, column: &str, required: bool) -> Option<i32> {
        let cell = if required {
            self.required(column)?
        } else {
            self.cell(column)?.to_string()
        };
        let parsed = cell.parse::<i32>().ok().or_else(|| {
            cell.parse::<f64>()
                .ok()
                .filter(|f| f.fract() == 0.0 && f.abs() < 1e9)
                .map(|f| f as i32)
        });
        if parsed.is_none() {
            self.err(column, "not a whole number");
        }
        parsed
    }

    pub(super) fn boolean(&mut self, column: &str) -> bool {
        let Some(cell) = self.cell(column) else {
            return false;
        };
        match cell.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "1" => true,
            "n" | "no" | "false" | "0" => false,
            _ => {
                self.err(column, "expected yes or no (Y/N, true/false, 1/0)");
                false
            }
        }
    }

    /// A coded value: the normalised cell looked up in `options`; empty gives `default` (or a
    /// `required` error when there is none).
    pub(super) fn choice<T: Copy>(
        &mut self,
        column: &str,
        options: &[(&[&str], T)],
        default: Option<T>,
    ) -> Option<T> {
        let Some(cell) = self.cell(column) else {
            if default.is_none() {
                self.err(column, "required");
            }
            return default;
        };
        let key = normalise_header(cell);
        let found = options
            .iter()
            .find(|(names, _)| names.contains(&key.as_str()))
            .map(|(_, v)| *v);
        if found.is_none() {
            let expected: Vec<&str> = options.iter().map(|(names, _)| names[0]).collect();
            self.err(
                column,
                format!("unknown value (expected one of: {})", expected.join(", ")),
            );
        }
        found
    }
}

pub(super) fn parse_date(cell: &str) -> Option<String> {
    ["%Y-%m-%d", "%d/%m/%Y"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(cell, f).ok())
        .map(|d| d.format("%Y-%m-%d").to_string())
}

pub(super) fn each_row(
    sheet: &Sheet,
    errors: &mut Vec<ImportError>,
    mut f: impl FnMut(&mut Row),
) -> Vec<usize> {
    let mut numbers = Vec::with_capacity(sheet.rows.len());
    for (row, record) in &sheet.rows {
        if record.len() != sheet.width {
            errors.push(ImportError {
                file: sheet.file.to_string(),
                row: Some(*row),
                column: None,
                message: format!("has {} cell(s) but the header has {}", record.len(), sheet.width),
            });
            continue;
        }
        let mut r = Row {
            file: sheet.file,
            index: &sheet.index,
            row: *row,
            record,
            errors,
        };
        f(&mut r);
        numbers.push(*row);
    }
    numbers
}
