//! Who holds the list: specialty, named surgeon, HVLC procedure group; and EBI approval.

use super::Verdict;
use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};

/// Patient and list specialty (treatment function code) match.
pub fn specialty(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    if req.patients[p].specialty == req.sessions[s].specialty {
        Ok(())
    } else {
        Err(RuleCode::SpecialtyMismatch)
    }
}

/// A patient listed for a named surgeon goes on that surgeon's list.
pub fn surgeon(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    match &req.patients[p].surgeon {
        Some(named) if req.sessions[s].surgeon.as_deref() != Some(named.as_str()) => {
            Err(RuleCode::SurgeonMismatch)
        }
        _ => Ok(()),
    }
}

/// An HVLC list takes only cases of its procedure group.
pub fn hvlc_group(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    match &req.sessions[s].hvlc_group {
        Some(g) if req.group_of(p) != Some(g.as_str()) => Err(RuleCode::HvlcGroupMismatch),
        _ => Ok(()),
    }
}

/// Evidence-Based Interventions procedures (config: OPCS prefixes) need approval.
pub fn ebi(req: &PlanningRequest, p: PatientIx) -> Verdict {
    let patient = &req.patients[p];
    let listed = req
        .policy
        .ebi
        .procedure_prefixes
        .iter()
        .any(|prefix| patient.procedure.starts_with(prefix.as_str()));
    if listed && !patient.ebi_approved {
        Err(RuleCode::EbiNotApproved)
    } else {
        Ok(())
    }
}
