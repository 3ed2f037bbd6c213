//! Children's beds: on no night does a site hold more overnight cases than its beds (or than the
//! overnight cases pinned there, which stay whatever the beds); the plan's day-case counts agree
//! with the request; and every patient left out for want of a bed (`no_bed`) really had no list
//! with room and a bed that it may go on. Beds are read from the raw site fields.

use std::collections::BTreeMap;

use crate::domain::{Date, PlanningRequest, RuleCode, SessionIx, SiteIx};

use super::eligibility::case_breaks;
use super::facts::{case_capacity, is_pinned, turnaround};
use super::Checker;

/// The site's children's beds on the night after `date`, if limited: the night's own number,
/// else the site's.
fn beds_on(req: &PlanningRequest, site: SiteIx, date: Date) -> Option<u32> {
    let site = req.sites.get(site)?;
    site.bed_nights
        .iter()
        .find(|(d, _)| *d == date)
        .map(|&(_, beds)| beds)
        .or(site.children_beds)
}

/// Overnight cases on a night: all of them, and those pinned there.
#[derive(Default, Clone, Copy)]
struct Night {
    stays: u32,
    pinned: u32,
    /// A list of the night, to name in a finding.
    list: SessionIx,
}

impl Checker<'_> {
    /// Beds night by night, the day-case counts, and the `no_bed` reasons.
    pub(super) fn beds(&mut self) {
        let (req, plan) = (self.req, self.plan);
        let mut nights: BTreeMap<(SiteIx, Date), Night> = BTreeMap::new();
        let mut used = vec![0i64; req.sessions.len()];
        let mut counts: BTreeMap<SiteIx, (u32, u32)> = BTreeMap::new();
        for (p, lists) in self.on_lists.iter().enumerate() {
            for &s in lists {
                let session = &req.sessions[s];
                used[s] += i64::from(req.patients[p].minutes) + turnaround(req);
                let count = counts.entry(session.site).or_default();
                count.0 += 1;
                if !req.patients[p].overnight {
                    count.1 += 1;
                    continue;
                }
                let night = nights.entry((session.site, session.date)).or_insert(Night {
                    list: s,
                    ..Night::default()
                });
                night.stays += 1;
                let pinned_here = req
                    .bookings
                    .iter()
                    .any(|b| b.patient == p && b.session == s && is_pinned(req, b));
                night.pinned += u32::from(pinned_here);
            }
        }
        let mut full = Vec::new();
        for (&(site, date), night) in &nights {
            let Some(beds) = beds_on(req, site, date) else {
                continue;
            };
            if night.stays > beds.max(night.pinned) {
                full.push((night.list, night.stays, beds));
            }
        }
        for (s, stays, beds) in full {
            let detail = format!(
                "{stays} overnight cases on the night of list {} at site {}, which has {beds} children's beds",
                req.sessions[s].id, req.sites[req.sessions[s].site].id
            );
            self.report(RuleCode::NoBed, None, Some(s), detail);
        }

        // Each `no_bed` reason: an overnight case whose every list with room has no bed left.
        let bed_left = |l: SessionIx| {
            let session = &req.sessions[l];
            match beds_on(req, session.site, session.date) {
                None => true,
                Some(beds) => {
                    let night = nights
                        .get(&(session.site, session.date))
                        .copied()
                        .unwrap_or_default();
                    night.stays < beds.max(night.pinned)
                }
            }
        };
        let mut false_reasons = Vec::new();
        for u in plan
            .unallocated
            .iter()
            .filter(|u| u.reasons.contains(&RuleCode::NoBed))
        {
            let p = u.patient;
            if p >= req.patients.len() {
                continue;
            }
            let load = i64::from(req.patients[p].minutes) + turnaround(req);
            let open = (0..req.sessions.len()).find(|&l| {
                case_capacity(req, l) - used[l] >= load
                    && case_breaks(req, p, l, true).is_empty()
                    && bed_left(l)
            });
            if !req.patients[p].overnight || open.is_some() {
                false_reasons.push((p, open));
            }
        }
        for (p, open) in false_reasons {
            let detail = match open {
                Some(l) => format!(
                    "left out for want of a bed, but list {} has room, a bed and takes the case",
                    req.sessions[l].id
                ),
                None => "left out for want of a bed, but the case needs no overnight stay".to_string(),
            };
            self.report(RuleCode::NoBed, Some(p), None, detail);
        }

        if self.out.iter().any(|v| v.rule == RuleCode::Conservation) {
            return;
        }
        let counted: Vec<(SiteIx, u32, u32)> = plan
            .kpis
            .day_cases_by_site
            .iter()
            .map(|d| (d.site, d.cases, d.day_cases))
            .collect();
        let recounted: Vec<(SiteIx, u32, u32)> =
            counts.iter().map(|(&site, &(n, day))| (site, n, day)).collect();
        if counted != recounted {
            let detail = format!(
                "the plan counts (site, cases, day cases) {counted:?}; the request gives {recounted:?}"
            );
            self.report(RuleCode::NoBed, None, None, detail);
        }
    }
}
