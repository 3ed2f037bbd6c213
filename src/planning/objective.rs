//! The plan's value under the policy, shared by every planner so that plans from different
//! planners are compared on one scale. Higher is better. Every term is computed here and only
//! here; the model and the solver call these functions (docs/model.md, "Objective").
//!
//! value = Σ booked  weight[p]·(1 + weeks_waited(p)/wait_scale)·(1 − earliness·days_ahead(s)/horizon)
//!       − breach · #(patients booked after, or left unbooked with, a due date inside the horizon)
//!       − Σ lists with cases list_penalty(s)
//!       − move · #(OFFERED bookings moved or dropped)
//!       − hub_non_complex · #(cases that need no specialist centre booked at one, when the
//!                             family accepts a non-specialist site)
//!
//! list_penalty(s) = shortfall · max(0, target − cases) + under_utilisation · max(0, floor − reserved − touch)

use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::rules;

/// The value of booking `p` on `s`, before list-level terms; includes the breach cost when the
/// list is after the patient's due date, and the hub cost when a case that could be done locally
/// is booked at a specialist centre.
pub fn booking_value(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> f64 {
    let o = &req.policy.objective;
    let weight = req.policy.priority.rule(req.patients[p].priority).weight;
    let wait = 1.0 + req.weeks_waited(p) / o.wait_scale_weeks;
    let early = 1.0 - o.earliness * req.days_ahead(s) as f64 / req.horizon_days() as f64;
    let late = match req.due_date(p) {
        Some(due) if req.sessions[s].date > due => o.breach,
        _ => 0.0,
    };
    let hub = if rules::local_case_at_hub(req, p, s) {
        o.hub_non_complex
    } else {
        0.0
    };
    weight * wait * early - late - hub
}

/// The cost of leaving `p` unbooked: a breach when its due date falls inside the horizon.
pub fn unbooked_cost(req: &PlanningRequest, p: PatientIx) -> f64 {
    match req.due_date(p) {
        Some(due) if due <= req.horizon_end() => req.policy.objective.breach,
        _ => 0.0,
    }
}

/// The minimum utilisation minutes a list with cases should reach.
pub fn utilisation_floor(req: &PlanningRequest, s: SessionIx) -> f64 {
    req.policy.lists.utilisation_target * f64::from(req.sessions[s].minutes)
}

/// A list's cost terms, looked up once: the cases-per-list target, the utilisation floor and the
/// reserved minutes, with the policy's weights. Pricing evaluates the penalty for thousands of
/// (cases, minutes) states of one list, so it holds these rather than look them up each time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ListCosts {
    /// Cases-per-list target (0: none).
    pub target: u32,
    /// `utilisation_target × minutes`.
    pub floor: f64,
    /// Minutes reserved for cases outside the pool; they count as used.
    pub reserved: f64,
    shortfall_weight: f64,
    under_weight: f64,
}

impl ListCosts {
    /// The cost terms of list `s`.
    pub fn of(req: &PlanningRequest, s: SessionIx) -> ListCosts {
        let o = &req.policy.objective;
        ListCosts {
            target: req.cases_target(s),
            floor: utilisation_floor(req, s),
            reserved: f64::from(req.sessions[s].reserved_minutes),
            shortfall_weight: o.cases_per_list_shortfall,
            under_weight: o.under_utilisation,
        }
    }

    /// Cost terms from their parts: the target, the utilisation floor and the reserved minutes,
    /// with the shortfall and under-use weights.
    pub fn new(
        target: u32,
        floor: f64,
        reserved: f64,
        shortfall_weight: f64,
        under_weight: f64,
    ) -> ListCosts {
        ListCosts {
            target,
            floor,
            reserved,
            shortfall_weight,
            under_weight,
        }
    }

    /// Cases short of the target with `cases` cases on the list.
    pub fn cases_short(&self, cases: u32) -> u32 {
        self.target.saturating_sub(cases)
    }

    /// Minutes short of the utilisation floor with `touch_minutes` of cases on the list (the
    /// reserved minutes count as used).
    pub fn minutes_under(&self, touch_minutes: f64) -> f64 {
        (self.floor - self.reserved - touch_minutes).max(0.0)
    }

    /// The list penalty of a list with `cases` cases taking `touch_minutes`: shortfall and
    /// under-use, weighted; an empty list costs nothing.
    pub fn penalty(&self, cases: u32, touch_minutes: f64) -> f64 {
        if cases == 0 {
            return 0.0;
        }
        self.shortfall_weight * f64::from(self.cases_short(cases))
            + self.under_weight * self.minutes_under(touch_minutes)
    }
}

/// The list penalty of list `s` with `cases` cases taking `touch_minutes` (see [`ListCosts`]).
pub fn list_penalty(req: &PlanningRequest, s: SessionIx, cases: u32, touch_minutes: f64) -> f64 {
    ListCosts::of(req, s).penalty(cases, touch_minutes)
}

/// The value of the plan that books nobody but the pinned cases: no planning can do worse, so it
/// is the floor of the decision gap.
pub fn empty_plan_value(req: &PlanningRequest) -> f64 {
    let pinned_only: Vec<Option<SessionIx>> = (0..req.patients.len())
        .map(|p| req.booking_of(p).filter(|b| req.is_pinned(b)).map(|b| b.session))
        .collect();
    evaluate(req, &pinned_only)
}

/// The value of a whole plan given each patient's list (`None`: unbooked).
pub fn evaluate(req: &PlanningRequest, assignment: &[Option<SessionIx>]) -> f64 {
    let o = &req.policy.objective;
    let mut value = 0.0;
    let mut cases = vec![0u32; req.sessions.len()];
    let mut minutes = vec![0u32; req.sessions.len()];
    for (p, slot) in assignment.iter().enumerate() {
        match *slot {
            Some(s) => {
                value += booking_value(req, p, s);
                cases[s] += 1;
                minutes[s] += req.patients[p].minutes;
            }
            None => value -= unbooked_cost(req, p),
        }
    }
    for s in 0..req.sessions.len() {
        value -= list_penalty(req, s, cases[s], f64::from(minutes[s]));
    }
    for b in &req.bookings {
        if !req.is_pinned(b) && assignment[b.patient] != Some(b.session) {
            value -= o.move_;
        }
    }
    value
}
