//! The booking pool: case mix, ages, priorities, waits, pre-operative assessment and EBI status.

use std::collections::BTreeMap;

use chrono::Duration;

use crate::api::proto as pb;
use crate::domain::policy::Policy;
use crate::domain::Date;

use super::catalogue::*;
use super::rng::Rng;
use super::timetable::{SiteInfo, Template};
use super::Shape;

// ---------------------------------------------------------------------------------------------
// The booking pool
// ---------------------------------------------------------------------------------------------

pub(super) fn iso(date: Date) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Mean theatre load (case and turnaround) of a specialty's case mix.
pub(super) fn mean_load(specialty: usize, turnaround: f64) -> f64 {
    let (sum, weight) =
        PROCEDURES
            .iter()
            .filter(|p| p.specialty == specialty)
            .fold((0.0, 0.0), |(sum, weight), p| {
                let mean = (p.minutes.0 + p.minutes.1) as f64 / 2.0 + turnaround;
                (sum + p.weight * mean, weight + p.weight)
            });
    if weight > 0.0 {
        sum / weight
    } else {
        60.0
    }
}

pub(super) fn make_patients(
    shape: &Shape,
    planning: Date,
    policy: &Policy,
    sites: &[SiteInfo],
    templates: &[Template],
    sessions: &[pb::Session],
    rng: &mut Rng,
) -> Vec<pb::Patient> {
    let turnaround = f64::from(policy.lists.turnaround_minutes);
    let horizon_days = i64::from(shape.weeks) * 7;
    let longest = sessions.iter().map(|s| s.minutes).max().unwrap_or(i32::MAX);

    // Demand follows supply: a patient's home site and specialty are drawn in proportion to the
    // cases the site's children's lists of that specialty can take.
    let site_index: BTreeMap<&str, usize> = sites
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut cases = vec![0.0; sites.len() * SPECIALTIES.len()];
    for s in sessions {
        if s.status == pb::SessionStatus::Released as i32 || s.list_type == pb::ListType::Adult as i32 {
            continue;
        }
        let site = site_index[s.site_id.as_str()];
        if let Some(spec) = SPECIALTIES.iter().position(|m| m.tfc == s.specialty) {
            cases[site * SPECIALTIES.len() + spec] +=
                f64::from(s.minutes - s.reserved_minutes) / mean_load(spec, turnaround);
        }
    }
    if cases.iter().all(|c| *c <= 0.0) {
        cases.iter_mut().for_each(|c| *c = 1.0);
    }

    (0..shape.patients)
        .map(|i| {
            let cell = rng.weighted(&cases);
            let (home, specialty) = (cell / SPECIALTIES.len(), cell % SPECIALTIES.len());
            let mix: Vec<&ProcedureMix> = PROCEDURES.iter().filter(|p| p.specialty == specialty).collect();
            let proc = mix[rng.weighted(&mix.iter().map(|p| p.weight).collect::<Vec<_>>())];
            let minutes = (5 * rng.range(proc.minutes.0 / 5, proc.minutes.1 / 5)) as i32;
            let minutes = minutes.min(longest);

            // Ages skew young: most children on these lists are under eight.
            let infant = rng.chance(proc.infants);
            let age = if infant {
                rng.range(1, 11)
            } else {
                let lo = proc.age.0.max(12);
                lo + ((proc.age.1 - lo) as f64 * rng.unit().powf(1.6)).round() as i64
            } as i32;
            let complex = rng.chance(proc.complex);
            let needs_specialist = complex || age < 12;
            let accepts_adult_services = age >= 192 && rng.chance(0.5);

            let priority = if infant && proc.code.starts_with('T') {
                pb::Priority::P2
            } else if complex {
                [pb::Priority::P2, pb::Priority::P3, pb::Priority::P4][rng.weighted(&[0.2, 0.5, 0.3])]
            } else {
                [pb::Priority::P2, pb::Priority::P3, pb::Priority::P4][rng.weighted(&[0.09, 0.40, 0.51])]
            };

            // RTT clock start and the date listed (decision to admit), both on or before planning.
            let clock_ago = match priority {
                pb::Priority::P2 => rng.range(0, 84),
                pb::Priority::P3 => rng.range(14, 280),
                _ if rng.chance(0.15) => rng.range(365, 490),
                _ => rng.range(28, 364),
            };
            let clock = planning - Duration::days(clock_ago);
            let listed_ago = if priority == pb::Priority::P2 {
                rng.range(0, clock_ago.min(35))
            } else {
                (clock_ago - rng.range(14, 120)).max(0)
            };
            let listed = planning - Duration::days(listed_ago);

            let preop = match rng.weighted(&[0.60, 0.25, 0.15]) {
                0 => pb::PreopAssessment {
                    status: pb::PreopStatus::Completed as i32,
                    date: Some(iso(planning - Duration::days(rng.range(0, listed_ago.min(120))))),
                },
                1 => pb::PreopAssessment {
                    status: pb::PreopStatus::NotDone as i32,
                    date: None,
                },
                _ => pb::PreopAssessment {
                    status: pb::PreopStatus::Booked as i32,
                    date: Some(iso(planning + Duration::days(rng.range(2, 35)))),
                },
            };
            let ebi = policy
                .ebi
                .procedure_prefixes
                .iter()
                .any(|p| proc.code.starts_with(p.as_str()));
            let ebi_approved = ebi && rng.chance(0.85);

            // Sites the family accepts.
            let hub = sites[home].hub;
            let mut accepted: Vec<usize> = Vec::new();
            if !rng.chance(0.2) {
                accepted.push(home);
                if needs_specialist && !sites[home].specialist {
                    accepted.push(hub);
                } else if sites.len() > 1 && rng.chance(0.35) {
                    let other = if home != hub && rng.chance(0.6) {
                        hub
                    } else {
                        (home + 1 + rng.below(sites.len() - 1)) % sites.len()
                    };
                    accepted.push(other);
                }
            }

            // A named consultant: one with lists this case could go on, at a site it may go to.
            let surgeon = if rng.chance(0.25) {
                let group = policy.cases_per_list.group_of(proc.code);
                let mut candidates: BTreeMap<&str, f64> = BTreeMap::new();
                let where_ = if accepted.is_empty() {
                    vec![if needs_specialist { hub } else { home }]
                } else {
                    accepted.clone()
                };
                for t in templates {
                    let fits = where_.contains(&t.site)
                        && t.specialty == specialty
                        && (!needs_specialist || sites[t.site].specialist)
                        && t.list_type != pb::ListType::Adult
                        && (t.hvlc.is_none() || t.hvlc == group)
                        && t.half.minutes() >= minutes;
                    if let (true, Some(name)) = (fits, &t.surgeon) {
                        *candidates.entry(name.as_str()).or_default() += 1.0;
                    }
                }
                let names: Vec<&str> = candidates.keys().copied().collect();
                let weights: Vec<f64> = candidates.values().copied().collect();
                (!names.is_empty()).then(|| names[rng.weighted(&weights)].to_string())
            } else {
                None
            };

            let mut unavailable = Vec::new();
            if rng.chance(0.08) {
                let from = planning + Duration::days(rng.range(0, horizon_days.max(1) - 1));
                unavailable.push(pb::DateRange {
                    from: iso(from),
                    to: iso(from + Duration::days(rng.range(2, 14))),
                });
            }

            pb::Patient {
                id: format!("P{:06}", i + 1),
                specialty: SPECIALTIES[specialty].tfc.to_string(),
                procedure: proc.code.to_string(),
                expected_minutes: minutes,
                age_months: age,
                priority: priority as i32,
                date_listed: iso(listed),
                rtt_clock_start: iso(clock),
                preop: Some(preop),
                complex,
                ebi_approved,
                accepted_site_ids: accepted.iter().map(|&s| sites[s].id.clone()).collect(),
                surgeon,
                unavailable,
                diabetes: rng.chance(0.02),
                latex_allergy: rng.chance(0.02),
                accepts_adult_services,
                gestation_weeks: None,
                age_days: None,
                treat_by: None,
                overnight: false,
            }
        })
        .collect()
}

