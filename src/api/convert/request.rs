//! Proto request -> validated domain request. Every violation is reported at once, each with the
//! JSON path of its field; nothing is dropped or clamped. Messages never echo patient ids or dates.

use std::collections::{HashMap, HashSet};

use chrono::NaiveTime;

use super::policy::convert_policy;
use super::site::convert_site;
use super::violations::{
    enum_value, is_opcs, parse_time, At, InvalidRequest, Violations, MAX_AGE_MONTHS, MAX_DAYS_AHEAD,
};
use crate::api::proto as pb;
use crate::domain::policy::Policy;
use crate::domain::{
    months_between, BookingState, Date, ExistingBooking, ListType, Patient, PlannerKind, PlanningRequest,
    PreopStatus, Priority, Session, Site,
};

/// Accepted gestation at birth, weeks (22 weeks is the edge of viability; 44 is post-term).
const MIN_GESTATION_WEEKS: i32 = 22;
const MAX_GESTATION_WEEKS: i32 = 44;

impl TryFrom<pb::ProposeAllocationsRequest> for PlanningRequest {
    type Error = InvalidRequest;

    fn try_from(request: pb::ProposeAllocationsRequest) -> Result<Self, Self::Error> {
        let pb::ProposeAllocationsRequest {
            planning_date,
            sites,
            sessions,
            patients,
            existing_bookings,
            policy,
            planner,
        } = request;
        let mut v = Violations::default();

        let planning_date = v.date("planning_date", &planning_date);
        let (policy, profile) = convert_policy(&mut v, policy);

        // Sites.
        let mut site_ids = HashMap::new();
        let sites: Vec<Site> = sites
            .into_iter()
            .enumerate()
            .map(|(i, site)| convert_site(&mut v, i, site, &mut site_ids))
            .collect();
        if sites.is_empty() {
            v.add("sites", "at least one site is required");
        }

        // Sessions.
        let mut session_ids = HashMap::new();
        let mut converted_sessions = Vec::with_capacity(sessions.len());
        for (i, session) in sessions.into_iter().enumerate() {
            if let Some(s) = convert_session(
                &mut v,
                i,
                session,
                &site_ids,
                &mut session_ids,
                planning_date,
                policy.as_ref(),
            ) {
                converted_sessions.push(s);
            }
        }
        let longest_list = converted_sessions.iter().map(|s: &Session| s.minutes).max();

        // Patients.
        let mut patient_ids = HashMap::new();
        let mut converted_patients = Vec::with_capacity(patients.len());
        for (i, patient) in patients.into_iter().enumerate() {
            if let Some(p) = convert_patient(
                &mut v,
                i,
                patient,
                &site_ids,
                &mut patient_ids,
                planning_date,
                longest_list,
            ) {
                converted_patients.push(p);
            }
        }

        // Existing bookings.
        let released: HashSet<&str> = converted_sessions
            .iter()
            .filter(|s| s.released)
            .map(|s| s.id.as_str())
            .collect();
        let mut booked_patients: HashMap<String, usize> = HashMap::new();
        let mut bookings = Vec::with_capacity(existing_bookings.len());
        let mut booking_index: Vec<usize> = Vec::with_capacity(existing_bookings.len());
        for (i, booking) in existing_bookings.into_iter().enumerate() {
            let pb::ExistingBooking {
                patient_id,
                session_id,
                state,
            } = booking;
            let path = |f: &'static str| At(move || format!("existing_bookings[{i}].{f}"));
            let patient = patient_ids.get(&patient_id).copied();
            if patient.is_none() {
                v.add(path("patient_id"), "unknown patient");
            }
            let session = session_ids.get(&session_id).copied();
            if session.is_none() {
                v.add(path("session_id"), "unknown session");
            } else if released.contains(session_id.as_str()) {
                v.add(path("session_id"), "booking on a RELEASED session");
            }
            if let Some(first) = booked_patients.get(&patient_id) {
                v.add(
                    path("patient_id"),
                    format!("patient already booked (existing_bookings[{first}])"),
                );
            } else if patient.is_some() {
                booked_patients.insert(patient_id.clone(), i);
            }
            let state = enum_value(
                &mut v,
                path("state"),
                state,
                |raw| match pb::BookingState::try_from(raw).ok()? {
                    pb::BookingState::Offered => Some(BookingState::Offered),
                    pb::BookingState::Confirmed => Some(BookingState::Confirmed),
                    pb::BookingState::Unspecified => None,
                },
            );
            if let (Some(patient), Some(session), Some(state)) = (patient, session, state) {
                bookings.push(ExistingBooking {
                    patient,
                    session,
                    state,
                });
                booking_index.push(i);
            }
        }

        // Bookings held on a list must fit in the day: cases, changeovers and reserved time may
        // overrun the list (it stays, as a conflict) but never run past midnight.
        // (Checked only when everything else converted, so indexes line up.)
        if let Some(policy) = policy.as_ref().filter(|_| v.0.is_empty()) {
            let t = i64::from(policy.lists.turnaround_minutes);
            let mut end: HashMap<usize, i64> = HashMap::new();
            for (b, &i) in bookings.iter().zip(&booking_index) {
                let session = &converted_sessions[b.session];
                let start = session.start.signed_duration_since(NaiveTime::MIN).num_minutes();
                let reserved = i64::from(session.reserved_minutes);
                let tail = if reserved > 0 { t + reserved } else { 0 };
                let at = end.entry(b.session).or_insert(start - t);
                *at += t + i64::from(converted_patients[b.patient].minutes);
                if *at + tail > 24 * 60 {
                    v.add(
                        format!("existing_bookings[{i}].session_id"),
                        "the bookings held on this session would run past midnight",
                    );
                }
            }
        }

        let planner = match pb::Planner::try_from(planner) {
            Ok(pb::Planner::Unspecified | pb::Planner::Optimiser) => PlannerKind::Optimiser,
            Ok(pb::Planner::Baseline) => PlannerKind::Baseline,
            Err(_) => {
                v.add("planner", "unknown enum value");
                PlannerKind::Optimiser
            }
        };

        match (v.0.is_empty(), planning_date, policy) {
            (true, Some(planning_date), Some(policy)) => Ok(PlanningRequest {
                planning_date,
                sites,
                sessions: converted_sessions,
                patients: converted_patients,
                bookings,
                policy,
                profile,
                planner,
            }),
            _ => Err(InvalidRequest(v.0)),
        }
    }
}

