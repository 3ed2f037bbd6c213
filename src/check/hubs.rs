//! Right procedure, right place: the plan's counts of cases at specialist centres that need none
//! and of hub minutes taken by children who need one, worked out again from the raw patient fields
//! and the policy; and every hub booking explained by `no_local_capacity` really had no local list
//! with room that the child may go on.

use crate::domain::plan::HubReason;
use crate::domain::{PatientIx, PlanningRequest, RuleCode, SessionIx};

use super::eligibility::case_breaks;
use super::facts::{age_at, apnoea_risk, case_capacity, turnaround};
use super::Checker;

impl Checker<'_> {
    /// The plan's right-place KPIs agree with the request, and its `no_local_capacity` reasons hold.
    pub(super) fn right_place(&mut self) {
        let (req, plan) = (self.req, self.plan);
        let load = |p: PatientIx| i64::from(req.patients[p].minutes) + turnaround(req);
        let mut used = vec![0i64; req.sessions.len()];
        for (p, lists) in self.on_lists.iter().enumerate() {
            for &s in lists {
                used[s] += load(p);
            }
        }
        let (mut local_booked, mut local_at_hubs, mut hub_minutes, mut hub_complex) =
            (0u32, 0u32, 0u32, 0u32);
        let mut false_reasons = Vec::new();
        for list in &plan.lists {
            let s = list.session;
            let Some(session) = req.sessions.get(s) else {
                continue;
            };
            let at_hub = req
                .sites
                .get(session.site)
                .is_some_and(|site| site.specialist_centre);
            for case in &list.cases {
                let p = case.patient;
                if p >= req.patients.len() {
                    continue;
                }
                let needs = needs_hub(req, p, s);
                if at_hub {
                    hub_minutes += req.patients[p].minutes;
                    hub_complex += if needs { req.patients[p].minutes } else { 0 };
                }
                if needs || !accepts_local(req, p) {
                    continue;
                }
                local_booked += 1;
                local_at_hubs += u32::from(at_hub);
                if at_hub && case.hub_reason == Some(HubReason::NoLocalCapacity) {
                    let room = (0..req.sessions.len()).find(|&l| {
                        let local = req
                            .sites
                            .get(req.sessions[l].site)
                            .is_some_and(|site| !site.specialist_centre);
                        local
                            && case_capacity(req, l) - used[l] >= load(p)
                            && case_breaks(req, p, l, true).is_empty()
                    });
                    if let Some(l) = room {
                        false_reasons.push((p, s, l));
                    }
                }
            }
        }
        for (p, s, l) in false_reasons {
            let detail = format!(
                "a hub booking on list {} says no local list has room, but list {} has room and takes the case",
                req.sessions[s].id, req.sessions[l].id
            );
            self.report(RuleCode::RightPlace, Some(p), Some(s), detail);
        }
        // A plan that does not hold each patient exactly once has no counts to agree with; the
        // conservation finding says so.
        if self.out.iter().any(|v| v.rule == RuleCode::Conservation) {
            return;
        }
        let k = &plan.kpis;
        let counted = (
            k.non_complex_booked,
            k.non_complex_at_hubs,
            k.hub_minutes,
            k.hub_minutes_complex,
        );
        if counted != (local_booked, local_at_hubs, hub_minutes, hub_complex) {
            let detail = format!(
                "the plan counts {counted:?} (local cases booked, of them at hubs, hub minutes, of them complex); the request gives {:?}",
                (local_booked, local_at_hubs, hub_minutes, hub_complex)
            );
            self.report(RuleCode::RightPlace, None, None, detail);
        }
    }
}

/// The child needs a specialist centre on list `s`: complex, an infant under the specialist age,
/// or an infant with a gestation on record under its post-conception age threshold.
fn needs_hub(req: &PlanningRequest, p: PatientIx, s: SessionIx) -> bool {
    let patient = &req.patients[p];
    let policy = &req.policy;
    patient.complex || age_at(req, p, s) < policy.age.specialist_centre_under_months || apnoea_risk(req, p, s)
}

/// The family accepts a non-specialist site of the request (no list of sites: any site).
fn accepts_local(req: &PlanningRequest, p: PatientIx) -> bool {
    match &req.patients[p].accepted_sites {
        Some(sites) => sites
            .iter()
            .any(|&site| req.sites.get(site).is_some_and(|x| !x.specialist_centre)),
        None => req.sites.iter().any(|site| !site.specialist_centre),
    }
}
