//! What-if scenarios: a base request and named deltas a scheduler thinks in (add a Saturday list,
//! close a theatre for a fortnight, lift a target, accept mutual aid), each expanded into a full
//! request, planned (by the caller, with [`crate::api::propose`]), and compared with the base:
//! KPIs side by side, deltas, and who gains or loses a date. The deltas are proto messages
//! (`Scenario`), so what-if lives behind the API's door.

use std::collections::BTreeSet;

use crate::api::convert::{FieldViolation, InvalidRequest};
use crate::api::proto as pb;

/// Why a scenario change cannot be applied to the base request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChangeError {
    #[error("empty change")]
    Empty,
    #[error("unknown session")]
    UnknownSession,
    #[error("unknown patient")]
    UnknownPatient,
    #[error("unknown site")]
    UnknownSite,
    #[error("close.dates is required")]
    CloseWithoutDates,
    #[error("no session of that site/theatre in the date range")]
    NothingToClose,
}

/// The base request (named `base`) and one full request per scenario, in order.
pub fn expand(
    request: &pb::CompareScenariosRequest,
) -> Result<Vec<(String, pb::ProposeAllocationsRequest)>, InvalidRequest> {
    let base = request.base.clone().ok_or_else(|| {
        InvalidRequest(vec![FieldViolation {
            field: "base".into(),
            description: "required".into(),
        }])
    })?;
    let mut out = vec![("base".to_string(), base.clone())];
    let mut violations = Vec::new();
    let mut names = BTreeSet::new();
    for (i, scenario) in request.scenarios.iter().enumerate() {
        if scenario.name.trim().is_empty() {
            violations.push(FieldViolation {
                field: format!("scenarios[{i}].name"),
                description: "required".into(),
            });
        } else if scenario.name == "base" || !names.insert(scenario.name.clone()) {
            violations.push(FieldViolation {
                field: format!("scenarios[{i}].name"),
                description: "duplicate scenario name".into(),
            });
        }
        let mut r = base.clone();
        for (j, change) in scenario.changes.iter().enumerate() {
            if let Err(e) = apply(&mut r, change) {
                violations.push(FieldViolation {
                    field: format!("scenarios[{i}].changes[{j}]"),
                    description: e.to_string(),
                });
            }
        }
        out.push((scenario.name.clone(), r));
    }
    if violations.is_empty() {
        Ok(out)
    } else {
        Err(InvalidRequest(violations))
    }
}

fn drop_bookings(r: &mut pb::ProposeAllocationsRequest, keep: impl Fn(&pb::ExistingBooking) -> bool) {
    r.existing_bookings.retain(keep);
}

/// Applies one change to a request.
pub fn apply(r: &mut pb::ProposeAllocationsRequest, change: &pb::ScenarioChange) -> Result<(), ChangeError> {
    use pb::scenario_change::Change;
    let Some(change) = &change.change else {
        return Err(ChangeError::Empty);
    };
    match change {
        Change::AddSession(s) => r.sessions.push(s.clone()),
        Change::RemoveSessionId(id) => {
            let before = r.sessions.len();
            r.sessions.retain(|s| &s.id != id);
            if r.sessions.len() == before {
                return Err(ChangeError::UnknownSession);
            }
            drop_bookings(r, |b| &b.session_id != id);
        }
        Change::Close(close) => {
            let range = close.dates.clone().ok_or(ChangeError::CloseWithoutDates)?;
            let mut closed = BTreeSet::new();
            for s in r.sessions.iter_mut().filter(|s| {
                s.site_id == close.site_id
                    && (close.theatre.is_empty() || s.theatre == close.theatre)
                    && range.from.as_str() <= s.date.as_str()
                    && s.date.as_str() <= range.to.as_str()
            }) {
                s.status = pb::SessionStatus::Released as i32;
                closed.insert(s.id.clone());
            }
            if closed.is_empty() {
                return Err(ChangeError::NothingToClose);
            }
            drop_bookings(r, |b| !closed.contains(&b.session_id));
        }
        Change::EditSession(edit) => {
            let s = r
                .sessions
                .iter_mut()
                .find(|s| s.id == edit.session_id)
                .ok_or(ChangeError::UnknownSession)?;
            if let Some(v) = &edit.specialty {
                s.specialty = v.clone();
            }
            if let Some(v) = &edit.surgeon {
                s.surgeon = (!v.is_empty()).then(|| v.clone());
            }
            if let Some(v) = edit.cases_per_list_target {
                s.cases_per_list_target = Some(v);
            }
        }
        Change::AddPatient(p) => r.patients.push(p.clone()),
        Change::RemovePatientId(id) => {
            let before = r.patients.len();
            r.patients.retain(|p| &p.id != id);
            if r.patients.len() == before {
                return Err(ChangeError::UnknownPatient);
            }
            drop_bookings(r, |b| &b.patient_id != id);
        }
        Change::Profile(name) => r.policy.get_or_insert_with(Default::default).profile = name.clone(),
        Change::SetOverride(o) => {
            r.policy
                .get_or_insert_with(Default::default)
                .overrides
                .insert(o.key.clone(), o.value);
        }
        Change::MutualAid(aid) => {
            if !r.sites.iter().any(|s| s.id == aid.site_id) {
                return Err(ChangeError::UnknownSite);
            }
            let all = aid.patient_ids.is_empty();
            let wanted: BTreeSet<&String> = aid.patient_ids.iter().collect();
            if !all && r.patients.iter().filter(|p| wanted.contains(&p.id)).count() != wanted.len() {
                return Err(ChangeError::UnknownPatient);
            }
            for p in r.patients.iter_mut().filter(|p| all || wanted.contains(&p.id)) {
                if !p.accepted_site_ids.is_empty() && !p.accepted_site_ids.contains(&aid.site_id) {
                    p.accepted_site_ids.push(aid.site_id.clone());
                }
            }
        }
    }
    Ok(())
}

