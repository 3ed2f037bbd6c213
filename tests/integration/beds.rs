//! Day case and beds (seed 004): an overnight case takes a children's bed at its list's site that
//! night, a night's overnight cases never exceed its beds, a child left out for want of a bed says
//! `no_bed`, and the KPIs give each site's planned day-case rate against the policy's lines.

use std::collections::BTreeMap;

use theatre_optimiser::api::propose;
use theatre_optimiser::api::proto as pb;
use theatre_optimiser::planning::solve::SolveOptions;

use crate::support::{assert_valid, sample};

/// The ids of the patients who stay the night.
fn overnight_ids(request: &pb::ProposeAllocationsRequest) -> Vec<&str> {
    request
        .patients
        .iter()
        .filter(|p| p.overnight)
        .map(|p| p.id.as_str())
        .collect()
}

/// Overnight cases booked on each (site, date).
fn stays(
    request: &pb::ProposeAllocationsRequest,
    response: &pb::ProposeAllocationsResponse,
) -> BTreeMap<(String, String), u32> {
    let overnight = overnight_ids(request);
    let mut out = BTreeMap::new();
    for s in &response.sessions {
        let n = s
            .cases
            .iter()
            .filter(|c| overnight.contains(&c.patient_id.as_str()))
            .count() as u32;
        if n > 0 {
            *out.entry((s.site_id.clone(), s.date.clone())).or_default() += n;
        }
    }
    out
}

/// The beds of a site on a date, as the request gives them.
fn beds(request: &pb::ProposeAllocationsRequest, site: &str, date: &str) -> Option<i32> {
    let site = request.sites.iter().find(|s| s.id == site)?;
    site.bed_nights
        .iter()
        .find(|n| n.date == date)
        .map(|n| n.beds)
        .or(site.children_beds)
}

#[test]
fn overnight_cases_never_exceed_a_nights_beds_and_the_day_case_rates_are_reported() {
    let request = sample();
    assert!(request.patients.iter().filter(|p| p.overnight).count() >= 4);
    let response = propose(request.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&request, &response);
    let booked = stays(&request, &response);
    assert!(!booked.is_empty(), "the sample books overnight cases");
    for ((site, date), n) in &booked {
        let limit = beds(&request, site, date).expect("every sample site limits its beds");
        assert!(
            *n as i32 <= limit,
            "{n} overnight cases on a night of {limit} beds at {site}"
        );
    }
    // The RCH night with one bed (a ward closure) holds at most one.
    assert!(booked
        .get(&("RCH".into(), "2026-12-15".into()))
        .is_none_or(|&n| n <= 1));

    // Each site's day-case rate, recounted from the lists.
    let k = response.kpis.clone().unwrap();
    assert_eq!((k.day_case_target, k.day_case_aim), (0.95, 0.98));
    let overnight = overnight_ids(&request);
    let mut counted: BTreeMap<&str, (i32, i32)> = BTreeMap::new();
    for s in &response.sessions {
        for c in &s.cases {
            let e = counted.entry(s.site_id.as_str()).or_default();
            e.0 += 1;
            e.1 += i32::from(!overnight.contains(&c.patient_id.as_str()));
        }
    }
    assert_eq!(k.day_cases_by_site.len(), counted.len());
    for d in &k.day_cases_by_site {
        assert_eq!(
            (d.cases, d.day_cases),
            counted[d.site_id.as_str()],
            "{}",
            d.site_id
        );
        assert!((d.rate - f64::from(d.day_cases) / f64::from(d.cases)).abs() < 1e-12);
    }
    let peak_rch = booked
        .iter()
        .filter(|((site, _), _)| site == "RCH")
        .map(|(_, &n)| n)
        .max()
        .unwrap_or(0);
    let rch = k.day_cases_by_site.iter().find(|d| d.site_id == "RCH").unwrap();
    assert_eq!(rch.peak_overnight as u32, peak_rch);
}

#[test]
fn without_a_bed_no_overnight_case_is_booked_and_each_says_why() {
    // Unlimited beds: the sample's overnight cases are booked.
    let mut unlimited = sample();
    for site in &mut unlimited.sites {
        site.children_beds = None;
        site.bed_nights.clear();
    }
    let free = propose(unlimited.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&unlimited, &free);
    let booked_free: u32 = stays(&unlimited, &free).values().sum();
    assert!(
        booked_free >= 3,
        "{booked_free} overnight cases booked with unlimited beds"
    );

    // No bed anywhere: none is, and those that had a list with room say `no_bed`.
    let mut none = unlimited.clone();
    for site in &mut none.sites {
        site.children_beds = Some(0);
    }
    let response = propose(none.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&none, &response);
    assert!(stays(&none, &response).is_empty());
    let no_bed = response
        .unallocated
        .iter()
        .filter(|u| u.reasons == ["no_bed"])
        .count();
    assert!(
        no_bed >= 1,
        "an overnight case left out for want of a bed says so"
    );
    for u in response
        .unallocated
        .iter()
        .filter(|u| u.reasons.contains(&"no_bed".to_string()))
    {
        let p = none.patients.iter().find(|p| p.id == u.patient_id).unwrap();
        assert!(p.overnight);
        assert!(!u.detail.contains(&p.id));
    }
    // Day cases are not touched by beds: every day case booked with unlimited beds that lost no
    // room to an overnight case is still booked, so at least as many day cases are booked.
    let day_cases = |r: &pb::ProposeAllocationsResponse| -> i32 {
        r.kpis
            .as_ref()
            .unwrap()
            .day_cases_by_site
            .iter()
            .map(|d| d.day_cases)
            .sum()
    };
    assert!(day_cases(&response) >= day_cases(&free) - 1);
}

#[test]
fn a_pinned_overnight_case_stays_beyond_the_beds_and_nobody_else_joins_that_night() {
    let mut request = sample();
    // The confirmed booking on the locked RCH list stays the night; that night has no bed.
    let held = request.existing_bookings[0].clone();
    assert_eq!(held.state, pb::BookingState::Confirmed as i32);
    let session = request
        .sessions
        .iter()
        .find(|s| s.id == held.session_id)
        .unwrap()
        .clone();
    // So does an urgent ENT child whom that list could take to fill its gap.
    for id in [held.patient_id.as_str(), "CYP-0007"] {
        request
            .patients
            .iter_mut()
            .find(|p| p.id == id)
            .unwrap()
            .overnight = true;
    }
    let site = request
        .sites
        .iter_mut()
        .find(|s| s.id == session.site_id)
        .unwrap();
    site.bed_nights.push(pb::BedNight {
        date: session.date.clone(),
        beds: 0,
    });
    let response = propose(request.clone(), &SolveOptions::default()).unwrap();
    assert_valid(&request, &response);
    let on_night = stays(&request, &response)
        .get(&(session.site_id.clone(), session.date.clone()))
        .copied();
    assert_eq!(on_night, Some(1), "the pinned case stays, and only it");
}
