//! Age-appropriate lists (RCoA GPAS ch. 10): list type, age band, infants at specialist centres,
//! young children with a paediatric anaesthetist, ex-premature infants under their post-conception
//! age threshold. Ages are counted at the list's date.

use super::Verdict;
use crate::domain::{ListType, PatientIx, PlanningRequest, RuleCode, SessionIx};

/// No child on an adult list, unless 16-17 and the patient accepts adult services.
pub fn adult_list(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    if req.sessions[s].list_type != ListType::Adult {
        return Ok(());
    }
    let age = req.age_at(p, s);
    let a = &req.policy.age;
    let adult = age >= a.paediatric_list_under_months;
    let may_choose = age >= a.adult_services_choice_from_months && req.patients[p].accepts_adult_services;
    if adult || may_choose {
        Ok(())
    } else {
        Err(RuleCode::ChildOnAdultList)
    }
}

/// A paediatric list takes only patients under 18 (configurable).
pub fn paediatric_list(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    if req.sessions[s].list_type == ListType::Paediatric
        && req.age_at(p, s) >= req.policy.age.paediatric_list_under_months
    {
        Err(RuleCode::AdultOnPaediatricList)
    } else {
        Ok(())
    }
}

/// The patient's age is within the list's accepted band (inclusive, in months).
pub fn age_band(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    let session = &req.sessions[s];
    let age = req.age_at(p, s);
    let below = session.min_age_months.is_some_and(|min| age < min);
    let above = session.max_age_months.is_some_and(|max| age > max);
    if below || above {
        Err(RuleCode::OutsideAgeBand)
    } else {
        Ok(())
    }
}

/// Under the configured age (default 12 months), only at a specialist centre.
pub fn specialist_age(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    let young = req.age_at(p, s) < req.policy.age.specialist_centre_under_months;
    if young && !req.sites[req.sessions[s].site].specialist_centre {
        Err(RuleCode::SpecialistCentreRequired)
    } else {
        Ok(())
    }
}

/// Under the configured age (default 36 months), only on a list with a paediatric anaesthetist.
pub fn paediatric_anaesthetist(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    let young = req.age_at(p, s) < req.policy.age.paediatric_anaesthetist_under_months;
    if young && !req.sessions[s].paediatric_anaesthetist {
        Err(RuleCode::PaediatricAnaesthetistRequired)
    } else {
        Ok(())
    }
}

/// An infant whose gestation at birth is known and whose post-conception age on the list's date is
/// under its threshold (preterm: 60 weeks, term-born: 44, configurable) goes only on a list at a
/// specialist centre with a paediatric anaesthetist.
pub fn ex_premature(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    let session = &req.sessions[s];
    let watched = req.sites[session.site].specialist_centre && session.paediatric_anaesthetist;
    if apnoea_risk(req, p, s) && !watched {
        Err(RuleCode::ExPrematureInfant)
    } else {
        Ok(())
    }
}

/// An infant with a gestation on record whose post-conception age on the list's date is under its
/// threshold: at risk of apnoea after an anaesthetic.
pub fn apnoea_risk(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    let (Some(gestation), Some(pca_days)) = (req.patients[p].gestation_weeks, req.post_conception_days(p, s))
    else {
        return false;
    };
    pca_days < i64::from(req.policy.ex_premature.at_risk_until_weeks(gestation)) * 7
}
