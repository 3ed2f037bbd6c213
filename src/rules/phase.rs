//! When: released lists, 6-4-2 phases (locked lists, pre-op by T-4), and the family's dates.

use super::Verdict;
use crate::domain::{PatientIx, Phase, PlanningRequest, PreopStatus, RuleCode, SessionIx};

/// A released list takes nobody.
pub fn released(req: &PlanningRequest, _p: PatientIx, s: SessionIx) -> Verdict {
    if req.sessions[s].released {
        Err(RuleCode::SessionReleased)
    } else {
        Ok(())
    }
}

/// A locked list (within T-2 weeks) takes new patients only to fill gaps, when the policy allows.
pub fn locked_list(req: &PlanningRequest, _p: PatientIx, s: SessionIx) -> Verdict {
    if req.phase(s) == Phase::Locked && !req.policy.phases.locked_lists_fill_gaps {
        Err(RuleCode::LockedList)
    } else {
        Ok(())
    }
}

/// Lists within T-4 weeks take only patients whose pre-op assessment is done and still valid on
/// the list's date.
pub fn preop_ready(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    if req.days_ahead(s) >= req.policy.phases.booking_days {
        return Ok(());
    }
    let patient = &req.patients[p];
    let valid_until = patient
        .preop_date
        .map(|d| d + chrono::Duration::days(req.policy.preop.valid_days));
    let done = patient.preop_status == PreopStatus::Completed
        && valid_until.is_some_and(|until| until >= req.sessions[s].date);
    if done {
        Ok(())
    } else {
        Err(RuleCode::PreopNotReady)
    }
}

/// The family is available on the list's date.
pub fn unavailable(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    let date = req.sessions[s].date;
    if req.patients[p]
        .unavailable
        .iter()
        .any(|(from, to)| *from <= date && date <= *to)
    {
        Err(RuleCode::Unavailable)
    } else {
        Ok(())
    }
}
