//! Every rule, named once. The eligibility rules (`rules/`, one pure function each) return these
//! codes, the plan checker (`check/`) reports its findings with them, and responses and reports
//! show their codes and sentences. The codes are stable API.

/// A rule: its stable code ([`RuleCode::code`]) and its sentence for people
/// ([`RuleCode::describe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleCode {
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
    /// An ex-premature (or term-born) infant under its post-conception age threshold goes only on
    /// a list at a specialist centre with a paediatric anaesthetist.
    ExPrematureInfant,
    PreopNotReady,
    LockedList,
    Unavailable,
    CaseTooLong,
    EbiNotApproved,
    /// Cases and changeovers fit in the list: eligible lists are full (a reason a patient is not
    /// booked), or a list holds more than its minutes (a broken plan).
    Capacity,
    /// Overnight cases on one night at a site fit in its children's beds: the eligible lists'
    /// nights have no bed left (a reason a patient is not booked), or a night holds more
    /// overnight cases than beds (a broken plan).
    NoBed,
    /// No list in the request takes the patient.
    NoEligibleSession,
    /// The plan's own consistency, judged only by the plan checker: case times.
    Times,
    /// The order of the cases on a list.
    Order,
    /// Every patient exactly once, the assignment and the lists agreeing.
    Conservation,
    /// A pinned booking keeps its list.
    Pinned,
    /// Moves are exactly the bookings that left their list.
    Moves,
    /// A pinned booking that breaks a rule is reported as a conflict.
    ConflictUnreported,
    /// The plan's count of children booked past, or left past, their procedure's age window
    /// agrees with the request (judged only by the plan checker).
    AgeWindow,
    /// Right procedure, right place: the plan's counts of cases at specialist centres that need
    /// none, and of hub minutes taken by children who need one, agree with the request, and a hub
    /// booking explained by no local capacity has none (judged only by the plan checker).
    RightPlace,
}

impl RuleCode {
    /// Every rule, for reading codes back.
    pub const ALL: [RuleCode; 27] = [
        RuleCode::SessionReleased,
        RuleCode::SpecialtyMismatch,
        RuleCode::SurgeonMismatch,
        RuleCode::HvlcGroupMismatch,
        RuleCode::SiteNotAccepted,
        RuleCode::ChildOnAdultList,
        RuleCode::AdultOnPaediatricList,
        RuleCode::OutsideAgeBand,
        RuleCode::SpecialistCentreRequired,
        RuleCode::PaediatricAnaesthetistRequired,
        RuleCode::ExPrematureInfant,
        RuleCode::PreopNotReady,
        RuleCode::LockedList,
        RuleCode::Unavailable,
        RuleCode::CaseTooLong,
        RuleCode::EbiNotApproved,
        RuleCode::Capacity,
        RuleCode::NoBed,
        RuleCode::NoEligibleSession,
        RuleCode::Times,
        RuleCode::Order,
        RuleCode::Conservation,
        RuleCode::Pinned,
        RuleCode::Moves,
        RuleCode::ConflictUnreported,
        RuleCode::AgeWindow,
        RuleCode::RightPlace,
    ];

