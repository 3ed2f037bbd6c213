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

use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};
use crate::rules;

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
