//! The booking desk's requests and answers: each request carries a world (validated exactly as a
//! `ProposeAllocations` request, its violations under `world.`) and its own fields, every
//! violation reported at once; the answers name patients and lists by their ids.

use std::collections::HashMap;
use std::sync::Arc;

use crate::api::convert::request::with_new_patient;
use crate::api::convert::response::{hhmm, phase, priority, session_plan};
use crate::api::convert::{FieldViolation, InvalidRequest};
use crate::api::proto as pb;
use crate::domain::plan::Plan;
use crate::domain::{PatientIx, PlanningRequest, SessionIx};
use crate::planning::desk::{BackfillAnswer, BackfillAsk, Finding, OfferAnswer, OfferAsk, World};

/// Answers a desk request may ask for, at most (`limit`).
pub const MAX_LIMIT: i32 = 1_000;

/// Where a desk request's world comes from: sent with the request, or held by `LoadWorld`.
/// (One per call, moved once: the size of the sent variant costs nothing.)
#[allow(clippy::large_enum_variant)]
pub enum Source {
    Sent(Option<pb::ProposeAllocationsRequest>),
    Held(Arc<World>),
}

impl Source {
    /// The request's world: `world` as sent, or the world held under `world_id` (`held`, looked up
    /// by the caller). Both given is a violation at `world_id`; so is an id with no world held.
    pub fn of(
        world: Option<pb::ProposeAllocationsRequest>,
        world_id: &str,
        held: Option<Arc<World>>,
        v: &mut Vec<FieldViolation>,
    ) -> Source {
        match (world, world_id.is_empty(), held) {
            (Some(w), true, _) => Source::Sent(Some(w)),
            (Some(w), false, _) => {
                v.push(violation("world_id", "give the world or a world_id, not both"));
                Source::Sent(Some(w))
            }
            (None, false, Some(h)) => Source::Held(h),
            (None, false, None) => {
                v.push(violation(
                    "world_id",
                    "no world is held under this id; load it again",
                ));
                Source::Sent(None)
            }
            (None, true, _) => Source::Sent(None),
        }
    }

    /// The session with this id.
    fn session_index(&self, id: &str) -> Option<SessionIx> {
        match self {
            Source::Sent(w) => w.as_ref()?.sessions.iter().position(|s| s.id == id),
            Source::Held(w) => w.session_ix(id),
        }
    }

    /// The pool patient with this id.
    fn patient_index(&self, id: &str) -> Option<PatientIx> {
        match self {
            Source::Sent(w) => w.as_ref()?.patients.iter().position(|p| p.id == id),
            Source::Held(w) => w.patient_ix(id),
        }
    }

    /// Session and pool patient lookups by id, for many ids: indexed once for a sent world, the
    /// held world's own indexes for a held one.
    #[allow(clippy::type_complexity)]
    fn lookups(
        &self,
    ) -> (
        Box<dyn Fn(&str) -> Option<usize> + '_>,
        Box<dyn Fn(&str) -> Option<usize> + '_>,
    ) {
        fn index<'a>(ids: impl Iterator<Item = &'a str>) -> HashMap<&'a str, usize> {
            ids.enumerate().map(|(i, id)| (id, i)).collect()
        }
        match self {
            Source::Sent(None) => (Box::new(|_| None), Box::new(|_| None)),
            Source::Sent(Some(w)) => {
                let sessions = index(w.sessions.iter().map(|s| s.id.as_str()));
                let patients = index(w.patients.iter().map(|p| p.id.as_str()));
                (
                    Box::new(move |id| sessions.get(id).copied()),
                    Box::new(move |id| patients.get(id).copied()),
                )
            }
            Source::Held(w) => (Box::new(|id| w.session_ix(id)), Box::new(|id| w.patient_ix(id))),
        }
    }

    /// The validated world, or its violations under `world.` (a held world is valid already).
    fn resolve(self, v: &mut Vec<FieldViolation>) -> Option<Arc<World>> {
        match self {
            Source::Held(w) => Some(w),
            Source::Sent(None) => {
                v.push(violation(
                    "world",
                    "required: the sessions, pool, bookings and policy (or a world_id)",
                ));
                None
            }
            Source::Sent(Some(world)) => match PlanningRequest::try_from(world) {
                Ok(req) => Some(Arc::new(World::new(req))),
                Err(InvalidRequest(found)) => {
                    v.extend(found.into_iter().map(|f| FieldViolation {
                        field: format!("world.{}", f.field),
                        description: f.description,
                    }));
                    None
                }
            },
        }
    }
}