    /// The stable code used in responses and logs.
    pub fn code(self) -> &'static str {
        match self {
            RuleCode::SessionReleased => "session_released",
            RuleCode::SpecialtyMismatch => "specialty_mismatch",
            RuleCode::SurgeonMismatch => "surgeon_mismatch",
            RuleCode::HvlcGroupMismatch => "hvlc_group_mismatch",
            RuleCode::SiteNotAccepted => "site_not_accepted",
            RuleCode::ChildOnAdultList => "child_on_adult_list",
            RuleCode::AdultOnPaediatricList => "adult_on_paediatric_list",
            RuleCode::OutsideAgeBand => "outside_age_band",
            RuleCode::SpecialistCentreRequired => "specialist_centre_required",
            RuleCode::PaediatricAnaesthetistRequired => "paediatric_anaesthetist_required",
            RuleCode::ExPrematureInfant => "ex_premature_infant",
            RuleCode::PreopNotReady => "preop_not_ready",
            RuleCode::LockedList => "locked_list",
            RuleCode::Unavailable => "unavailable",
            RuleCode::CaseTooLong => "case_too_long",
            RuleCode::EbiNotApproved => "ebi_not_approved",
            RuleCode::Capacity => "capacity",
            RuleCode::NoBed => "no_bed",
            RuleCode::NoEligibleSession => "no_eligible_session",
            RuleCode::Times => "times",
            RuleCode::Order => "order",
            RuleCode::Conservation => "conservation",
            RuleCode::Pinned => "pinned",
            RuleCode::Moves => "moves",
            RuleCode::ConflictUnreported => "conflict_unreported",
            RuleCode::AgeWindow => "age_window",
            RuleCode::RightPlace => "right_place",
        }
    }

    /// A sentence for people.
    pub fn describe(self) -> &'static str {
        match self {
            RuleCode::SessionReleased => "the list has been released",
            RuleCode::SpecialtyMismatch => "the list is held by another specialty",
            RuleCode::SurgeonMismatch => "the patient is listed for a named surgeon who is not on this list",
            RuleCode::HvlcGroupMismatch => "the list is an HVLC list for another procedure group",
            RuleCode::SiteNotAccepted => "the family has not accepted this site",
            RuleCode::ChildOnAdultList => "a child cannot go on an adult list",
            RuleCode::AdultOnPaediatricList => "an adult cannot go on a paediatric list",
            RuleCode::OutsideAgeBand => "the patient's age is outside the list's age band",
            RuleCode::SpecialistCentreRequired => "an infant or complex case needs a specialist centre",
            RuleCode::PaediatricAnaesthetistRequired => {
                "a young child needs a paediatric anaesthetist on the list"
            }
            RuleCode::ExPrematureInfant => {
                "an ex-premature infant needs a specialist centre with a paediatric anaesthetist until its post-conception age threshold"
            }
            RuleCode::PreopNotReady => {
                "the list is within T-4 weeks and the pre-operative assessment is not done or has expired"
            }
            RuleCode::LockedList => "the list is locked (T-2) and does not take new patients",
            RuleCode::Unavailable => "the family is unavailable on that date",
            RuleCode::CaseTooLong => "the case does not fit in the list's free minutes",
            RuleCode::EbiNotApproved => "the procedure needs Evidence-Based Interventions approval",
            RuleCode::Capacity => "eligible lists are full with more urgent or longer-waiting cases",
            RuleCode::NoBed => "no children's bed is left at the site on the night of the operation",
            RuleCode::NoEligibleSession => "no list in the plan can take this patient",
            RuleCode::Times => {
                "cases start with the list, run their minutes, leave a turnaround and end in time"
            }
            RuleCode::Order => "youngest first, then flagged children, then the others by age",
            RuleCode::Conservation => "every patient is on one list or unallocated, exactly once",
            RuleCode::Pinned => "a pinned booking stays on its list",
            RuleCode::Moves => "the moves are exactly the existing bookings that left their list",
            RuleCode::ConflictUnreported => "a pinned booking that breaks a rule is reported as a conflict",
            RuleCode::AgeWindow => {
                "children booked past, or left past, their procedure's age window are counted as such"
            }
            RuleCode::RightPlace => {
                "cases at specialist centres that need none are counted and explained as such"
            }
        }
    }

    /// The rule of a stable code, if it names one.
    pub fn from_code(code: &str) -> Option<RuleCode> {
        RuleCode::ALL.into_iter().find(|r| r.code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::RuleCode;

    #[test]
    fn every_code_reads_back_and_is_unique() {
        for rule in RuleCode::ALL {
            assert_eq!(RuleCode::from_code(rule.code()), Some(rule));
            assert!(!rule.describe().is_empty());
        }
        assert_eq!(RuleCode::from_code("nope"), None);
    }
}
