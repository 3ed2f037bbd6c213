//! Eligibility and list-order rules: the single source of truth the planners and the model share.
//! Each rule is one pure function that either passes or names its stable [`Reason`] code; every
//! threshold comes from the policy (`solver-configs/`). The plan checker (`check.rs`) restates the
//! hard rules independently.

mod age;
mod order;
mod phase;
mod site;
mod specialty;

pub use age::{adult_list, age_band, paediatric_anaesthetist, paediatric_list, specialist_age};
pub use order::{list_order, OrderKey};
pub use phase::{locked_list, preop_ready, released, unavailable};
pub use site::{accepted_site, complex_case};
pub use specialty::{ebi, hvlc_group, specialty, surgeon};

use crate::domain::{PatientIx, PlanningRequest, SessionIx};

/// Why a patient cannot go on a list (or cannot be booked at all). The codes are stable API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    SessionReleased,
    SpecialtyMismatch,
    SurgeonMismatch,
    HvlcGroupMismatch,
    SiteNotAccepted,
    ChildOnAdultList,
    AdultOnPaediatricList,
    OutsideAgeBand,
    SpecialistCentreRequired,
    PaediatricAnaesthetistRequired,
    PreopNotReady,
    LockedList,
    Unavailable,
    CaseTooLong,
    EbiNotApproved,
    /// Eligible lists exist, but they are full with cases of higher value.
    Capacity,
    /// No list in the request takes the patient.
    NoEligibleSession,
}

/// Every reason, for reading codes back.
pub const ALL_REASONS: &[Reason] = &[
    Reason::SessionReleased,
    Reason::SpecialtyMismatch,
    Reason::SurgeonMismatch,
    Reason::HvlcGroupMismatch,
    Reason::SiteNotAccepted,
    Reason::ChildOnAdultList,
    Reason::AdultOnPaediatricList,
    Reason::OutsideAgeBand,
    Reason::SpecialistCentreRequired,
    Reason::PaediatricAnaesthetistRequired,
    Reason::PreopNotReady,
    Reason::LockedList,
    Reason::Unavailable,
    Reason::CaseTooLong,
    Reason::EbiNotApproved,
    Reason::Capacity,
    Reason::NoEligibleSession,
];

impl Reason {
    /// The stable code used in responses.
    pub fn code(self) -> &'static str {
        match self {
            Reason::SessionReleased => "session_released",
            Reason::SpecialtyMismatch => "specialty_mismatch",
            Reason::SurgeonMismatch => "surgeon_mismatch",
            Reason::HvlcGroupMismatch => "hvlc_group_mismatch",
            Reason::SiteNotAccepted => "site_not_accepted",
            Reason::ChildOnAdultList => "child_on_adult_list",
            Reason::AdultOnPaediatricList => "adult_on_paediatric_list",
            Reason::OutsideAgeBand => "outside_age_band",
            Reason::SpecialistCentreRequired => "specialist_centre_required",
            Reason::PaediatricAnaesthetistRequired => "paediatric_anaesthetist_required",
            Reason::PreopNotReady => "preop_not_ready",
            Reason::LockedList => "locked_list",
            Reason::Unavailable => "unavailable",
            Reason::CaseTooLong => "case_too_long",
            Reason::EbiNotApproved => "ebi_not_approved",
            Reason::Capacity => "capacity",
            Reason::NoEligibleSession => "no_eligible_session",
        }
    }

    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            Reason::SessionReleased => "the list has been released",
            Reason::SpecialtyMismatch => "the list is held by another specialty",
            Reason::SurgeonMismatch => "the patient is listed for a named surgeon who is not on this list",
            Reason::HvlcGroupMismatch => "the list is an HVLC list for another procedure group",
            Reason::SiteNotAccepted => "the family has not accepted this site",
            Reason::ChildOnAdultList => "a child cannot go on an adult list",
            Reason::AdultOnPaediatricList => "an adult cannot go on a paediatric list",
            Reason::OutsideAgeBand => "the patient's age is outside the list's age band",
            Reason::SpecialistCentreRequired => "an infant or complex case needs a specialist centre",
            Reason::PaediatricAnaesthetistRequired => {
                "a young child needs a paediatric anaesthetist on the list"
            }
            Reason::PreopNotReady => {
                "the list is within T-4 weeks and the pre-operative assessment is not done or has expired"
            }
            Reason::LockedList => "the list is locked (T-2) and does not take new patients",
            Reason::Unavailable => "the family is unavailable on that date",
            Reason::CaseTooLong => "the case does not fit in the list's free minutes",
            Reason::EbiNotApproved => "the procedure needs Evidence-Based Interventions approval",
            Reason::Capacity => "eligible lists are full with more urgent or longer-waiting cases",
            Reason::NoEligibleSession => "no list in the plan can take this patient",
        }
    }
}

/// A rule's verdict for one patient on one list.
pub type Verdict = Result<(), Reason>;

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
        Err(Reason::CaseTooLong)
    }
}

/// Rules about the patient alone, whatever the list.
pub fn patient_reasons(req: &PlanningRequest, p: PatientIx) -> Vec<Reason> {
    ebi(req, p).err().into_iter().collect()
}

/// Every pair rule the patient breaks on the session (empty: eligible as a new booking).
pub fn pair_reasons(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Vec<Reason> {
    PAIR_RULES
        .iter()
        .filter_map(|rule| rule(req, p, s).err())
        .collect()
}

/// The rules a pinned booking must still satisfy: all but those about taking new patients.
pub fn pinned_reasons(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Vec<Reason> {
    let mut reasons: Vec<Reason> = patient_reasons(req, p);
    reasons.extend(
        pair_reasons(req, p, s)
            .into_iter()
            .filter(|r| !matches!(r, Reason::LockedList | Reason::PreopNotReady)),
    );
    reasons
}

/// Whether the patient may be newly placed on the session.
pub fn eligible(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    PAIR_RULES.iter().all(|rule| rule(req, p, s).is_ok())
}

/// Eligible patient-list pairs: for every patient, the lists it may go on (empty when a patient
/// rule such as EBI rules it out). A pinned booking is always its own single option.
pub fn eligible_sessions(req: &PlanningRequest) -> Vec<Vec<SessionIx>> {
    let mut by_patient = vec![Vec::new(); req.patients.len()];
    for (p, options) in by_patient.iter_mut().enumerate() {
        if let Some(b) = req.booking_of(p).filter(|b| req.is_pinned(b)) {
            options.push(b.session);
            continue;
        }
        if !patient_reasons(req, p).is_empty() {
            continue;
        }
        let offered = req.booking_of(p).map(|b| b.session);
        options.extend(
            (0..req.sessions.len())
                .filter(|&s| eligible(req, p, s) || (Some(s) == offered && offered_may_stay(req, p, s))),
        );
    }
    by_patient
}

/// An OFFERED booking outside the locked phase may stay where it is if it breaks no rule other
/// than pre-op readiness (the family already has the date; pre-op is arranged for it).
fn offered_may_stay(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    pair_reasons(req, p, s)
        .iter()
        .all(|r| *r == Reason::PreopNotReady)
}

#[cfg(test)]
mod tests;
