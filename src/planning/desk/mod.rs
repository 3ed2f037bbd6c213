//! The booking desk: small questions on a world of held bookings, answered without a solve and
//! valued by the objective the optimiser maximises ([`crate::planning::objective`]).
//! `held` reads the bookings once; `backfill` fills one list's free minutes (an exact knapsack
//! over the pool patients who fit); `offer` ranks the lists one child can go on; `hand` turns a
//! plan made elsewhere into a [`crate::domain::plan::Plan`] the checker can judge.
//!
//! Every answer is the change in the whole plan's objective with everything else held fixed, and
//! eligibility is `rules::` (the planner's own rules). The work is proportional to the list or
//! patient asked about, not to the request.

pub mod backfill;
pub mod hand;
pub mod held;
pub mod offer;

pub use backfill::{recommend_backfill, BackfillAnswer, BackfillAsk, BackfillOption, NotEligible};
pub use hand::{check_hand_plan, hand_plan, Finding};
pub use held::Held;
pub use offer::{offer_dates, DateOffer, OfferAnswer, OfferAsk};

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};
use crate::rules;

/// A validated world the desk answers on, with what is derived from it once and kept while the
/// world is (a world held by id answers many calls): every patient's eligible lists, and the
/// indexes of session and patient ids, each worked out on first need.
#[derive(Debug)]
pub struct World {
    pub req: PlanningRequest,
    eligible: OnceLock<Vec<Vec<SessionIx>>>,
    ids: OnceLock<(HashMap<String, SessionIx>, HashMap<String, PatientIx>)>,
}

impl World {
    pub fn new(req: PlanningRequest) -> World {
        World {
            req,
            eligible: OnceLock::new(),
            ids: OnceLock::new(),
        }
    }

    fn ids(&self) -> &(HashMap<String, SessionIx>, HashMap<String, PatientIx>) {
        self.ids.get_or_init(|| {
            let index = |ids: Vec<&String>| {
                ids.into_iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, id)| (id, i))
                    .collect()
            };
            (
                index(self.req.sessions.iter().map(|s| &s.id).collect()),
                index(self.req.patients.iter().map(|p| &p.id).collect()),
            )
        })
    }

    /// The session with this id.
    pub fn session_ix(&self, id: &str) -> Option<SessionIx> {
        self.ids().0.get(id).copied()
    }

    /// The pool patient with this id.
    pub fn patient_ix(&self, id: &str) -> Option<PatientIx> {
        self.ids().1.get(id).copied()
    }

    /// Every patient's lists, as [`rules::eligible_sessions`] gives them.
    pub fn eligible(&self) -> &[Vec<SessionIx>] {
        self.eligible.get_or_init(|| rules::eligible_sessions(&self.req))
    }
}

/// The first rule that keeps `p` off `s` as a new booking, in the order rules are reported
/// (rules about the patient alone, then [`rules::PAIR_RULES`]); `None` when eligible.
pub fn decisive_reason(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Option<RuleCode> {
    rules::patient_reasons(req, p)
        .into_iter()
        .next()
        .or_else(|| rules::PAIR_RULES.iter().find_map(|rule| rule(req, p, s).err()))
}

#[cfg(test)]
mod tests;
