//! The plan's value under the policy (issue 4 objective), shared by every planner so that plans from
//! different planners are compared on one scale. Higher is better.
//!
//! value = Σ booked  weight[p]·(1 + weeks_waited(p)/wait_scale)·(1 − earliness·days_ahead(s)/horizon)
//!       − breach · #(patients booked after, or left unbooked with, a due date inside the horizon)
//!       − shortfall · Σ lists with cases max(0, target − cases)
//!       − move · #(OFFERED bookings moved or dropped)
//!       − under_utilisation · Σ lists with cases max(0, target·minutes − booked − reserved)

use crate::domain::{PatientIx, PlanningRequest, SessionIx};

/// The value of booking `p` on `s`, before list-level terms; includes the breach cost when the
/// list is after the patient's due date.
pub fn booking_value(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> f64 {
    let o = &req.policy.objective;
    let weight = req.policy.priority.rule(req.patients[p].priority).weight;
    let wait = 1.0 + req.weeks_waited(p) / o.wait_scale_weeks;
    let early = 1.0 - o.earliness * req.days_ahead(s) as f64 / req.horizon_days() as f64;
    let late = match req.due_date(p) {
        Some(due) if req.sessions[s].date > due => o.breach,
        _ => 0.0,
    };
    weight * wait * early - late
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
        if cases[s] == 0 {
            continue;
        }
        let target = req.cases_target(s);
        value -= o.cases_per_list_shortfall * f64::from(target.saturating_sub(cases[s]));
        let used = f64::from(minutes[s] + req.sessions[s].reserved_minutes);
        value -= o.under_utilisation * (utilisation_floor(req, s) - used).max(0.0);
    }
    for b in &req.bookings {
        if !req.is_pinned(b) && assignment[b.patient] != Some(b.session) {
            value -= o.move_;
        }
    }
    value
}