/// A world's violations under `world.`, or the validated request (`LoadWorld`, `ValidateRequest`).
pub fn world(world: Option<pb::ProposeAllocationsRequest>) -> Result<World, InvalidRequest> {
    let mut v = Vec::new();
    let req = Source::Sent(world).resolve(&mut v);
    done(v, || {
        Arc::into_inner(req.expect("checked")).expect("a world just validated has one owner")
    })
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

fn done<T>(v: Vec<FieldViolation>, ok: impl FnOnce() -> T) -> Result<T, InvalidRequest> {
    if v.is_empty() {
        Ok(ok())
    } else {
        Err(InvalidRequest(v))
    }
}

/// A backfill request: the world and what is asked. `held` is the world named by `world_id`,
/// when the caller holds one under that id.
pub fn backfill_query(
    r: pb::RecommendBackfillRequest,
    held: Option<Arc<World>>,
) -> Result<(Arc<World>, BackfillAsk), InvalidRequest> {
    let pb::RecommendBackfillRequest {
        world: raw,
        session_id,
        free_minutes,
        limit: asked,
        world_id,
    } = r;
    let mut v = Vec::new();
    let source = Source::of(raw, &world_id, held, &mut v);
    let session = source.session_index(&session_id);
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
    let req = source.resolve(&mut v);
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
pub fn offer_query(
    r: pb::OfferDatesRequest,
    held: Option<Arc<World>>,
) -> Result<(Arc<World>, OfferAsk), InvalidRequest> {
    let pb::OfferDatesRequest {
        world: raw,
        patient,
        limit: asked,
        world_id,
    } = r;
    let mut v = Vec::new();
    let mut source = Source::of(raw, &world_id, held, &mut v);
    let limit = limit(asked, &mut v);
    let mut new_patient = None;
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
            let at = source.patient_index(&id);
            if at.is_none() {
                v.push(violation(
                    "patient_id",
                    "no patient of the world's pool has this id",
                ));
            }
            at
        }
        Some(pb::offer_dates_request::Patient::NewPatient(p)) => {
            if source.patient_index(&p.id).is_some() {
                v.push(violation(
                    "new_patient.id",
                    "already in the world's pool; ask by patient_id",
                ));
                None
            } else {
                new_at = match &mut source {
                    Source::Sent(Some(w)) => {
                        w.patients.push(p);
                        Some(w.patients.len() - 1)
                    }
                    Source::Held(w) => {
                        new_patient = Some(p);
                        Some(w.req.patients.len())
                    }
                    Source::Sent(None) => None,
                };
                new_at
            }
        }
    };
    let mut found = Vec::new();
    let req = source
        .resolve(&mut found)
        .and_then(|world| match new_patient.take() {
            None => Some(world),
            // A held world is valid; only the new patient is validated, as a pool patient would be.
            Some(p) => match with_new_patient(&world.req, p) {
                Ok(req) => Some(Arc::new(World::new(req))),
                Err(InvalidRequest(bad)) => {
                    found.extend(bad.into_iter().map(|f| FieldViolation {
                        field: format!("world.{}", f.field),
                        description: f.description,
                    }));
                    None
                }
            },
        });
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
pub fn check_query(
    r: pb::CheckPlanRequest,
    held: Option<Arc<World>>,
) -> Result<(Arc<World>, HandLists), InvalidRequest> {
    let pb::CheckPlanRequest {
        world: raw,
        lists,
        world_id,
    } = r;
    let mut v = Vec::new();
    let source = Source::of(raw, &world_id, held, &mut v);
    let (session_of, patient_of) = source.lookups();
    let mut list_at: HashMap<usize, usize> = HashMap::new();
    let mut patient_at: HashMap<usize, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, list) in lists.iter().enumerate() {
        let s = session_of(&list.session_id);
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
            match patient_of(id) {
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
    drop((session_of, patient_of));
    let req = source.resolve(&mut v);
    done(v, || (req.expect("checked"), out))
}

/// A world's violations, every one, or none.
pub fn validation(r: pb::ValidateRequestRequest) -> pb::ValidateRequestResponse {
    let v = world(r.world).err().map_or_else(Vec::new, |InvalidRequest(v)| v);
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
