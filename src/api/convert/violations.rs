//! How validation reports: one [`FieldViolation`] per bad field, with the JSON path of the field,
//! all of them at once in an [`InvalidRequest`]; the limits every request is held to; and the
//! field checks the conversions share.

use std::collections::HashMap;

use crate::domain::Date;

/// One bad field: its JSON path (e.g. `patients[12].age_months`) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    pub field: String,
    pub description: String,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid request: {} violation(s), first at {}", .0.len(), .0.first().map_or("", |v| v.field.as_str()))]
pub struct InvalidRequest(pub Vec<FieldViolation>);

/// Longest accepted id or code.
pub const MAX_TEXT_LEN: usize = 128;

/// Earliest and latest accepted dates.
const MIN_DATE: (i32, u32, u32) = (1900, 1, 1);

const MAX_DATE: (i32, u32, u32) = (2200, 12, 31);

/// Sessions may be planned at most this many days ahead.
pub const MAX_DAYS_AHEAD: i64 = 730;

/// Longest list or case, minutes.
pub const MAX_MINUTES: i32 = 24 * 60;

/// Oldest accepted age, months.
pub const MAX_AGE_MONTHS: i32 = 130 * 12;

#[derive(Default)]
pub(super) struct Violations(pub(super) Vec<FieldViolation>);

/// Where a field is: its JSON path, written out only when a violation is reported there. A valid
/// trust-scale request has tens of thousands of fields, and writing every path out took about a
/// fifth of its validation.
pub(super) trait FieldPath {
    fn path(&self) -> String;
}

impl FieldPath for str {
    fn path(&self) -> String {
        self.to_string()
    }
}

impl FieldPath for String {
    fn path(&self) -> String {
        self.clone()
    }
}

impl<T: FieldPath + ?Sized> FieldPath for &T {
    fn path(&self) -> String {
        (**self).path()
    }
}

/// A path written out by a closure, when needed: `At(move || format!("patients[{i}].id"))`.
#[derive(Clone, Copy)]
pub(super) struct At<F>(pub(super) F);

impl<F: Fn() -> String> FieldPath for At<F> {
    fn path(&self) -> String {
        (self.0)()
    }
}

/// `text` has exactly the shape of `pattern`, where `N` is an ASCII digit and anything else
/// stands for itself: `2026-12-01` fits `NNNN-NN-NN`, `+2026-12-1` and `2026-12- 5` do not.
pub(super) fn digits_in_shape(text: &str, pattern: &str) -> bool {
    text.len() == pattern.len()
        && text.bytes().zip(pattern.bytes()).all(|(t, p)| match p {
            b'N' => t.is_ascii_digit(),
            _ => t == p,
        })
}

/// The number written in `text[range]`, whose bytes are ASCII digits (checked by
/// `digits_in_shape` first).
fn digits(text: &str, range: std::ops::Range<usize>) -> u32 {
    text.as_bytes()[range]
        .iter()
        .fold(0, |n, &b| n * 10 + u32::from(b - b'0'))
}

/// A date written exactly as YYYY-MM-DD, read directly (the format-string parser took a tenth of a
/// large request's validation).
fn parse_date(text: &str) -> Option<Date> {
    if !digits_in_shape(text, "NNNN-NN-NN") {
        return None;
    }
    Date::from_ymd_opt(digits(text, 0..4) as i32, digits(text, 5..7), digits(text, 8..10))
}

/// A time of day written exactly as HH:MM (00:00 to 23:59).
pub(super) fn parse_time(text: &str) -> Option<chrono::NaiveTime> {
    if !digits_in_shape(text, "NN:NN") {
        return None;
    }
    chrono::NaiveTime::from_hms_opt(digits(text, 0..2), digits(text, 3..5), 0)
}