/// Birth details of infants, from their own random stream so the rest of the pool is as before:
/// an infant's age in days (agreeing with its whole months) and, for about a third, its gestation
/// at birth, half of those preterm (26-36 weeks: the ex-premature infants of DOMAIN "Age-appropriate
/// lists"). A child listed for a procedure with an age window sometimes carries the clinician's
/// `treat_by` date instead, a few weeks before the window closes.
pub(super) fn add_birth_details(
    patients: &mut [pb::Patient],
    planning: Date,
    policy: &Policy,
    rng: &mut Rng,
) {
    for p in patients.iter_mut() {
        if p.age_months < 12 {
            let months = chrono::Months::new(p.age_months as u32);
            let latest = planning.checked_sub_months(months).unwrap_or(planning);
            let span = (latest - (latest - chrono::Months::new(1))).num_days();
            let days = (planning - latest).num_days() + rng.range(0, span - 1);
            let born = planning - Duration::days(days);
            if crate::domain::months_between(born, planning) == p.age_months {
                p.age_days = Some(days as i32);
            }
            if rng.chance(0.35) {
                p.gestation_weeks = Some(if rng.chance(0.5) {
                    rng.range(26, 36)
                } else {
                    rng.range(37, 41)
                } as i32);
            }
        }
        let window = crate::domain::policy::age_window_of(&policy.age_windows, &p.procedure);
        if let Some((_, months)) = window.filter(|_| rng.chance(0.2)) {
            let reaches = planning
                .checked_add_months(chrono::Months::new(months.saturating_sub(p.age_months as u32)))
                .unwrap_or(planning);
            if p.age_months < months as i32 {
                p.treat_by = Some(iso(reaches - Duration::days(rng.range(7, 28))));
            }
        }
    }
}

/// Overnight stays and children's beds, from their own random stream so the rest of the request is
/// as before: about a third of complex cases and of infants under a year, and one other case in a
/// hundred, stay the night; every hub has four children's beds a night for elective stays and
/// every other site two, and the first hub loses all but one on one night in the first fortnight
/// (a ward closure).
pub(super) fn add_overnight_stays(
    request: &mut pb::ProposeAllocationsRequest,
    planning: Date,
    rng: &mut Rng,
) {
    for p in &mut request.patients {
        let share = if p.complex || p.age_months < 12 {
            0.33
        } else {
            0.01
        };
        p.overnight = rng.chance(share);
    }
    let mut closed = false;
    for site in &mut request.sites {
        site.children_beds = Some(if site.specialist_centre { 4 } else { 2 });
        if site.specialist_centre && !closed {
            let night = planning + Duration::days(rng.range(1, 14));
            site.bed_nights.push(pb::BedNight {
                date: iso(night),
                beds: 1,
            });
            closed = true;
        }
    }
}
