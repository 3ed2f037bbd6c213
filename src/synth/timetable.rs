//! Sites, consultants and the weekly timetable: the same specialty and consultant in the same slot
//! every week, a few all-day lists, some lists absent for leave and a few released.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration};

use crate::api::proto as pb;
use crate::domain::Date;

use super::catalogue::*;
use super::rng::Rng;
use super::Shape;

// ---------------------------------------------------------------------------------------------
// Sites, consultants and the weekly timetable
// ---------------------------------------------------------------------------------------------

pub(super) struct SiteInfo {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) specialist: bool,
    pub(super) theatres: usize,
    /// The specialist hub of the site's network (itself for a hub).
    pub(super) hub: usize,
}

pub(super) fn make_sites(n: usize) -> Vec<SiteInfo> {
    let hubs = if n <= 3 { 1 } else { n.div_ceil(4) };
    (0..n)
        .map(|i| {
            let specialist = i < hubs;
            let (names, k) = if specialist {
                (HUB_NAMES, i)
            } else {
                (DGH_NAMES, i - hubs)
            };
            let (id, name) = names[k % names.len()];
            let round = k / names.len();
            let (id, name) = if round == 0 {
                (id.to_string(), name.to_string())
            } else {
                (format!("{id}{}", round + 1), format!("{name} {}", round + 1))
            };
            SiteInfo {
                id,
                name,
                specialist,
                theatres: if specialist { 4 } else { 2 + (i - hubs + 1) % 2 },
                hub: if specialist { i } else { (i - hubs) % hubs },
            }
        })
        .collect()
}

