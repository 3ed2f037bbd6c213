//! Where: the sites a family accepts, complex cases at specialist centres, and cases that need no
//! specialist centre kept out of one when the family accepts a local site (right procedure, right
//! place).

use super::age::apnoea_risk;
use super::Verdict;
use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};

/// The list is at a site the family accepts (no list of sites: any site, mutual aid).
pub fn accepted_site(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    match &req.patients[p].accepted_sites {
        Some(sites) if !sites.contains(&req.sessions[s].site) => Err(RuleCode::SiteNotAccepted),
        _ => Ok(()),
    }
}

/// A complex case goes to a specialist centre.
pub fn complex_case(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Verdict {
    if req.patients[p].complex && !req.sites[req.sessions[s].site].specialist_centre {
        Err(RuleCode::SpecialistCentreRequired)
    } else {
        Ok(())
    }
}

/// The child needs a specialist centre on the list's date: a complex case, an infant under the
/// specialist-centre age, or an ex-premature infant still at risk of apnoea.
pub fn needs_specialist_centre(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    req.patients[p].complex
        || req.age_at(p, s) < req.policy.age.specialist_centre_under_months
        || apnoea_risk(req, p, s)
}

/// The family accepts a site that is not a specialist centre (no list of sites: any site of the
/// request).
pub fn accepts_local_site(req: &PlanningRequest, p: PatientIx) -> bool {
    match &req.patients[p].accepted_sites {
        Some(sites) => sites.iter().any(|&site| !req.sites[site].specialist_centre),
        None => req.sites.iter().any(|site| !site.specialist_centre),
    }
}

/// A case that could be done locally, on a list at a specialist centre: it needs no specialist
/// centre and the family accepts a non-specialist site. The objective charges
/// `objective.hub_non_complex` for it (seed 004: hubs keep capacity for complex cases).
pub fn local_case_at_hub(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    req.sites[req.sessions[s].site].specialist_centre
        && !needs_specialist_centre(req, p, s)
        && accepts_local_site(req, p)
}
