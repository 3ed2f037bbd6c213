//! Where: the sites a family accepts, and complex cases at specialist centres.

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