/// Consultant names by site, then specialty.
pub(super) fn make_rosters(sites: &[SiteInfo], rng: &mut Rng) -> Vec<Vec<Vec<String>>> {
    let mut order: Vec<usize> = (0..SURNAMES.len()).collect();
    rng.shuffle(&mut order);
    let mut next = 0usize;
    sites
        .iter()
        .map(|site| {
            SPECIALTIES
                .iter()
                .map(|spec| {
                    let n = if site.specialist {
                        spec.consultants.0
                    } else {
                        spec.consultants.1
                    };
                    (0..n)
                        .map(|_| {
                            let surname = SURNAMES[order[next % SURNAMES.len()]];
                            let initial = INITIALS[(next / SURNAMES.len() + next * 7) % INITIALS.len()];
                            let title = TITLES[next % TITLES.len()];
                            // Surname and initial pairs are distinct for the first 864 names.
                            let name = if next < SURNAMES.len() * INITIALS.len() {
                                format!("{title} {initial} {surname}")
                            } else {
                                format!("{title} {initial} {surname}-{next}")
                            };
                            next += 1;
                            name
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Half {
    Am,
    Pm,
    AllDay,
}

impl Half {
    pub(super) fn start(self) -> &'static str {
        match self {
            Half::Am | Half::AllDay => "08:30",
            Half::Pm => "13:30",
        }
    }

    pub(super) fn minutes(self) -> i32 {
        match self {
            Half::AllDay => 480,
            _ => 240,
        }
    }

    pub(super) fn tag(self) -> &'static str {
        match self {
            Half::Am => "AM",
            Half::Pm => "PM",
            Half::AllDay => "DAY",
        }
    }
}

/// A weekly timetable slot: the same list every week it runs.
pub(super) struct Template {
    pub(super) site: usize,
    pub(super) theatre: usize,
    /// 0 = Monday.
    pub(super) weekday: u32,
    pub(super) half: Half,
    pub(super) specialty: usize,
    pub(super) surgeon: Option<String>,
    pub(super) list_type: pb::ListType,
    pub(super) min_age: Option<i32>,
    pub(super) max_age: Option<i32>,
    pub(super) paediatric_anaesthetist: bool,
    pub(super) hvlc: Option<&'static str>,
    pub(super) target: Option<i32>,
}

/// `n` split in proportion to the weights, largest remainders first (ties to the earlier).
pub(super) fn apportion(n: usize, weights: &[f64]) -> Vec<usize> {
    let total: f64 = weights.iter().sum();
    if total <= 0.0 || weights.is_empty() {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| n as f64 * w / total).collect();
    let mut counts: Vec<usize> = exact.iter().map(|x| x.floor() as usize).collect();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .total_cmp(&(exact[a] - exact[a].floor()))
            .then(a.cmp(&b))
    });
    let short = n - counts.iter().sum::<usize>();
    for &i in order.iter().take(short) {
        counts[i] += 1;
    }
    counts
}

/// Working days (weekdays, not bank holidays) in the horizon.
pub(super) fn working_days(planning: Date, weeks: u32) -> usize {
    (0..weeks as i64 * 7)
        .map(|d| planning + Duration::days(d))
        .filter(|d| d.weekday().num_days_from_monday() < 5 && !is_bank_holiday(*d))
        .count()
}

pub(super) fn make_timetable(
    shape: &Shape,
    sites: &[SiteInfo],
    rosters: &[Vec<Vec<String>>],
    rng: &mut Rng,
) -> Vec<Template> {
    let planning = planning_date();
    let days = working_days(planning, shape.weeks).max(1);
    // Lists per week so that the horizon holds about `shape.sessions` lists.
    let per_week = (shape.sessions as f64 * 5.0 / days as f64 / (1.0 - ABSENT_SHARE)).round() as usize;

    // Lists per site in proportion to its theatres, then slots at random within the site.
    let theatres: Vec<f64> = sites.iter().map(|s| s.theatres as f64).collect();
    let mut chosen: Vec<(usize, usize, u32, Half)> = Vec::new();
    for (s, (site, wanted)) in sites.iter().zip(apportion(per_week, &theatres)).enumerate() {
        let mut slots: Vec<(usize, u32, Half)> = Vec::new();
        for t in 0..site.theatres {
            for day in 0..5 {
                slots.push((t, day, Half::Am));
                slots.push((t, day, Half::Pm));
            }
        }
        rng.shuffle(&mut slots);
        let mut taken: BTreeMap<(usize, u32), Vec<Half>> = BTreeMap::new();
        let mut count = 0;
        for (t, day, half) in slots {
            if count >= wanted {
                break;
            }
            let used = taken.entry((t, day)).or_default();
            if used.contains(&half) || used.contains(&Half::AllDay) {
                continue;
            }
            let all_day_share = if site.specialist { 0.10 } else { 0.04 };
            let half = if used.is_empty() && rng.chance(all_day_share) {
                Half::AllDay
            } else {
                half
            };
            used.push(half);
            chosen.push((s, t, day, half));
            count += 1;
        }
    }
    chosen.sort();

    // Specialties in proportion to the site's mix, in a random order over its slots.
    let mut specialties_of: Vec<Vec<usize>> = sites
        .iter()
        .enumerate()
        .map(|(s, site)| {
            let n = chosen.iter().filter(|c| c.0 == s).count();
            let shares: Vec<f64> = SPECIALTIES
                .iter()
                .map(|m| if site.specialist { m.hub_share } else { m.dgh_share })
                .collect();
            let mut list: Vec<usize> = apportion(n, &shares)
                .into_iter()
                .enumerate()
                .flat_map(|(spec, k)| std::iter::repeat_n(spec, k))
                .collect();
            rng.shuffle(&mut list);
            list
        })
        .collect();

    let assigned: Vec<(usize, usize, u32, Half, usize)> = chosen
        .into_iter()
        .map(|(s, t, day, half)| {
            (
                s,
                t,
                day,
                half,
                specialties_of[s].pop().expect("one specialty per list"),
            )
        })
        .collect();

    // At DGHs, lists of specialties that also treat adults are paediatric, mixed (children first,
    // then reserved adult time) or adult, in fixed proportions.
    let kinds = [pb::ListType::Paediatric, pb::ListType::Mixed, pb::ListType::Adult];
    let mut list_types: Vec<Vec<pb::ListType>> = sites
        .iter()
        .enumerate()
        .map(|(s, site)| {
            let n = assigned
                .iter()
                .filter(|a| a.0 == s && !site.specialist && SPECIALTIES[a.4].adult_lists)
                .count();
            let mut deck: Vec<pb::ListType> = apportion(n, &[0.55, 0.33, 0.12])
                .into_iter()
                .zip(kinds)
                .flat_map(|(k, kind)| std::iter::repeat_n(kind, k))
                .collect();
            rng.shuffle(&mut deck);
            deck
        })
        .collect();

    let mut rota: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    assigned
        .into_iter()
        .map(|(site, theatre, weekday, half, specialty)| {
            let info = &sites[site];
            let mix = &SPECIALTIES[specialty];
            let roster = &rosters[site][specialty];
            let turn = rota.entry((site, specialty)).or_default();
            let surgeon = if rng.chance(0.08) || roster.is_empty() {
                None
            } else {
                *turn += 1;
                Some(roster[(*turn - 1) % roster.len()].clone())
            };

            let list_type = if info.specialist || !mix.adult_lists {
                pb::ListType::Paediatric
            } else {
                list_types[site].pop().expect("one list type per list")
            };
            let paediatric_anaesthetist = match list_type {
                _ if info.specialist => true,
                pb::ListType::Paediatric => rng.chance(0.85),
                pb::ListType::Mixed => rng.chance(0.4),
                _ => false,
            };
            let (mut min_age, mut max_age) = (None, None);
            if !info.specialist && list_type != pb::ListType::Adult {
                if !paediatric_anaesthetist && rng.chance(0.6) {
                    min_age = Some(36);
                } else if rng.chance(0.45) {
                    // DGH day units that take children from a year old.
                    min_age = Some(12);
                }
            }
            if list_type == pb::ListType::Paediatric && rng.chance(if info.specialist { 0.08 } else { 0.2 }) {
                // Lists up to the 16th birthday; young people go to adult or mixed lists.
                max_age = Some(192);
            }
            let hvlc = if list_type == pb::ListType::Paediatric && half != Half::AllDay {
                let r = rng.unit();
                let mut acc = 0.0;
                mix.hvlc.iter().find_map(|(group, share)| {
                    acc += share;
                    (r < acc).then_some(*group)
                })
            } else {
                None
            };
            // A few training lists run to a lower target.
            let target = (hvlc.is_none() && rng.chance(0.03)).then_some(3);
            Template {
                site,
                theatre,
                weekday,
                half,
                specialty,
                surgeon,
                list_type,
                min_age,
                max_age,
                paediatric_anaesthetist,
                hvlc,
                target,
            }
        })
        .collect()
}

pub(super) fn make_sessions(
    shape: &Shape,
    planning: Date,
    sites: &[SiteInfo],
    templates: &[Template],
    rng: &mut Rng,
) -> Vec<pb::Session> {
    let mut sessions = Vec::new();
    for week in 0..shape.weeks as i64 {
        for t in templates {
            let date = planning + Duration::days(week * 7 + i64::from(t.weekday));
            let absent = rng.chance(ABSENT_SHARE);
            let released = rng.chance(RELEASED_SHARE);
            let reserved = 15 * rng.range(4, 8) as i32;
            if absent || is_bank_holiday(date) {
                continue;
            }
            let site = &sites[t.site];
            let theatre = format!("T{}", t.theatre + 1);
            sessions.push(pb::Session {
                id: format!(
                    "S-{}-{}-{}-{}",
                    site.id,
                    date.format("%Y-%m-%d"),
                    theatre,
                    t.half.tag()
                ),
                site_id: site.id.clone(),
                theatre,
                date: date.format("%Y-%m-%d").to_string(),
                start_time: t.half.start().to_string(),
                minutes: t.half.minutes(),
                specialty: SPECIALTIES[t.specialty].tfc.to_string(),
                surgeon: t.surgeon.clone(),
                list_type: t.list_type as i32,
                min_age_months: t.min_age,
                max_age_months: t.max_age,
                paediatric_anaesthetist: t.paediatric_anaesthetist,
                reserved_minutes: if t.list_type == pb::ListType::Mixed {
                    reserved
                } else {
                    0
                },
                status: if released {
                    pb::SessionStatus::Released
                } else {
                    pb::SessionStatus::Confirmed
                } as i32,
                cases_per_list_target: t.target,
                hvlc_group: t.hvlc.map(str::to_string),
            });
        }
    }
    sessions.sort_by(|a, b| {
        (&a.date, &a.site_id, &a.theatre, &a.start_time).cmp(&(
            &b.date,
            &b.site_id,
            &b.theatre,
            &b.start_time,
        ))
    });
    sessions
}
