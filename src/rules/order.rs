//! List order: the youngest child first (fasting), then children with the policy's flags
//! (diabetes, then latex allergy), then the other children youngest first; reserved adult time
//! runs after all the children.

use crate::domain::policy::OrderFlag;
use crate::domain::{PatientIx, PlanningRequest, SessionIx};

/// Sort key of a case on a list: lower goes first.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderKey {
    pub band: u8,
    pub age_months: u32,
    pub id: String,
}

/// The cases of one list in the order they should run.
pub fn list_order(req: &PlanningRequest, s: SessionIx, cases: &[PatientIx]) -> Vec<PatientIx> {
    let order = &req.policy.list_order;
    let youngest = cases
        .iter()
        .copied()
        .min_by_key(|&p| (req.age_at(p, s), req.patients[p].id.as_str()));
    let band = |p: PatientIx| -> u8 {
        if order.youngest_first && Some(p) == youngest {
            return 0;
        }
        let patient = &req.patients[p];
        for (i, flag) in order.flags_first.iter().enumerate() {
            let has = match flag {
                OrderFlag::Diabetes => patient.diabetes,
                OrderFlag::LatexAllergy => patient.latex_allergy,
            };
            if has {
                return 1 + i as u8;
            }
        }
        u8::MAX
    };
    let mut sorted = cases.to_vec();
    sorted.sort_by_cached_key(|&p| OrderKey {
        band: band(p),
        age_months: req.age_at(p, s),
        id: req.patients[p].id.clone(),
    });
    sorted
}