/// `world` with one more pool patient, validated exactly as a pool patient of the world would be
/// (its violations under `patients[N]`, N the size of the pool). The world itself is valid already.
pub fn with_new_patient(
    world: &PlanningRequest,
    patient: pb::Patient,
) -> Result<PlanningRequest, InvalidRequest> {
    let mut v = Violations::default();
    let site_ids: HashMap<String, usize> = world
        .sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.clone(), i))
        .collect();
    let mut patient_ids: HashMap<String, usize> = world
        .patients
        .iter()
        .enumerate()
        .map(|(i, p)| (p.id.clone(), i))
        .collect();
    let longest_list = world.sessions.iter().map(|s| s.minutes).max();
    let converted = convert_patient(
        &mut v,
        world.patients.len(),
        patient,
        &site_ids,
        &mut patient_ids,
        Some(world.planning_date),
        longest_list,
    );
    match converted {
        Some(p) if v.0.is_empty() => {
            let mut out = world.clone();
            out.patients.push(p);
            Ok(out)
        }
        _ => Err(InvalidRequest(v.0)),
    }
}

fn convert_session(
    v: &mut Violations,
    i: usize,
    session: pb::Session,
    site_ids: &HashMap<String, usize>,
    session_ids: &mut HashMap<String, usize>,
    planning_date: Option<Date>,
    policy: Option<&Policy>,
) -> Option<Session> {
    let pb::Session {
        id,
        site_id,
        theatre,
        date,
        start_time,
        minutes,
        specialty,
        surgeon,
        list_type,
        min_age_months,
        max_age_months,
        paediatric_anaesthetist,
        reserved_minutes,
        status,
        cases_per_list_target,
        hvlc_group,
    } = session;
    let path = |f: &'static str| At(move || format!("sessions[{i}].{f}"));
    v.id(path("id"), &id, session_ids, i, "sessions");
    let site = site_ids.get(&site_id).copied();
    if site.is_none() {
        v.add(path("site_id"), "unknown site");
    }
    v.text(path("theatre"), &theatre, true);
    let date = v.date(path("date"), &date);
    if let (Some(d), Some(plan)) = (date, planning_date) {
        if d < plan {
            v.add(path("date"), "before the planning date");
        } else if (d - plan).num_days() > MAX_DAYS_AHEAD {
            v.add(
                path("date"),
                format!("more than {MAX_DAYS_AHEAD} days after the planning date"),
            );
        }
    }
    let start = parse_time(&start_time);
    if start.is_none() {
        v.add(path("start_time"), "not a valid time (HH:MM)");
    }
    let minutes = v.minutes(path("minutes"), minutes);
    if let (Some(t), Some(m)) = (start, minutes) {
        if t.signed_duration_since(NaiveTime::MIN).num_minutes() + i64::from(m) > 24 * 60 {
            v.add(path("minutes"), "the list runs past midnight");
        }
    }
    v.text(path("specialty"), &specialty, true);
    if let Some(s) = &surgeon {
        v.text(path("surgeon"), s, true);
    }
    let list_type = enum_value(
        v,
        path("list_type"),
        list_type,
        |raw| match pb::ListType::try_from(raw).ok()? {
            pb::ListType::Paediatric => Some(ListType::Paediatric),
            pb::ListType::Mixed => Some(ListType::Mixed),
            pb::ListType::Adult => Some(ListType::Adult),
            pb::ListType::Unspecified => None,
        },
    );
    let min_age = min_age_months.map(|m| v.months(path("min_age_months"), m));
    let max_age = max_age_months.map(|m| v.months(path("max_age_months"), m));
    if let (Some(Some(lo)), Some(Some(hi))) = (min_age, max_age) {
        if lo > hi {
            v.add(path("min_age_months"), "greater than max_age_months");
        }
    }
    let reserved = if reserved_minutes < 0 {
        v.add(path("reserved_minutes"), "must not be negative");
        None
    } else if minutes.is_some_and(|m| reserved_minutes as u32 > m) {
        v.add(path("reserved_minutes"), "exceeds the session minutes");
        None
    } else {
        Some(reserved_minutes as u32)
    };
    let released = enum_value(
        v,
        path("status"),
        status,
        |raw| match pb::SessionStatus::try_from(raw).ok()? {
            pb::SessionStatus::Confirmed => Some(false),
            pb::SessionStatus::Released => Some(true),
            pb::SessionStatus::Unspecified => None,
        },
    );
    if let Some(t) = cases_per_list_target {
        if !(0..=100).contains(&t) {
            v.add(path("cases_per_list_target"), "must be between 0 and 100");
        }
    }
    if let (Some(g), Some(policy)) = (&hvlc_group, policy) {
        if !policy.cases_per_list.groups.contains_key(g) {
            v.add(
                path("hvlc_group"),
                "not a procedure group of the policy (cases_per_list.groups)",
            );
        }
    }
    Some(Session {
        id,
        site: site?,
        theatre,
        date: date?,
        start: start?,
        minutes: minutes?,
        specialty,
        surgeon,
        list_type: list_type?,
        min_age_months: min_age.flatten(),
        max_age_months: max_age.flatten(),
        paediatric_anaesthetist,
        reserved_minutes: reserved?,
        released: released?,
        cases_per_list_target: cases_per_list_target.map(|t| t.clamp(0, 100) as u32),
        hvlc_group,
    })
}

