//! Bookings already held: on lists in the first four weeks, only where the rules allow them.

use std::collections::BTreeMap;

use crate::api::proto as pb;
use crate::domain::PlanningRequest;

use super::rng::Rng;

// ---------------------------------------------------------------------------------------------
// Bookings already held
// ---------------------------------------------------------------------------------------------

/// Bookings on lists in the first four weeks: most locked lists (T-2) hold 10-35% of their time
/// in bookings, mostly confirmed; about a third of booking-phase lists (T-4) hold one or two,
/// mostly offered. Clerks book the urgent first, and only local families who are pre-assessed.
/// Every booking is one the rules allow as a new booking and fits the list's remaining capacity.
pub(super) fn make_bookings(
    request: &pb::ProposeAllocationsRequest,
    rng: &mut Rng,
) -> Vec<pb::ExistingBooking> {
    let req = PlanningRequest::try_from(request.clone()).expect("generated requests are valid");
    let locked = req.policy.phases.locked_days;
    let booking = req.policy.phases.booking_days;

    let mut by_specialty: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (p, patient) in req.patients.iter().enumerate() {
        // Families who have a date already are local: they named the sites they accept.
        if patient.preop_status == crate::domain::PreopStatus::Completed
            && patient.accepted_sites.is_some()
            && crate::rules::patient_reasons(&req, p).is_empty()
        {
            by_specialty
                .entry(patient.specialty.as_str())
                .or_default()
                .push(p);
        }
    }
    let mut booked = vec![false; req.patients.len()];
    let mut bookings = Vec::new();
    for s in 0..req.sessions.len() {
        let session = &req.sessions[s];
        let ahead = req.days_ahead(s);
        if session.released || ahead >= booking {
            continue;
        }
        let Some(candidates) = by_specialty.get(session.specialty.as_str()) else {
            continue;
        };
        let in_locked = ahead < locked;
        // Most locked lists hold a few bookings; about a third of booking-phase lists have any yet.
        if !rng.chance(if in_locked { 0.6 } else { 0.35 }) {
            continue;
        }
        let fill = if in_locked {
            0.1 + 0.25 * rng.unit()
        } else {
            0.05 + 0.1 * rng.unit()
        };
        let capacity = req.case_capacity(s);
        let target = (capacity as f64 * fill) as i64;
        let mut used = 0;
        for _ in 0..200 {
            if used >= target {
                break;
            }
            let p = candidates[rng.below(candidates.len())];
            let urgency = match req.patients[p].priority {
                crate::domain::Priority::P2 => 1.0,
                crate::domain::Priority::P3 => 0.8,
                crate::domain::Priority::P4 => 0.5,
            };
            if !rng.chance(urgency) {
                continue;
            }
            let load = req.case_load(p);
            if booked[p] || used + load > capacity || !crate::rules::eligible(&req, p, s) {
                continue;
            }
            booked[p] = true;
            used += load;
            let confirmed = rng.chance(if in_locked { 0.75 } else { 0.35 });
            bookings.push(pb::ExistingBooking {
                patient_id: req.patients[p].id.clone(),
                session_id: session.id.clone(),
                state: if confirmed {
                    pb::BookingState::Confirmed
                } else {
                    pb::BookingState::Offered
                } as i32,
            });
        }
    }
    bookings
}
