//! The case rules, restated from the raw request fields: whether patient `p` may be on list `s`.

use crate::domain::{ListType, PatientIx, PlanningRequest, PreopStatus, RuleCode, SessionIx};

use super::facts::{age_at, apnoea_risk, days_ahead, is_locked, procedure_groups};

/// The rules patient `p` breaks on list `s`, as (code, detail). `new_booking`: the patient was
/// not already booked on this list, so the rules about taking new patients apply too.
pub(super) fn case_breaks(
    req: &PlanningRequest,
    p: PatientIx,
    s: SessionIx,
    new_booking: bool,
) -> Vec<(RuleCode, String)> {
    let patient = &req.patients[p];
    let session = &req.sessions[s];
    let policy = &req.policy;
    let age = age_at(req, p, s);
    let specialist = req
        .sites
        .get(session.site)
        .is_some_and(|site| site.specialist_centre);
    let mut breaks: Vec<(RuleCode, String)> = Vec::new();
    let mut add = |rule: RuleCode, detail: String| breaks.push((rule, detail));

    if patient.specialty != session.specialty {
        add(
            RuleCode::SpecialtyMismatch,
            format!("list {} is held by another specialty", session.id),
        );
    }
    if let Some(named) = &patient.surgeon {
        if session.surgeon.as_ref() != Some(named) {
            add(
                RuleCode::SurgeonMismatch,
                format!("the named surgeon is not on list {}", session.id),
            );
        }
    }
    if let Some(group) = &session.hvlc_group {
        if !procedure_groups(req, &patient.procedure).contains(group.as_str()) {
            add(
                RuleCode::HvlcGroupMismatch,
                format!("list {} is an HVLC list for another procedure group", session.id),
            );
        }
    }
    if let Some(sites) = &patient.accepted_sites {
        if !sites.contains(&session.site) {
            add(
                RuleCode::SiteNotAccepted,
                format!("the family has not accepted the site of list {}", session.id),
            );
        }
    }
    if session.released {
        add(
            RuleCode::SessionReleased,
            format!("list {} has been released", session.id),
        );
    }
    let a = &policy.age;
    if session.list_type == ListType::Adult
        && age < a.paediatric_list_under_months
        && !(age >= a.adult_services_choice_from_months && patient.accepts_adult_services)
    {
        add(
            RuleCode::ChildOnAdultList,
            format!("a child is on adult list {}", session.id),
        );
    }
    if session.list_type == ListType::Paediatric && age >= a.paediatric_list_under_months {
        add(
            RuleCode::AdultOnPaediatricList,
            format!("an adult is on paediatric list {}", session.id),
        );
    }
    let below = session.min_age_months.is_some_and(|min| age < min);
    let above = session.max_age_months.is_some_and(|max| age > max);
    if below || above {
        add(
            RuleCode::OutsideAgeBand,
            format!("outside the age band of list {}", session.id),
        );
    }
    if (age < a.specialist_centre_under_months || patient.complex) && !specialist {
        add(
            RuleCode::SpecialistCentreRequired,
            format!(
                "an infant or complex case is on list {} away from a specialist centre",
                session.id
            ),
        );
    }
    if age < a.paediatric_anaesthetist_under_months && !session.paediatric_anaesthetist {
        add(
            RuleCode::PaediatricAnaesthetistRequired,
            format!(
                "a young child is on list {} without a paediatric anaesthetist",
                session.id
            ),
        );
    }
    if apnoea_risk(req, p, s) && !(specialist && session.paediatric_anaesthetist) {
        add(
            RuleCode::ExPrematureInfant,
            format!(
                "an infant under its post-conception age threshold is on list {} away from a specialist centre with a paediatric anaesthetist",
                session.id
            ),
        );
    }
    if new_booking && days_ahead(req, s) < policy.phases.booking_days {
        let valid_until = patient
            .preop_date
            .map(|d| d + chrono::Duration::days(policy.preop.valid_days));
        let ready = patient.preop_status == PreopStatus::Completed
            && valid_until.is_some_and(|until| until >= session.date);
        if !ready {
            add(
                RuleCode::PreopNotReady,
                format!(
                    "newly booked within T-4 on list {} without a valid pre-operative assessment",
                    session.id
                ),
            );
        }
    }
    if new_booking && is_locked(req, s) && !policy.phases.locked_lists_fill_gaps {
        add(
            RuleCode::LockedList,
            format!("a new patient on locked list {}", session.id),
        );
    }
    if patient
        .unavailable
        .iter()
        .any(|(from, to)| *from <= session.date && session.date <= *to)
    {
        add(
            RuleCode::Unavailable,
            format!("the family is unavailable on the day of list {}", session.id),
        );
    }
    let needs_ebi = policy
        .ebi
        .procedure_prefixes
        .iter()
        .any(|prefix| patient.procedure.starts_with(prefix.as_str()));
    if needs_ebi && !patient.ebi_approved {
        add(
            RuleCode::EbiNotApproved,
            "the procedure needs Evidence-Based Interventions approval".to_string(),
        );
    }
    breaks
}
