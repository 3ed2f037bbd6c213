//! The booking desk's requests and answers: each request carries a world (validated exactly as a
//! `ProposeAllocations` request, its violations under `world.`) and its own fields, every
//! violation reported at once; the answers name patients and lists by their ids.

use std::collections::HashMap;

use crate::api::convert::response::{hhmm, phase, priority, session_plan};
use crate::api::convert::{FieldViolation, InvalidRequest};
use crate::api::proto as pb;
use crate::domain::plan::Plan;
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::desk::{BackfillAnswer, BackfillAsk, Finding, OfferAnswer, OfferAsk};

/// Answers a desk request may ask for, at most (`limit`).
pub const MAX_LIMIT: i32 = 1_000;

/// A world's violations under `world.`, or the validated request.
fn world(
    world: Option<pb::ProposeAllocationsRequest>,
    v: &mut Vec<FieldViolation>,
) -> Option<PlanningRequest> {
    let Some(world) = world else {
        v.push(violation(
            "world",
            "required: the sessions, pool, bookings and policy",
        ));
        return None;
    };
    match PlanningRequest::try_from(world) {
        Ok(req) => Some(req),
        Err(InvalidRequest(found)) => {
            v.extend(found.into_iter().map(|f| FieldViolation {
                field: format!("world.{}", f.field),
                description: f.description,
            }));
            None
        }
    }
}

fn violation(field: impl Into<String>, description: impl Into<String>) -> FieldViolation {
    FieldViolation {
        field: field.into(),
        description: description.into(),
    }
}

fn limit(limit: i32, v: &mut Vec<FieldViolation>) -> usize {
    if !(1..=MAX_LIMIT).contains(&limit) {
        v.push(violation("limit", format!("must be 1 to {MAX_LIMIT}")));
    }
    limit.clamp(1, MAX_LIMIT) as usize
}

fn session_index(world: Option<&pb::ProposeAllocationsRequest>, id: &str) -> Option<SessionIx> {
    world?.sessions.iter().position(|s| s.id == id)
}

fn done<T>(v: Vec<FieldViolation>, ok: impl FnOnce() -> T) -> Result<T, InvalidRequest> {
    if v.is_empty() {
        Ok(ok())
    } else {
        Err(InvalidRequest(v))
    }
}

/// A backfill request: the world and what is asked.
pub fn backfill_query(
    r: pb::RecommendBackfillRequest,
) -> Result<(PlanningRequest, BackfillAsk), InvalidRequest> {
    let pb::RecommendBackfillRequest {
        world: raw,
        session_id,
        free_minutes,
        limit: asked,
    } = r;
    let mut v = Vec::new();
    let session = session_index(raw.as_ref(), &session_id);
    if session.is_none() {
        v.push(violation("session_id", "no session of the world has this id"));
    }
    if let Some(m) = free_minutes {
        if !(1..=crate::api::convert::MAX_MINUTES).contains(&m) {
            v.push(violation(
                "free_minutes",
                format!("must be 1 to {}", crate::api::convert::MAX_MINUTES),
            ));
        }
    }
    let limit = limit(asked, &mut v);
    let req = world(raw, &mut v);
    done(v, || {
        let ask = BackfillAsk {
            session: session.expect("checked"),
            window: free_minutes.map(|m| m as u32),
            limit,
        };
        (req.expect("checked"), ask)
    })
}

/// An offer request: the world (with a new patient appended to its pool) and what is asked.
pub fn offer_query(r: pb::OfferDatesRequest) -> Result<(PlanningRequest, OfferAsk), InvalidRequest> {
    let pb::OfferDatesRequest {
        world: mut raw,
        patient,
        limit: asked,
    } = r;
    let mut v = Vec::new();
    let limit = limit(asked, &mut v);
    let pool = raw.as_ref().map_or(0, |w| w.patients.len());
    let mut new_at = None;
    let patient = match patient {
        None => {
            v.push(violation(
                "patient",
                "required: a patient_id of the pool, or a new_patient",
            ));
            None
        }
        Some(pb::offer_dates_request::Patient::PatientId(id)) => {
            let at = raw
                .as_ref()
                .and_then(|w| w.patients.iter().position(|p| p.id == id));
            if at.is_none() {
                v.push(violation(
                    "patient_id",
                    "no patient of the world's pool has this id",
                ));
            }
            at
        }
        Some(pb::offer_dates_request::Patient::NewPatient(p)) => match raw.as_mut() {
            Some(w) if w.patients.iter().any(|q| q.id == p.id) => {
                v.push(violation(
                    "new_patient.id",
                    "already in the world's pool; ask by patient_id",
                ));
                None
            }
            Some(w) => {
                w.patients.push(p);
                new_at = Some(pool);
                new_at
            }
            None => None,
        },
    };
    let mut found = Vec::new();
    let req = world(raw, &mut found);
    // The new patient's violations name it, not its place in the pool.
    let prefix = new_at.map(|i| format!("world.patients[{i}]"));
    v.extend(found.into_iter().map(|f| match &prefix {
        Some(prefix) if f.field.starts_with(prefix.as_str()) => FieldViolation {
            field: format!("new_patient{}", &f.field[prefix.len()..]),
            description: f.description,
        },
        _ => f,
    }));
    done(v, || {
        let ask = OfferAsk {
            patient: patient.expect("checked"),
            limit,
        };
        (req.expect("checked"), ask)
    })
}

/// A plan to check: the world and its lists (each list's patients in running order).
pub type HandLists = Vec<(SessionIx, Vec<PatientIx>)>;