impl Violations {
    pub(super) fn add(&mut self, field: impl FieldPath, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.path(),
            description: description.into(),
        });
    }

    pub(super) fn date(&mut self, field: impl FieldPath, text: &str) -> Option<Date> {
        if text.is_empty() {
            self.add(field, "required (YYYY-MM-DD)");
            return None;
        }
        match parse_date(text) {
            Some(d) => {
                let min = Date::from_ymd_opt(MIN_DATE.0, MIN_DATE.1, MIN_DATE.2).unwrap();
                let max = Date::from_ymd_opt(MAX_DATE.0, MAX_DATE.1, MAX_DATE.2).unwrap();
                if d < min || d > max {
                    self.add(field, "date out of range (1900-01-01 to 2200-12-31)");
                    None
                } else {
                    Some(d)
                }
            }
            _ => {
                self.add(field, "not a valid date (YYYY-MM-DD)");
                None
            }
        }
    }

    pub(super) fn text(&mut self, field: impl FieldPath, text: &str, required: bool) {
        if required && text.trim().is_empty() {
            self.add(field, "required");
        } else if text.chars().count() > MAX_TEXT_LEN {
            self.add(field, format!("longer than {MAX_TEXT_LEN} characters"));
        } else if text.chars().any(char::is_control) {
            self.add(field, "contains control characters");
        }
    }

    pub(super) fn id(
        &mut self,
        field: impl FieldPath,
        id: &str,
        seen: &mut HashMap<String, usize>,
        index: usize,
        what: &str,
    ) {
        self.text(&field, id, true);
        if id.is_empty() {
            return;
        }
        if let Some(first) = seen.get(id) {
            self.add(field, format!("duplicate id (first at {what}[{first}])"));
        } else {
            seen.insert(id.to_string(), index);
        }
    }

    pub(super) fn minutes(&mut self, field: impl FieldPath, value: i32) -> Option<u32> {
        if value <= 0 {
            self.add(field, "must be positive");
            None
        } else if value > MAX_MINUTES {
            self.add(field, format!("must be at most {MAX_MINUTES}"));
            None
        } else {
            Some(value as u32)
        }
    }

    pub(super) fn months(&mut self, field: impl FieldPath, value: i32) -> Option<u32> {
        if !(0..=MAX_AGE_MONTHS).contains(&value) {
            self.add(field, format!("must be between 0 and {MAX_AGE_MONTHS}"));
            None
        } else {
            Some(value as u32)
        }
    }
}

pub(super) fn enum_value<T>(
    v: &mut Violations,
    field: impl FieldPath,
    raw: i32,
    map: impl Fn(i32) -> Option<T>,
) -> Option<T> {
    if raw == 0 {
        v.add(field, "required (UNSPECIFIED is not allowed)");
        None
    } else {
        let value = map(raw);
        if value.is_none() {
            v.add(field, "unknown enum value");
        }
        value
    }
}

/// OPCS-4 code shape: a letter, two digits, optionally a dot and one or two digits.
pub(super) fn is_opcs(code: &str) -> bool {
    let b = code.as_bytes();
    let head = b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    let tail = match b.len() {
        3 => true,
        5 | 6 => b[3] == b'.' && b[4..].iter().all(u8::is_ascii_digit),
        _ => false,
    };
    head && tail
}

#[cfg(test)]
mod tests {
    use super::{is_opcs, parse_date, parse_time, Date};

    /// The direct readers agree with chrono's format-string parser on every text of their shape
    /// (every day of 1899-2201 and every HH:MM, valid or not), and refuse every other shape.
    #[test]
    fn dates_and_times_read_as_the_format_parser_reads_them() {
        for year in [1899, 1900, 2000, 2023, 2024, 2026, 2100, 2200, 2201] {
            for month in 0..=13 {
                for day in 0..=32 {
                    let text = format!("{year:04}-{month:02}-{day:02}");
                    let chrono = Date::parse_from_str(&text, "%Y-%m-%d").ok();
                    assert_eq!(parse_date(&text), chrono, "{text}");
                }
            }
        }
        for hour in 0..=25 {
            for minute in 0..=61 {
                let text = format!("{hour:02}:{minute:02}");
                let chrono = chrono::NaiveTime::parse_from_str(&text, "%H:%M").ok();
                assert_eq!(parse_time(&text), chrono, "{text}");
            }
        }
        for bad in [
            "",
            "2026-1-05",
            "2026-01-5",
            "26-01-05",
            "2026/01/05",
            "+2026-01-05",
            "2026-01-05 ",
        ] {
            assert_eq!(parse_date(bad), None, "{bad}");
        }
        for bad in ["", "9:30", "09:3", "0930", "09:30:00", "-9:30"] {
            assert_eq!(parse_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn opcs_shapes() {
        for ok in ["F34", "F34.1", "D15.12"] {
            assert!(is_opcs(ok), "{ok}");
        }
        for bad in ["", "f34", "F3", "F34.", "F34-1", "F34.123", "FF4.1"] {
            assert!(!is_opcs(bad), "{bad}");
        }
    }
}
