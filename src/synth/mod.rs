//! Realistic, deterministic request generator for benchmarks, tests and the CLI `generate` command.
//!
//! The generated world follows `shared/DOMAIN.md`: a managed network of specialist children's
//! centres (hubs) and district general hospitals (DGHs); each site runs a weekly theatre timetable
//! (the same specialty and consultant in the same slot every week, a few all-day lists, some lists
//! absent for leave and ~3% released); the booking pool is a children's and young people's waiting
//! list whose case mix, ages, priorities, waits, pre-operative assessment and EBI status are drawn
//! from plausible figures, sized so that demand exceeds what the lists can take and the planner has
//! to choose. Bookings already held sit on lists in the first four weeks (T-4), on lists the patient
//! is eligible for, never over a list's capacity and never on a released list.
//!
//! The same shape and seed always give the same request: randomness comes from a small SplitMix64
//! generator (`rng`), one independent stream per part of the world, and nothing iterates a hash
//! map. `catalogue` holds the world's fixed facts, `timetable` the sites and lists, `patients` the
//! booking pool, `bookings` the bookings already held.
//!
//! Imports: `api` (it writes proto requests), `rules` (bookings held are ones the rules allow),
//! `domain`.

mod bookings;
mod catalogue;
mod patients;
mod rng;
mod timetable;

use std::fmt;
use std::str::FromStr;

use crate::api::proto as pb;
use crate::domain::policy::Policy;
use bookings::make_bookings;
use catalogue::planning_date;
use patients::{add_birth_details, add_overnight_stays, make_patients};
use rng::Rng;
use timetable::{make_rosters, make_sessions, make_sites, make_timetable};

/// The planning date of every generated request: Monday 23 November 2026.
pub const PLANNING_DATE: &str = "2026-11-23";

/// A preset size of generated request.
///
/// With the case mix's durations (mean case and turnaround about 57 minutes), a 240-minute list
/// takes about four cases, so the trust pool is about 5.5 patients a list: demand about 1.3 times
/// capacity and 58,000-68,000 eligible (patient, list) pairs. The region keeps a regional waiting
/// list of 10,000 (about 2.4 times its six weeks of capacity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// One specialist children's centre, three weeks, ~20 lists, 120 patients.
    Theatre,
    /// One specialist hub and two DGHs, six weeks, ~440 lists, 2,400 patients.
    Trust,
    /// Eight sites (two specialist), six weeks, ~950 lists, 10,000 patients.
    Region,
}

impl Scale {
    /// Every scale, smallest first.
    pub const ALL: [Scale; 3] = [Scale::Theatre, Scale::Trust, Scale::Region];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Theatre => "theatre",
            Scale::Trust => "trust",
            Scale::Region => "region",
        }
    }

    /// The size of the world at this scale.
    pub fn shape(self) -> Shape {
        match self {
            Scale::Theatre => Shape {
                sites: 1,
                weeks: 3,
                sessions: 20,
                patients: 120,
            },
            Scale::Trust => Shape {
                sites: 3,
                weeks: 6,
                sessions: 440,
                patients: 2_400,
            },
            Scale::Region => Shape {
                sites: 8,
                weeks: 6,
                sessions: 950,
                patients: 10_000,
            },
        }
    }
}

impl fmt::Display for Scale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A scale name that is not one of the choices.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown scale `{0}`: choose one of theatre, trust, region")]
pub struct UnknownScale(pub String);

impl FromStr for Scale {
    type Err = UnknownScale;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scale::ALL
            .into_iter()
            .find(|scale| scale.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownScale(s.to_string()))
    }
}

/// The size of a generated world. `sessions` and `patients` are targets: the session count lands
/// near it (leave and bank holidays are random), the patient count is exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shape {
    /// Sites in the network; about one in four is a specialist centre (at least one).
    pub sites: usize,
    /// Weeks of lists, from the planning date's week.
    pub weeks: u32,
    pub sessions: usize,
    pub patients: usize,
}

/// A generated request at a preset scale.
pub fn generate(scale: Scale, seed: u64) -> pb::ProposeAllocationsRequest {
    generate_shape(&scale.shape(), seed)
}

/// A generated request of any shape.
pub fn generate_shape(shape: &Shape, seed: u64) -> pb::ProposeAllocationsRequest {
    let policy = Policy::default_profile();
    let planning = planning_date();
    let sites = make_sites(shape.sites.max(1));
    let rosters = make_rosters(&sites, &mut Rng::new(seed, 2));
    let templates = make_timetable(shape, &sites, &rosters, &mut Rng::new(seed, 3));
    let sessions = make_sessions(shape, planning, &sites, &templates, &mut Rng::new(seed, 4));
    let mut patients = make_patients(
        shape,
        planning,
        &policy,
        &sites,
        &templates,
        &sessions,
        &mut Rng::new(seed, 5),
    );
    add_birth_details(&mut patients, planning, &policy, &mut Rng::new(seed, 7));

    let mut request = pb::ProposeAllocationsRequest {
        planning_date: PLANNING_DATE.to_string(),
        sites: sites
            .iter()
            .map(|s| pb::Site {
                id: s.id.clone(),
                name: s.name.clone(),
                specialist_centre: s.specialist,
                children_beds: None,
                bed_nights: vec![],
            })
            .collect(),
        sessions,
        patients,
        existing_bookings: Vec::new(),
        policy: Some(pb::Policy {
            profile: "default".to_string(),
            ..Default::default()
        }),
        planner: pb::Planner::Unspecified as i32,
    };
    request.existing_bookings = make_bookings(&request, &mut Rng::new(seed, 6));
    add_overnight_stays(&mut request, planning, &mut Rng::new(seed, 8));
    request
}

#[cfg(test)]
mod tests;
