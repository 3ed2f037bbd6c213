//! Eligibility and list-order rules: the single source of truth the planners and the model share.
//! Each rule is one pure function that either passes or names its [`RuleCode`] (code and
//! sentence); every threshold comes from the policy (`solver-configs/`). The plan checker
//! (`check/`) restates the hard rules independently, under the same codes.
//!
//! Imports: `domain`.

mod age;
mod order;
mod phase;
mod site;
mod specialty;

pub use age::{
    adult_list, age_band, apnoea_risk, ex_premature, paediatric_anaesthetist, paediatric_list, specialist_age,
};
pub use order::{list_order, OrderKey};
pub use phase::{locked_list, preop_ready, released, unavailable};
pub use site::{accepted_site, accepts_local_site, complex_case, local_case_at_hub, needs_specialist_centre};
pub use specialty::{ebi, hvlc_group, specialty, surgeon};

use std::collections::HashMap;

use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};

/// A rule's verdict for one patient on one list.
pub type Verdict = Result<(), RuleCode>;

/// Every pair rule, in the order their reasons are reported (most structural first).
pub const PAIR_RULES: &[fn(&PlanningRequest, PatientIx, SessionIx) -> Verdict] = &[
    released,
    specialty,
    surgeon,
    hvlc_group,
    accepted_site,
    adult_list,
    paediatric_list,
    age_band,
    specialist_age,
    complex_case,
    paediatric_anaesthetist,
    ex_premature,
    locked_list,
    preop_ready,
    unavailable,
    case_fits,
];

/// Capacity of an empty list: the case and a turnaround fit in the list's free minutes.
pub fn case_fits(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    if req.case_load(p) <= req.case_capacity(s) {
        Ok(())
    } else {
        Err(RuleCode::CaseTooLong)
    }
}

/// Rules about the patient alone, whatever the list.
pub fn patient_reasons(req: &PlanningRequest, p: PatientIx) -> Vec<RuleCode> {
    ebi(req, p).err().into_iter().collect()
}

/// Every pair rule the patient breaks on the session (empty: eligible as a new booking).
pub fn pair_reasons(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Vec<RuleCode> {
    PAIR_RULES
        .iter()
        .filter_map(|rule| rule(req, p, s).err())
        .collect()
}

/// The rules a pinned booking must still satisfy: all but those about taking new patients.
pub fn pinned_reasons(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Vec<RuleCode> {
    let mut reasons: Vec<RuleCode> = patient_reasons(req, p);
    reasons.extend(
        pair_reasons(req, p, s)
            .into_iter()
            .filter(|r| !matches!(r, RuleCode::LockedList | RuleCode::PreopNotReady)),
    );
    reasons
}

/// Whether the patient may be newly placed on the session.
pub fn eligible(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    PAIR_RULES.iter().all(|rule| rule(req, p, s).is_ok())
}

/// Each specialty's lists, in index order. The specialty rule keeps a patient off every other
/// list, so these are the only lists worth asking the other rules about.
pub struct ListsBySpecialty<'a>(HashMap<&'a str, Vec<SessionIx>>);

impl<'a> ListsBySpecialty<'a> {
    pub fn of(req: &'a PlanningRequest) -> Self {
        let mut by = HashMap::<&str, Vec<SessionIx>>::new();
        for (s, session) in req.sessions.iter().enumerate() {
            by.entry(session.specialty.as_str()).or_default().push(s);
        }
        ListsBySpecialty(by)
    }

    /// The lists of patient `p`'s specialty (none: empty).
    pub fn of_patient(&self, req: &PlanningRequest, p: PatientIx) -> &[SessionIx] {
        self.0
            .get(req.patients[p].specialty.as_str())
            .map_or(&[], Vec::as_slice)
    }
}

/// Eligible patient-list pairs: for every patient, the lists it may go on (empty when a patient
/// rule such as EBI rules it out). A pinned booking is always its own single option.
pub fn eligible_sessions(req: &PlanningRequest) -> Vec<Vec<SessionIx>> {
    let lists = ListsBySpecialty::of(req);
    (0..req.patients.len())
        .map(|p| patient_options(req, p, lists.of_patient(req, p)))
        .collect()
}

/// The lists patient `p` may go on, from `lists` (which must hold every list of its specialty):
/// its pinned list alone, none when a patient rule rules it out, else the lists it is eligible
/// for and its OFFERED list when the booking may stay.
pub fn patient_options(req: &PlanningRequest, p: PatientIx, lists: &[SessionIx]) -> Vec<SessionIx> {
    if let Some(b) = req.booking_of(p).filter(|b| req.is_pinned(b)) {
        return vec![b.session];
    }
    if !patient_reasons(req, p).is_empty() {
        return Vec::new();
    }
    let offered = req.booking_of(p).map(|b| b.session);
    lists
        .iter()
        .copied()
        .filter(|&s| eligible(req, p, s) || (Some(s) == offered && offered_may_stay(req, p, s)))
        .collect()
}

/// An OFFERED booking outside the locked phase may stay where it is if it breaks no rule other
/// than pre-op readiness (the family already has the date; pre-op is arranged for it).
fn offered_may_stay(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    pair_reasons(req, p, s)
        .iter()
        .all(|r| *r == RuleCode::PreopNotReady)
}

#[cfg(test)]
mod tests;
