//! The baseline planner: what a booking clerk does today. Bookings already held stay where they
//! are while still allowed; then the most urgent patients first, longest waiting first within a
//! priority, each into the earliest eligible list with room. It is the yardstick the optimiser
//! must beat, and the optimiser's starting point.

use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::beds::{BedNights, Beds};

/// Each patient's list under first-fit (`None`: not booked).
pub fn first_fit(req: &PlanningRequest, options: &[Vec<SessionIx>]) -> Vec<Option<SessionIx>> {
    let mut assignment: Vec<Option<SessionIx>> = vec![None; req.patients.len()];
    let mut free: Vec<i64> = (0..req.sessions.len()).map(|s| req.case_capacity(s)).collect();
    let nights = BedNights::of(req);
    let mut beds = Beds::new(&nights);

    // Pinned bookings stay, whatever room is left (their beds are counted by `BedNights`); then
    // offered dates that are still allowed.
    for pinned_first in [true, false] {
        for b in req.bookings.iter().filter(|b| req.is_pinned(b) == pinned_first) {
            if pinned_first {
                assignment[b.patient] = Some(b.session);
                free[b.session] -= req.case_load(b.patient);
                continue;
            }
            let fits = free[b.session] >= req.case_load(b.patient) && beds.room(req, b.patient, b.session);
            if fits && options[b.patient].contains(&b.session) {
                assignment[b.patient] = Some(b.session);
                free[b.session] -= req.case_load(b.patient);
                beds.take(req, b.patient, b.session);
            }
        }
    }

    let mut queue: Vec<PatientIx> = (0..req.patients.len())
        .filter(|&p| assignment[p].is_none())
        .collect();
    queue.sort_by(|&a, &b| {
        let (pa, pb) = (&req.patients[a], &req.patients[b]);
        (pa.priority, pa.rtt_clock_start, pa.id.as_str()).cmp(&(
            pb.priority,
            pb.rtt_clock_start,
            pb.id.as_str(),
        ))
    });
    let by_time = |s: &SessionIx| {
        let session = &req.sessions[*s];
        (session.date, session.start, session.id.clone())
    };
    for p in queue {
        let mut candidates = options[p].clone();
        candidates.sort_by_key(by_time);
        if let Some(&s) = candidates
            .iter()
            .find(|&&s| free[s] >= req.case_load(p) && beds.room(req, p, s))
        {
            assignment[p] = Some(s);
            free[s] -= req.case_load(p);
            beds.take(req, p, s);
        }
    }
    debug_assert!(assignment
        .iter()
        .enumerate()
        .all(|(p, s)| s.is_none_or(|s| options[p].contains(&s))));
    assignment
}

/// A cheap upper bound on any plan's value: every patient at its best list, ignoring capacity and
/// list-level costs (which are never negative).
pub fn trivial_bound(req: &PlanningRequest, options: &[Vec<SessionIx>]) -> f64 {
    use crate::planning::objective::{booking_value, unbooked_cost};
    let move_cost = req.policy.objective.move_;
    (0..req.patients.len())
        .map(|p| {
            let offered = req.booking_of(p).filter(|b| !req.is_pinned(b)).map(|b| b.session);
            let unbooked = -unbooked_cost(req, p) - if offered.is_some() { move_cost } else { 0.0 };
            let best = options[p]
                .iter()
                .map(|&s| {
                    booking_value(req, p, s)
                        - if offered.is_some_and(|o| o != s) {
                            move_cost
                        } else {
                            0.0
                        }
                })
                .fold(f64::NEG_INFINITY, f64::max);
            let pinned = req.booking_of(p).is_some_and(|b| req.is_pinned(b));
            if pinned {
                best
            } else {
                best.max(unbooked)
            }
        })
        .sum()
}