fn booked(plan: &pb::ProposeAllocationsResponse) -> BTreeSet<String> {
    plan.sessions
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.patient_id.clone()))
        .collect()
}

fn by_priority(k: &pb::Kpis, p: pb::Priority) -> i32 {
    k.by_priority
        .iter()
        .find(|c| c.priority == p as i32)
        .map_or(0, |c| c.booked)
}

/// A scenario's KPIs less the base's.
pub fn delta(base: &pb::ProposeAllocationsResponse, other: &pb::ProposeAllocationsResponse) -> pb::KpiDelta {
    let (b, o) = (
        base.kpis.clone().unwrap_or_default(),
        other.kpis.clone().unwrap_or_default(),
    );
    let obj = |r: &pb::ProposeAllocationsResponse| r.solver.as_ref().map_or(0.0, |s| s.objective);
    pb::KpiDelta {
        booked: o.booked - b.booked,
        booked_p2: by_priority(&o, pb::Priority::P2) - by_priority(&b, pb::Priority::P2),
        booked_p3: by_priority(&o, pb::Priority::P3) - by_priority(&b, pb::Priority::P3),
        booked_p4: by_priority(&o, pb::Priority::P4) - by_priority(&b, pb::Priority::P4),
        due_date_breaches: o.due_date_breaches - b.due_date_breaches,
        over_18_weeks_booked: o.over_18_weeks_booked - b.over_18_weeks_booked,
        over_52_weeks_booked: o.over_52_weeks_booked - b.over_52_weeks_booked,
        utilisation: ((o.utilisation - b.utilisation) * 1e4).round() / 1e4,
        lists_on_target: o.lists_on_target - b.lists_on_target,
        release_candidates: o.release_candidates - b.release_candidates,
        objective: ((obj(other) - obj(base)) * 1e6).round() / 1e6,
    }
}

/// The comparison of planned scenarios; the first plan is the base.
pub fn compare(plans: Vec<(String, pb::ProposeAllocationsResponse)>) -> pb::CompareScenariosResponse {
    let mut plans = plans.into_iter();
    let Some((base_name, base)) = plans.next() else {
        return pb::CompareScenariosResponse::default();
    };
    let base_booked = booked(&base);
    let scenarios = plans
        .map(|(name, plan)| {
            let here = booked(&plan);
            pb::ScenarioResult {
                name,
                delta: Some(delta(&base, &plan)),
                gained: here.difference(&base_booked).cloned().collect(),
                lost: base_booked.difference(&here).cloned().collect(),
                plan: Some(plan),
            }
        })
        .collect();
    pb::CompareScenariosResponse {
        base: Some(pb::ScenarioResult {
            name: base_name,
            plan: Some(base),
            ..Default::default()
        }),
        scenarios,
    }
}
