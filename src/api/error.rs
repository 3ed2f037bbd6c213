//! Why a request gets no plan, and how each reason answers over gRPC: one error enum for the
//! API, mapped to a small set of codes in one exhaustive `match`.

use std::fmt;
use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

use crate::api::convert::{FieldViolation, InvalidRequest};
use crate::planning::PlanError;

/// Why a request could not be answered with a plan.
#[derive(Debug, thiserror::Error)]
pub enum ProposeError {
    #[error(transparent)]
    Invalid(#[from] InvalidRequest),
    #[error("request too large: {0}")]
    TooLarge(SizeLimit),
    #[error("server busy: {0}")]
    Busy(Queue),
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("internal error: {0}")]
    Internal(String),
    #[error("no plan was ready within the client's deadline")]
    DeadlineExceeded,
    #[error("the server is shutting down; retry on another replica")]
    ShuttingDown,
    /// A desk call named a world that is not held (never loaded, unloaded, idle too long or
    /// pushed out by newer worlds): NOT_FOUND, and the caller loads it again.
    #[error("no world is held under this world_id; send LoadWorld again")]
    UnknownWorld,
}

/// A request over one of the service's size limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SizeLimit {
    /// What is counted: `sessions`, `patients`, `scenarios`.
    pub what: &'static str,
    pub count: usize,
    pub limit: usize,
}

impl fmt::Display for SizeLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}; the limit is {} per request",
            self.count, self.what, self.limit
        )
    }
}

/// A full queue: solves running and requests waiting, at their limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queue {
    pub running: usize,
    pub waiting: usize,
}

impl fmt::Display for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} solves running and {} waiting; retry shortly",
            self.running, self.waiting
        )
    }
}

impl From<ProposeError> for Status {
    fn from(e: ProposeError) -> Status {
        match e {
            ProposeError::Invalid(InvalidRequest(violations)) => {
                let (listed, msg) = listed_violations(&violations);
                let mut details = ErrorDetails::new();
                for (field, description) in listed {
                    details.add_bad_request_violation(field, description);
                }
                Status::with_error_details(Code::InvalidArgument, msg, details)
            }
            ProposeError::TooLarge(limit) => {
                let mut details = ErrorDetails::new();
                details.add_bad_request_violation(
                    limit.what,
                    format!("{} given; at most {} per request", limit.count, limit.limit),
                );
                Status::with_error_details(Code::InvalidArgument, limit.to_string(), details)
            }
            ProposeError::Busy(queue) => {
                let mut details = ErrorDetails::new();
                details.set_retry_info(Some(Duration::from_secs(2)));
                Status::with_error_details(Code::ResourceExhausted, queue.to_string(), details)
            }
            ProposeError::Plan(e) => Status::internal(e.to_string()),
            ProposeError::Internal(msg) => Status::internal(msg),
            e @ ProposeError::DeadlineExceeded => Status::deadline_exceeded(e.to_string()),
            e @ ProposeError::ShuttingDown => Status::unavailable(e.to_string()),
            e @ ProposeError::UnknownWorld => Status::not_found(e.to_string()),
        }
    }
}

/// Violations listed in one refusal's BadRequest details, at most. The details travel in a
/// response header (`grpc-status-details-bin`), and HTTP/2 peers refuse header lists over about
/// 16 KiB, so a refusal lists the first violations only and says how many it left out.
pub const MAX_LISTED_VIOLATIONS: usize = 100;
/// Bytes of field paths and descriptions listed in one refusal, at most (see above).
const MAX_LISTED_BYTES: usize = 8 * 1024;
/// Characters of one field path or description, at most; longer ones (echoing caller text such as
/// an unknown override key) are cut and end in `…`.
pub const MAX_VIOLATION_CHARS: usize = 200;

/// `text` cut to [`MAX_VIOLATION_CHARS`] characters, ending in `…` when cut.
pub(crate) fn cut_caller_text(text: &str) -> String {
    match text.char_indices().nth(MAX_VIOLATION_CHARS) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The (field, description) pairs a refusal lists and its message. When violations are left
/// out, the last pair is `("request", "N more violation(s) not listed")`.
pub fn listed_violations(violations: &[FieldViolation]) -> (Vec<(String, String)>, String) {
    let cut = cut_caller_text;
    let mut listed = Vec::new();
    let mut bytes = 0;
    for v in violations {
        let (field, description) = (cut(&v.field), cut(&v.description));
        if listed.len() == MAX_LISTED_VIOLATIONS || bytes + field.len() + description.len() > MAX_LISTED_BYTES
        {
            break;
        }
        bytes += field.len() + description.len();
        listed.push((field, description));
    }
    let left_out = violations.len() - listed.len();
    let msg = if left_out == 0 {
        format!(
            "invalid request: {} violation(s); see BadRequest details",
            violations.len()
        )
    } else {
        listed.push((
            "request".to_string(),
            format!("{left_out} more violation(s) not listed"),
        ));
        format!(
            "invalid request: {} violation(s); BadRequest details list the first {}",
            violations.len(),
            listed.len() - 1
        )
    };
    (listed, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn violation(field: &str, description: &str) -> FieldViolation {
        FieldViolation {
            field: field.to_string(),
            description: description.to_string(),
        }
    }

    #[test]
    fn a_refusal_lists_every_violation_when_few() {
        let all: Vec<_> = (0..3)
            .map(|i| violation(&format!("patients[{i}].id"), "required"))
            .collect();
        let (listed, msg) = listed_violations(&all);
        assert_eq!(listed.len(), 3);
        assert_eq!(listed[2], ("patients[2].id".to_string(), "required".to_string()));
        assert_eq!(msg, "invalid request: 3 violation(s); see BadRequest details");
    }

    #[test]
    fn a_refusal_lists_the_first_violations_and_counts_the_rest() {
        let all: Vec<_> = (0..400)
            .map(|i| violation(&format!("patients[{i}].age_months"), "must be 0 to 300"))
            .collect();
        let (listed, msg) = listed_violations(&all);
        assert_eq!(listed.len(), MAX_LISTED_VIOLATIONS + 1);
        assert_eq!(listed[MAX_LISTED_VIOLATIONS - 1].0, "patients[99].age_months");
        assert_eq!(
            listed[MAX_LISTED_VIOLATIONS],
            (
                "request".to_string(),
                "300 more violation(s) not listed".to_string()
            )
        );
        assert!(
            msg.contains("400 violation(s)") && msg.contains("first 100"),
            "{msg}"
        );
    }

    #[test]
    fn long_caller_text_is_cut_and_the_details_stay_small() {
        let long = "é".repeat(20_000);
        let all: Vec<_> = (0..50)
            .map(|i| violation(&format!("policy.overrides[{long}{i}]"), &long))
            .collect();
        let (listed, _) = listed_violations(&all);
        let bytes: usize = listed.iter().map(|(f, d)| f.len() + d.len()).sum();
        assert!(bytes <= MAX_LISTED_BYTES + 100, "{bytes} bytes listed");
        assert!(listed.len() < all.len());
        let (field, description) = &listed[0];
        assert_eq!(field.chars().count(), MAX_VIOLATION_CHARS + 1);
        assert!(field.starts_with("policy.overrides[é") && field.ends_with('…'));
        assert_eq!(description.chars().count(), MAX_VIOLATION_CHARS + 1);
        assert_eq!(listed.last().unwrap().0, "request");
    }
}
