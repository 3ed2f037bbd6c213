//! The independent plan checker: re-derives every hard rule from the raw request fields and the
//! policy numbers, and reports each way a plan breaks them, one file per concern:
//! `conservation` (every patient exactly once), `eligibility` (the case rules), `lists` (capacity,
//! times, order), `bookings` (pinned bookings and moves), `windows` (the age-window counts),
//! `hubs` (the right-place counts and reasons), `beds` (children's beds night by night, the
//! day-case counts and the `no_bed` reasons) and `facts` (ages, phases, capacity worked out again).
//!
//! It deliberately shares no code with the planners: nothing from `rules` or `planning`, and none
//! of the helper methods of [`PlanningRequest`]. Ages, phases, pinned bookings, list capacity,
//! procedure groups and list order are all worked out again here, so a bug in the shared rules
//! cannot hide itself. Findings are named by the same [`RuleCode`]s the rules use.
//!
//! Details never carry patient ids, ages or dates: only indexes, session ids and rule words.
//!
//! Imports: `domain`.

mod beds;
mod bookings;
mod conservation;
mod eligibility;
mod facts;
mod hubs;
mod lists;
mod windows;

use std::fmt;

use crate::domain::plan::Plan;
use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};

/// Whether the checker reports `rule`: every rule but the two that only explain an unallocated
/// patient (`no_eligible_session`; `case_too_long`, which the checker judges as `capacity`).
pub fn checks(rule: RuleCode) -> bool {
    !matches!(rule, RuleCode::NoEligibleSession | RuleCode::CaseTooLong)
}

/// One way a plan breaks a hard rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken (one the checker [`checks`]).
    pub rule: RuleCode,
    pub patient: Option<PatientIx>,
    pub session: Option<SessionIx>,
    /// What is wrong, in rule words; never a patient id, age or date.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.rule.code())?;
        if let Some(p) = self.patient {
            write!(f, " patient #{p}")?;
        }
        if let Some(s) = self.session {
            write!(f, " list #{s}")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Checks a plan against the request it answers; empty when the plan keeps every hard rule.
pub fn check(req: &PlanningRequest, plan: &Plan) -> Vec<Violation> {
    let mut c = Checker {
        req,
        plan,
        out: Vec::new(),
        on_lists: vec![Vec::new(); req.patients.len()],
    };
    c.conservation();
    for list in &plan.lists {
        if list.session < req.sessions.len() {
            c.list(list);
        }
    }
    c.pinned();
    c.moves();
    c.age_windows();
    c.right_place();
    c.beds();
    c.out
}

struct Checker<'a> {
    req: &'a PlanningRequest,
    plan: &'a Plan,
    out: Vec<Violation>,
    /// The lists each patient is on, read from `plan.lists`.
    on_lists: Vec<Vec<SessionIx>>,
}

impl Checker<'_> {
    /// Records one finding.
    fn report(
        &mut self,
        rule: RuleCode,
        patient: Option<PatientIx>,
        session: Option<SessionIx>,
        detail: impl Into<String>,
    ) {
        self.out.push(Violation {
            rule,
            patient,
            session,
            detail: detail.into(),
        });
    }
}

#[cfg(test)]
mod tests;