/// A check request: the world and the plan's lists. A list named twice, an unknown id and a
/// patient on two lists (or twice on one) are refused.
pub fn check_query(r: pb::CheckPlanRequest) -> Result<(PlanningRequest, HandLists), InvalidRequest> {
    let pb::CheckPlanRequest { world: raw, lists } = r;
    let mut v = Vec::new();
    let (sessions, patients): (HashMap<&str, usize>, HashMap<&str, usize>) = match raw.as_ref() {
        Some(w) => (
            w.sessions
                .iter()
                .enumerate()
                .map(|(i, s)| (s.id.as_str(), i))
                .collect(),
            w.patients
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.as_str(), i))
                .collect(),
        ),
        None => Default::default(),
    };
    let mut list_at: HashMap<usize, usize> = HashMap::new();
    let mut patient_at: HashMap<usize, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        let s = sessions.get(list.session_id.as_str()).copied();
        match s {
            None => v.push(violation(
                format!("lists[{i}].session_id"),
                "no session of the world has this id",
            )),
            Some(s) => {
                if let Some(first) = list_at.insert(s, i) {
                    v.push(violation(
                        format!("lists[{i}].session_id"),
                        format!("the list is already given at lists[{first}]"),
                    ));
                }
            }
        }
        let mut ordered = Vec::new();
        for (j, id) in list.patient_ids.iter().enumerate() {
            let field = format!("lists[{i}].patient_ids[{j}]");
            match patients.get(id.as_str()).copied() {
                None => v.push(violation(field, "no patient of the world's pool has this id")),
                Some(p) => {
                    if let Some(first) = patient_at.insert(p, i) {
                        v.push(violation(
                            field,
                            format!("the patient is already on the list at lists[{first}]"),
                        ));
                    }
                    ordered.push(p);
                }
            }
        }
        if let Some(s) = s {
            out.push((s, ordered));
        }
    }
    drop((sessions, patients));
    let req = world(raw, &mut v);
    done(v, || (req.expect("checked"), out))
}

/// A world's violations, every one, or none.
pub fn validation(r: pb::ValidateRequestRequest) -> pb::ValidateRequestResponse {
    let mut v = Vec::new();
    world(r.world, &mut v);
    pb::ValidateRequestResponse {
        valid: v.is_empty(),
        violations: v
            .into_iter()
            .map(|f| pb::FieldViolation {
                field: f.field,
                description: f.description,
            })
            .collect(),
    }
}

/// The backfill answer.
pub fn backfill_response(
    req: &PlanningRequest,
    ask: &BackfillAsk,
    a: &BackfillAnswer,
) -> pb::RecommendBackfillResponse {
    let pid = |p: PatientIx| req.patients[p].id.clone();
    pb::RecommendBackfillResponse {
        session_id: req.sessions[ask.session].id.clone(),
        free_minutes: a.window as i32,
        options: a
            .options
            .iter()
            .map(|o| pb::Backfill {
                patient_ids: o.patients.iter().map(|&p| pid(p)).collect(),
                objective_gain: round6(o.gain),
                minutes: o.load as i32,
                list: Some(session_plan(req, &o.list)),
            })
            .collect(),
        not_eligible: a
            .not_eligible
            .iter()
            .map(|n| pb::NotEligible {
                patient_id: pid(n.patient),
                priority: priority(req.patients[n.patient].priority) as i32,
                reason: n.reason.code().to_string(),
                objective_gain: round6(n.gain),
            })
            .collect(),
        eligible: a.eligible as i32,
    }
}

/// The offer answer.
pub fn offer_response(req: &PlanningRequest, a: &OfferAnswer) -> pb::OfferDatesResponse {
    pb::OfferDatesResponse {
        offers: a
            .offers
            .iter()
            .map(|o| {
                let session = &req.sessions[o.session];
                let case = &o.list.cases[o.position];
                pb::Offer {
                    session_id: session.id.clone(),
                    site_id: req.sites[session.site].id.clone(),
                    theatre: session.theatre.clone(),
                    date: session.date.format("%Y-%m-%d").to_string(),
                    position: o.position as i32 + 1,
                    start_time: hhmm(case.start),
                    end_time: hhmm(case.end),
                    objective_gain: round6(o.gain),
                    phase: phase(o.list.phase) as i32,
                }
            })
            .collect(),
        ruled_out: a
            .ruled_out
            .iter()
            .map(|(r, n)| pb::ReasonCount {
                reason: r.code().to_string(),
                lists: *n as i32,
            })
            .collect(),
        lists_considered: a.considered as i32,
    }
}

/// The checker's verdict on a plan, with the plan's KPIs and objective.
pub fn check_response(
    req: &PlanningRequest,
    plan: &Plan,
    kpis: Option<pb::Kpis>,
    violations: &[Finding],
) -> pb::CheckPlanResponse {
    let position = |p: PatientIx, s: SessionIx| {
        plan.lists
            .get(s)
            .and_then(|l| l.cases.iter().position(|c| c.patient == p))
            .map_or(0, |i| i as i32 + 1)
    };
    pb::CheckPlanResponse {
        valid: violations.is_empty(),
        violations: violations
            .iter()
            .map(|f| pb::PlanViolation {
                rule: f.rule.code().to_string(),
                session_id: f
                    .session
                    .and_then(|s| req.sessions.get(s))
                    .map(|s| s.id.clone())
                    .unwrap_or_default(),
                position: match (f.patient, f.session) {
                    (Some(p), Some(s)) => position(p, s),
                    _ => 0,
                },
                patient_id: f
                    .patient
                    .and_then(|p| req.patients.get(p))
                    .map(|p| p.id.clone())
                    .unwrap_or_default(),
                detail: f.detail.clone(),
            })
            .collect(),
        kpis,
        objective: round6(plan.stats.objective),
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}