fn convert_patient(
    v: &mut Violations,
    i: usize,
    patient: pb::Patient,
    site_ids: &HashMap<String, usize>,
    patient_ids: &mut HashMap<String, usize>,
    planning_date: Option<Date>,
    longest_list: Option<u32>,
) -> Option<Patient> {
    let pb::Patient {
        id,
        specialty,
        procedure,
        expected_minutes,
        age_months,
        priority,
        date_listed,
        rtt_clock_start,
        preop,
        complex,
        ebi_approved,
        accepted_site_ids,
        surgeon,
        unavailable,
        diabetes,
        latex_allergy,
        accepts_adult_services,
        gestation_weeks,
        age_days,
        treat_by,
        overnight,
    } = patient;
    let path = |f: &'static str| At(move || format!("patients[{i}].{f}"));
    v.id(path("id"), &id, patient_ids, i, "patients");
    v.text(path("specialty"), &specialty, true);
    if !is_opcs(&procedure) {
        v.add(path("procedure"), "not an OPCS-4 code (e.g. F34.1)");
    }
    let minutes = v.minutes(path("expected_minutes"), expected_minutes);
    if let (Some(m), Some(longest)) = (minutes, longest_list) {
        if m > longest {
            v.add(path("expected_minutes"), "longer than any session in the request");
        }
    }
    let age = v.months(path("age_months"), age_months);
    let priority = enum_value(
        v,
        path("priority"),
        priority,
        |raw| match pb::Priority::try_from(raw).ok()? {
            pb::Priority::P2 => Some(Priority::P2),
            pb::Priority::P3 => Some(Priority::P3),
            pb::Priority::P4 => Some(Priority::P4),
            pb::Priority::Unspecified => None,
        },
    );
    let listed = v.date(path("date_listed"), &date_listed);
    let clock = v.date(path("rtt_clock_start"), &rtt_clock_start);
    if let Some(plan) = planning_date {
        if listed.is_some_and(|d| d > plan) {
            v.add(path("date_listed"), "after the planning date");
        }
        if clock.is_some_and(|d| d > plan) {
            v.add(path("rtt_clock_start"), "after the planning date");
        }
    }
    let (preop_status, preop_date) = match preop {
        None => {
            v.add(path("preop"), "required");
            (None, None)
        }
        Some(pb::PreopAssessment { status, date }) => {
            let status = enum_value(
                v,
                path("preop.status"),
                status,
                |raw| match pb::PreopStatus::try_from(raw).ok()? {
                    pb::PreopStatus::NotDone => Some(PreopStatus::NotDone),
                    pb::PreopStatus::Booked => Some(PreopStatus::Booked),
                    pb::PreopStatus::Completed => Some(PreopStatus::Completed),
                    pb::PreopStatus::Unspecified => None,
                },
            );
            let date = date.and_then(|d| v.date(path("preop.date"), &d));
            if status == Some(PreopStatus::Completed) {
                match (date, planning_date) {
                    (None, _) => v.add(path("preop.date"), "required when the assessment is COMPLETED"),
                    (Some(d), Some(plan)) if d > plan => v.add(
                        path("preop.date"),
                        "a COMPLETED assessment cannot be after the planning date",
                    ),
                    _ => {}
                }
            }
            (status, date)
        }
    };
    let accepted_sites = if accepted_site_ids.is_empty() {
        Some(None)
    } else {
        let mut seen = HashSet::new();
        let mut ok = true;
        let ixs: Vec<usize> = accepted_site_ids
            .iter()
            .enumerate()
            .filter_map(|(j, sid)| {
                let field = At(|| format!("patients[{i}].accepted_site_ids[{j}]"));
                if !seen.insert(sid) {
                    v.add(field, "duplicate site");
                    ok = false;
                    return None;
                }
                let ix = site_ids.get(sid).copied();
                if ix.is_none() {
                    v.add(field, "unknown site");
                    ok = false;
                }
                ix
            })
            .collect();
        ok.then_some(Some(ixs))
    };
    if let Some(s) = &surgeon {
        v.text(path("surgeon"), s, true);
    }
    let mut ranges = Vec::with_capacity(unavailable.len());
    let mut ranges_ok = true;
    for (j, range) in unavailable.into_iter().enumerate() {
        let pb::DateRange { from, to } = range;
        let from = v.date(At(|| format!("patients[{i}].unavailable[{j}].from")), &from);
        let to = v.date(At(|| format!("patients[{i}].unavailable[{j}].to")), &to);
        match (from, to) {
            (Some(f), Some(t)) if f <= t => ranges.push((f, t)),
            (Some(_), Some(_)) => {
                v.add(format!("patients[{i}].unavailable[{j}]"), "`from` is after `to`");
                ranges_ok = false;
            }
            _ => ranges_ok = false,
        }
    }
    let gestation_weeks = gestation_weeks.and_then(|g| {
        let ok = (MIN_GESTATION_WEEKS..=MAX_GESTATION_WEEKS).contains(&g);
        if !ok {
            v.add(
                path("gestation_weeks"),
                format!("must be between {MIN_GESTATION_WEEKS} and {MAX_GESTATION_WEEKS}"),
            );
        }
        ok.then_some(g as u32)
    });
    let age_days = match (age_days, age, planning_date) {
        (None, _, _) => Some(None),
        (Some(days), _, _) if !(0..=MAX_AGE_MONTHS * 31).contains(&days) => {
            v.add(path("age_days"), "must not be negative nor beyond the oldest age");
            None
        }
        (Some(days), Some(months), Some(plan)) => {
            let born = plan - chrono::Duration::days(i64::from(days));
            if months_between(born, plan) != months as i32 {
                v.add(path("age_days"), "disagrees with age_months");
                None
            } else {
                Some(Some(days as u32))
            }
        }
        (Some(_), _, _) => None,
    };
    let treat_by = match treat_by {
        None => Some(None),
        Some(text) => match (v.date(path("treat_by"), &text), age, planning_date) {
            (Some(date), Some(months), Some(plan)) => {
                // The earliest the child can have been born: the planning date less its age in
                // days, or less one month more than its whole months.
                let born_by = match age_days.flatten() {
                    Some(days) => plan - chrono::Duration::days(i64::from(days)),
                    None => plan
                        .checked_sub_months(chrono::Months::new(months + 1))
                        .map_or(plan, |d| d + chrono::Duration::days(1)),
                };
                if date < born_by {
                    v.add(path("treat_by"), "before the patient was born");
                    None
                } else {
                    Some(Some(date))
                }
            }
            _ => None,
        },
    };
    Some(Patient {
        id,
        specialty,
        procedure,
        minutes: minutes?,
        age_months: age?,
        priority: priority?,
        date_listed: listed?,
        rtt_clock_start: clock?,
        preop_status: preop_status?,
        preop_date,
        complex,
        ebi_approved,
        accepted_sites: accepted_sites?,
        surgeon,
        unavailable: ranges_ok.then_some(ranges)?,
        diabetes,
        latex_allergy,
        accepts_adult_services,
        gestation_weeks,
        age_days: age_days?,
        treat_by: treat_by?,
        overnight,
    })
}
