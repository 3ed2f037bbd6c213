//! The lists one child can be offered: every list of the child's specialty it may go on (the
//! planner's rules) with room for it beside the bookings held, ranked by the objective's gain
//! with everything else held fixed, each with the child's place and time on the list as it would
//! run; and, counted, why the other lists of the specialty are out.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::{decisive_reason, Held};
use crate::domain::plan::ListPlan;
use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};
use crate::planning::plan::build_list;
use crate::rules;

/// What is asked: a patient of the request, how many offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OfferAsk {
    pub patient: PatientIx,
    pub limit: usize,
}

/// One list the child can go on.
#[derive(Debug, Clone, PartialEq)]
pub struct DateOffer {
    pub session: SessionIx,
    /// The change in the plan's objective (for a booked child, of the move).
    pub gain: f64,
    /// The list as it would run with the child on it.
    pub list: ListPlan,
    /// The child's 0-based place on `list`.
    pub position: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OfferAnswer {
    pub offers: Vec<DateOffer>,
    /// Lists ruled out, counted under each one's decisive reason (`Capacity`: no room; `NoBed`:
    /// an overnight case on a night with no children's bed left).
    pub ruled_out: Vec<(RuleCode, usize)>,
    /// Lists of the specialty considered (the child's current list excluded).
    pub considered: usize,
}

/// The lists patient `ask.patient` can be offered, best first.
pub fn offer_dates(req: &PlanningRequest, ask: OfferAsk) -> OfferAnswer {
    let held = Held::of(req);
    let p = ask.patient;
    let current = held.list_of[p];
    let mut open: Vec<(SessionIx, f64)> = Vec::new();
    let mut ruled_out: BTreeMap<RuleCode, usize> = BTreeMap::new();
    let mut considered = 0;
    for s in 0..req.sessions.len() {
        if Some(s) == current || rules::specialty(req, p, s).is_err() {
            continue;
        }
        considered += 1;
        let reason = decisive_reason(req, p, s)
            .or_else(|| (req.case_load(p) > held.free(req, s)).then_some(RuleCode::Capacity))
            .or_else(|| held.lacks_bed(req, p, s).then_some(RuleCode::NoBed));
        match reason {
            Some(r) => *ruled_out.entry(r).or_default() += 1,
            None => open.push((s, held.placing_gain(req, p, s))),
        }
    }
    open.sort_by(|a, b| {
        b.1.partial_cmp(&a.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| req.sessions[a.0].date.cmp(&req.sessions[b.0].date))
            .then_with(|| a.0.cmp(&b.0))
    });
    open.truncate(ask.limit);
    let offers = open
        .into_iter()
        .map(|(s, gain)| {
            let mut on = held.on_list[s].clone();
            on.push(p);
            let list = build_list(req, s, &on);
            let position = list
                .cases
                .iter()
                .position(|c| c.patient == p)
                .expect("the child is on the list");
            DateOffer {
                session: s,
                gain,
                list,
                position,
            }
        })
        .collect();
    let mut ruled_out: Vec<(RuleCode, usize)> = ruled_out.into_iter().collect();
    ruled_out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    OfferAnswer {
        offers,
        ruled_out,
        considered,
    }
}
