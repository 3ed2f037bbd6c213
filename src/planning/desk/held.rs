//! The bookings a world holds, read once: each patient's list and each list's cases. The desk's
//! answers change this held plan by a case or a few and value only the change.

use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::beds::BedNights;
use crate::planning::objective::{self, ListCosts};

/// Each patient's held list and each list's held cases, from the existing bookings.
#[derive(Debug, Clone, PartialEq)]
pub struct Held {
    /// Each patient's list (`None`: in the pool, unbooked).
    pub list_of: Vec<Option<SessionIx>>,
    /// Each list's cases.
    pub on_list: Vec<Vec<PatientIx>>,
    /// The bed nights, and the held overnight cases of each.
    nights: BedNights,
    stays: Vec<u32>,
}

impl Held {
    /// The held plan of a request: every existing booking where it is.
    pub fn of(req: &PlanningRequest) -> Held {
        let mut list_of = vec![None; req.patients.len()];
        let mut on_list = vec![Vec::new(); req.sessions.len()];
        let nights = BedNights::of(req);
        let mut stays = vec![0; nights.beds.len()];
        for b in &req.bookings {
            list_of[b.patient] = Some(b.session);
            on_list[b.session].push(b.patient);
            if let Some(g) = nights.night(req, b.patient, b.session) {
                stays[g as usize] += 1;
            }
        }
        Held {
            list_of,
            on_list,
            nights,
            stays,
        }
    }

    /// Children's beds left on the night of list `s` beside the held overnight cases (`None`:
    /// not limited).
    pub fn beds_left(&self, s: SessionIx) -> Option<u32> {
        let g = self.nights.of_session[s]? as usize;
        Some(self.nights.beds[g].saturating_sub(self.stays[g]))
    }

    /// Whether `p` going on `s` needs a bed it does not hold and the night has none left: an
    /// overnight case on a limited night, not moving from a list of the same night.
    pub fn lacks_bed(&self, req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
        let Some(g) = self.nights.night(req, p, s) else {
            return false;
        };
        let holds = self.list_of[p].is_some_and(|old| self.nights.of_session[old] == Some(g));
        !holds && self.beds_left(s) == Some(0)
    }

    /// Capacity minutes list `s` has left for new cases (each counted with its changeover, as
    /// [`PlanningRequest::case_load`]); never negative.
    pub fn free(&self, req: &PlanningRequest, s: SessionIx) -> i64 {
        let used: i64 = self.on_list[s].iter().map(|&p| req.case_load(p)).sum();
        (req.effective_capacity(s) - used).max(0)
    }

    /// Touch minutes of the held cases of `s`.
    pub fn touch_minutes(&self, req: &PlanningRequest, s: SessionIx) -> i64 {
        self.on_list[s]
            .iter()
            .map(|&p| i64::from(req.patients[p].minutes))
            .sum()
    }

    /// The change in list `s`'s penalty when `cases` cases taking `minutes` touch minutes join
    /// it (negative counts leave it): after less before.
    pub fn penalty_change(&self, req: &PlanningRequest, s: SessionIx, cases: i64, minutes: i64) -> f64 {
        let costs = ListCosts::of(req, s);
        let n = self.on_list[s].len() as i64;
        let m = self.touch_minutes(req, s);
        let penalty = |n: i64, m: i64| costs.penalty(n.max(0) as u32, m.max(0) as f64);
        penalty(n + cases, m + minutes) - penalty(n, m)
    }

    /// What booking pool patient `p` on `s` adds to the objective before list terms: its booking
    /// value, and the breach cost it no longer carries unbooked.
    pub fn joining_value(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> f64 {
        objective::booking_value(req, p, s) + objective::unbooked_cost(req, p)
    }

    /// The change in the plan's objective when pool patients `joining` join list `s`, all else
    /// held fixed.
    pub fn joining_gain(&self, req: &PlanningRequest, s: SessionIx, joining: &[PatientIx]) -> f64 {
        let value: f64 = joining.iter().map(|&p| Self::joining_value(req, p, s)).sum();
        let minutes: i64 = joining.iter().map(|&p| i64::from(req.patients[p].minutes)).sum();
        value - self.penalty_change(req, s, joining.len() as i64, minutes)
    }

    /// The change in the plan's objective when `p` goes on `s`, all else held fixed: a pool
    /// patient joins; a booked patient moves (its old list loses it, and moving an unpinned
    /// booking costs the move weight).
    pub fn placing_gain(&self, req: &PlanningRequest, p: PatientIx, s: SessionIx) -> f64 {
        let Some(old) = self.list_of[p] else {
            return self.joining_gain(req, s, &[p]);
        };
        let minutes = i64::from(req.patients[p].minutes);
        let move_cost = match req.booking_of(p) {
            Some(b) if !req.is_pinned(b) => req.policy.objective.move_,
            _ => 0.0,
        };
        objective::booking_value(req, p, s)
            - objective::booking_value(req, p, old)
            - self.penalty_change(req, s, 1, minutes)
            - self.penalty_change(req, old, -1, -minutes)
            - move_cost
    }
}
