//! What the checker works out again for itself, from the raw request fields and the policy
//! numbers (never from the helper methods of `PlanningRequest`): days ahead, the locked phase,
//! pinned bookings, ages, list capacity and procedure groups.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveTime, Timelike};

use crate::domain::{BookingState, Date, ExistingBooking, PatientIx, PlanningRequest, SessionIx};

/// Days from the planning date to the session.
pub(super) fn days_ahead(req: &PlanningRequest, s: SessionIx) -> i64 {
    (req.sessions[s].date - req.planning_date).num_days()
}

/// Within T-2 weeks (6-4-2): bookings on it stay.
pub(super) fn is_locked(req: &PlanningRequest, s: SessionIx) -> bool {
    days_ahead(req, s) < req.policy.phases.locked_days
}

/// A booking the planner may not move: confirmed by the family, or on a locked list.
pub(super) fn is_pinned(req: &PlanningRequest, b: &ExistingBooking) -> bool {
    b.session < req.sessions.len() && (b.state == BookingState::Confirmed || is_locked(req, b.session))
}

/// Whole months of age on the session's date.
pub(super) fn age_at(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> u32 {
    req.patients[p].age_months + months_after(req.planning_date, req.sessions[s].date)
}

/// Whole calendar months from `from` to `to` (0 when `to` is not after `from`), worked out here
/// rather than taken from the calendar the planners use: the months between the two dates' month
/// numbers, less one when `to`'s day of the month has not reached `from`'s.
pub(super) fn months_after(from: Date, to: Date) -> u32 {
    let month_number = |d: Date| i64::from(d.year()) * 12 + i64::from(d.month0());
    let mut months = month_number(to) - month_number(from);
    if to.day() < from.day() {
        months -= 1;
    }
    u32::try_from(months).unwrap_or(0)
}

/// Post-conception age on the session's date, days, when the gestation at birth is known:
/// gestation weeks × 7 plus age since birth, from the age in days when given (plus the days to the
/// list), else from whole months at the list as `months × 487 / 16` days (365.25 / 12 = 30.4375),
/// rounded down.
pub(super) fn post_conception_days(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> Option<i64> {
    let patient = &req.patients[p];
    let gestation = i64::from(patient.gestation_weeks?) * 7;
    let since_birth = match patient.age_days {
        Some(days) => i64::from(days) + days_ahead(req, s).max(0),
        None => (i64::from(age_at(req, p, s)) * 487).div_euclid(16),
    };
    Some(gestation + since_birth)
}

/// An infant with a gestation on record still under its post-conception age threshold on the
/// session's date (born before the preterm line: its preterm threshold; else the term one): at
/// risk of apnoea after anaesthesia.
pub(super) fn apnoea_risk(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    let (Some(gestation), Some(pca)) = (req.patients[p].gestation_weeks, post_conception_days(req, p, s))
    else {
        return false;
    };
    let x = &req.policy.ex_premature;
    let until_weeks = if gestation < x.preterm_under_gestation_weeks {
        x.preterm_until_post_conception_weeks
    } else {
        x.term_until_post_conception_weeks
    };
    pca < i64::from(until_weeks) * 7
}

pub(super) fn turnaround(req: &PlanningRequest) -> i64 {
    i64::from(req.policy.lists.turnaround_minutes)
}

/// Minutes the list offers to pool cases counted with a turnaround after each: the last case
/// needs none unless reserved time follows it.
pub(super) fn case_capacity(req: &PlanningRequest, s: SessionIx) -> i64 {
    let session = &req.sessions[s];
    let bonus = if session.reserved_minutes == 0 {
        turnaround(req)
    } else {
        0
    };
    i64::from(session.minutes) - i64::from(session.reserved_minutes) + bonus
}

/// The HVLC groups whose prefix matches the procedure longest (several only if the policy repeats
/// a prefix; any of them is accepted).
pub(super) fn procedure_groups<'a>(req: &'a PlanningRequest, procedure: &str) -> BTreeSet<&'a str> {
    let mut best = 0usize;
    let mut groups = BTreeSet::new();
    for (name, group) in &req.policy.cases_per_list.groups {
        for prefix in group
            .prefixes
            .iter()
            .filter(|pre| procedure.starts_with(pre.as_str()))
        {
            if prefix.len() > best {
                best = prefix.len();
                groups.clear();
            }
            if prefix.len() == best {
                groups.insert(name.as_str());
            }
        }
    }
    groups
}

pub(super) fn seconds(t: NaiveTime) -> i64 {
    i64::from(t.num_seconds_from_midnight())
}

pub(super) fn session_id(req: &PlanningRequest, s: SessionIx) -> &str {
    req.sessions
        .get(s)
        .map_or("(unknown)", |session| session.id.as_str())
}
