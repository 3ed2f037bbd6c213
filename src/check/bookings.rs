//! Existing bookings: pinned bookings keep their list; moves are exactly the bookings that left
//! their list, and each case's `existing` flag agrees with the bookings.

use crate::domain::RuleCode;

use super::facts::{is_pinned, session_id};
use super::Checker;

impl Checker<'_> {
    /// Every pinned booking stays on its list.
    pub(super) fn pinned(&mut self) {
        let req = self.req;
        for b in req.bookings.iter().filter(|b| is_pinned(req, b)) {
            if b.patient < req.patients.len() && !self.on_lists[b.patient].contains(&b.session) {
                let detail = format!(
                    "a pinned booking was taken off list {}",
                    session_id(req, b.session)
                );
                self.report(RuleCode::Pinned, Some(b.patient), Some(b.session), detail);
            }
        }
    }

    /// The moves are exactly the existing bookings whose patient left the list, and each case's
    /// `existing` flag says whether it was already booked there.
    pub(super) fn moves(&mut self) {
        let (req, plan) = (self.req, self.plan);
        for b in req.bookings.iter().filter(|b| b.patient < req.patients.len()) {
            if self.on_lists[b.patient].contains(&b.session) {
                continue;
            }
            let recorded = plan
                .moves
                .iter()
                .filter(|m| m.patient == b.patient && m.from == b.session)
                .count();
            if recorded != 1 {
                let detail = format!(
                    "the booking on list {} moved but is recorded {recorded} times in the moves",
                    session_id(req, b.session)
                );
                self.report(RuleCode::Moves, Some(b.patient), Some(b.session), detail);
            }
        }
        for m in &plan.moves {
            let booked = req
                .bookings
                .iter()
                .any(|b| b.patient == m.patient && b.session == m.from);
            let detail = if m.patient >= req.patients.len() || !booked {
                "a move names no existing booking"
            } else if self.on_lists[m.patient].contains(&m.from) {
                "a move is recorded for a booking that stayed on its list"
            } else if m.to != self.on_lists[m.patient].first().copied() {
                "a move's destination disagrees with the lists"
            } else {
                continue;
            };
            self.report(RuleCode::Moves, Some(m.patient), Some(m.from), detail);
        }
        for list in &plan.lists {
            for case in list.cases.iter().filter(|c| c.patient < req.patients.len()) {
                let was_booked = req
                    .bookings
                    .iter()
                    .any(|b| b.patient == case.patient && b.session == list.session);
                if case.existing != was_booked {
                    self.report(
                        RuleCode::Moves,
                        Some(case.patient),
                        Some(list.session),
                        "the case's existing-booking flag disagrees with the bookings",
                    );
                }
            }
        }
    }
}
