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
//! generator defined here, one independent stream per part of the world, and nothing iterates a
//! hash map.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration};

use crate::api::proto as pb;
use crate::domain::policy::Policy;
use crate::domain::{Date, PlanningRequest};

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
    let patients = make_patients(
        shape,
        planning,
        &policy,
        &sites,
        &templates,
        &sessions,
        &mut Rng::new(seed, 5),
    );

    let mut request = pb::ProposeAllocationsRequest {
        planning_date: PLANNING_DATE.to_string(),
        sites: sites
            .iter()
            .map(|s| pb::Site {
                id: s.id.clone(),
                name: s.name.clone(),
                specialist_centre: s.specialist,
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
    request
}

// ---------------------------------------------------------------------------------------------
// Randomness
// ---------------------------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea and Flood, 2014): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    /// An independent stream of the seed.
    fn new(seed: u64, stream: u64) -> Self {
        let mut rng = Rng(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        rng.next_u64();
        rng
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo + 1) as usize) as i64
    }

    fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// An index drawn in proportion to the weights (the last when all are zero).
    fn weighted(&mut self, weights: &[f64]) -> usize {
        let total: f64 = weights.iter().sum();
        let mut x = self.unit() * total;
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The world's fixed facts
// ---------------------------------------------------------------------------------------------

fn planning_date() -> Date {
    Date::parse_from_str(PLANNING_DATE, "%Y-%m-%d").expect("a valid constant date")
}

/// England and Wales bank holidays from the planning date to the end of 2027: no elective lists.
const BANK_HOLIDAYS: &[&str] = &[
    "2026-12-25",
    "2026-12-28",
    "2027-01-01",
    "2027-03-26",
    "2027-03-29",
    "2027-05-03",
    "2027-05-31",
    "2027-08-30",
    "2027-12-27",
    "2027-12-28",
    "2028-01-03",
];

fn is_bank_holiday(date: Date) -> bool {
    BANK_HOLIDAYS
        .iter()
        .any(|d| Date::parse_from_str(d, "%Y-%m-%d").is_ok_and(|h| h == date))
}

const HUB_NAMES: &[(&str, &str)] = &[
    ("NCH", "Northgate Children's Hospital"),
    ("SCH", "Southmere Children's Hospital"),
    ("ECH", "Eastholme Children's Hospital"),
    ("WCH", "Westmoor Children's Hospital"),
];

const DGH_NAMES: &[(&str, &str)] = &[
    ("WGH", "Westbrook General Hospital"),
    ("RGH", "Riverside General Hospital"),
    ("KDH", "Kingsford District Hospital"),
    ("MGH", "Millbrook General Hospital"),
    ("AGH", "Ashworth General Hospital"),
    ("HDH", "Hartley District Hospital"),
    ("BGH", "Bramhall General Hospital"),
    ("CDH", "Castleford District Hospital"),
];

/// A specialty (treatment function code) and how it holds lists.
struct SpecialtyMix {
    tfc: &'static str,
    /// Share of a specialist hub's lists.
    hub_share: f64,
    /// Share of a DGH's lists.
    dgh_share: f64,
    /// Consultants holding lists at a hub / at a DGH.
    consultants: (usize, usize),
    /// HVLC lists: procedure group (a key of the policy's `cases_per_list.groups`) and share of the
    /// specialty's paediatric lists.
    hvlc: &'static [(&'static str, f64)],
    /// The specialty also treats adults, so DGH lists may be MIXED or ADULT.
    adult_lists: bool,
}

const SPECIALTIES: &[SpecialtyMix] = &[
    // ENT.
    SpecialtyMix {
        tfc: "120",
        hub_share: 0.24,
        dgh_share: 0.40,
        consultants: (4, 3),
        hvlc: &[("grommets", 0.14), ("tonsillectomy", 0.18)],
        adult_lists: true,
    },
    // Paediatric surgery (general paediatric surgery and urology).
    SpecialtyMix {
        tfc: "171",
        hub_share: 0.34,
        dgh_share: 0.32,
        consultants: (5, 3),
        hvlc: &[],
        adult_lists: false,
    },
    // Paediatric dentistry.
    SpecialtyMix {
        tfc: "142",
        hub_share: 0.10,
        dgh_share: 0.18,
        consultants: (3, 2),
        hvlc: &[("dental_extraction", 0.45)],
        adult_lists: false,
    },
    // Trauma and orthopaedics.
    SpecialtyMix {
        tfc: "110",
        hub_share: 0.18,
        dgh_share: 0.06,
        consultants: (4, 2),
        hvlc: &[],
        adult_lists: true,
    },
    // Ophthalmology.
    SpecialtyMix {
        tfc: "130",
        hub_share: 0.14,
        dgh_share: 0.04,
        consultants: (3, 2),
        hvlc: &[],
        adult_lists: true,
    },
];

/// A procedure of the booking pool (OPCS-4) and its case-mix figures.
struct ProcedureMix {
    /// Index into `SPECIALTIES`.
    specialty: usize,
    code: &'static str,
    /// Relative frequency within the specialty.
    weight: f64,
    /// Expected theatre minutes, inclusive range (5-minute steps).
    minutes: (i64, i64),
    /// Usual age at listing, months, inclusive (skewed towards the young end).
    age: (i64, i64),
    /// Share of infants (under 12 months) among these patients.
    infants: f64,
    /// Share of complex cases (need a specialist centre).
    complex: f64,
}

const fn procedure(
    specialty: usize,
    code: &'static str,
    weight: f64,
    minutes: (i64, i64),
    age: (i64, i64),
    infants: f64,
    complex: f64,
) -> ProcedureMix {
    ProcedureMix {
        specialty,
        code,
        weight,
        minutes,
        age,
        infants,
        complex,
    }
}

const PROCEDURES: &[ProcedureMix] = &[
    // ENT: dissection tonsillectomy (often with adenoidectomy), other tonsillectomy, adenoidectomy
    // and grommets (EBI 2D / 1G), myringoplasty.
    procedure(0, "F34.1", 0.36, (45, 60), (36, 204), 0.0, 0.05),
    procedure(0, "F34.4", 0.10, (50, 65), (36, 204), 0.0, 0.05),
    procedure(0, "E20.1", 0.12, (25, 35), (24, 120), 0.0, 0.0),
    procedure(0, "D15.1", 0.24, (15, 20), (18, 120), 0.0, 0.0),
    procedure(0, "D14.1", 0.07, (90, 120), (96, 210), 0.0, 0.0),
    // Paediatric surgery: circumcision, inguinal herniotomy (urgent in infants), umbilical hernia,
    // orchidopexy (by 12-18 months), skin lesions; complex: hypospadias repair, fundoplication.
    procedure(1, "N30.3", 0.24, (25, 35), (24, 180), 0.0, 0.0),
    procedure(1, "T19.2", 0.17, (35, 45), (12, 96), 0.25, 0.0),
    procedure(1, "T19.1", 0.05, (40, 50), (12, 60), 0.30, 0.0),
    procedure(1, "T24.1", 0.08, (30, 40), (24, 120), 0.0, 0.0),
    procedure(1, "N08.1", 0.14, (50, 70), (10, 60), 0.0, 0.0),
    procedure(1, "S06.2", 0.05, (20, 30), (12, 204), 0.0, 0.0),
    procedure(1, "M73.1", 0.11, (120, 180), (9, 36), 0.0, 1.0),
    procedure(1, "G24.3", 0.05, (150, 180), (6, 180), 0.10, 1.0),
    // Paediatric dentistry: extraction of multiple teeth, single extraction, surgical removal.
    procedure(2, "F10.4", 0.58, (20, 30), (36, 156), 0.0, 0.02),
    procedure(2, "F10.2", 0.14, (15, 25), (36, 156), 0.0, 0.0),
    procedure(2, "F09.1", 0.28, (25, 35), (96, 210), 0.0, 0.0),
    // Trauma and orthopaedics: removal of metalwork, tendon lengthening, osteotomy, arthroscopy.
    procedure(3, "W28.3", 0.34, (30, 45), (36, 210), 0.0, 0.0),
    procedure(3, "T70.1", 0.24, (60, 90), (36, 180), 0.0, 0.05),
    procedure(3, "W12.8", 0.16, (120, 180), (60, 210), 0.0, 0.5),
    procedure(3, "W87.1", 0.26, (40, 60), (120, 215), 0.0, 0.0),
    // Ophthalmology: strabismus, nasolacrimal duct probing, lensectomy (congenital cataract),
    // examination under anaesthesia.
    procedure(4, "C31.1", 0.45, (60, 90), (18, 180), 0.0, 0.0),
    procedure(4, "C29.2", 0.22, (20, 30), (12, 48), 0.0, 0.0),
    procedure(4, "C71.2", 0.11, (60, 90), (12, 96), 0.35, 0.5),
    procedure(4, "C86.4", 0.22, (20, 30), (12, 120), 0.15, 0.0),
];

const TITLES: &[&str] = &["Mr", "Ms", "Miss", "Dr", "Mrs", "Mr", "Ms"];
const INITIALS: &[char] = &[
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'R', 'S', 'T', 'W',
];
#[rustfmt::skip]
const SURNAMES: &[&str] = &[
    "Okafor", "Patel", "Hughes", "Nowak", "Campbell", "Rahman", "Evans", "Mensah", "Kaur", "Morgan",
    "Ibrahim", "Fraser", "Chen", "Doyle", "Adeyemi", "Jenkins", "Shah", "Murray", "Kowalski", "Ahmed",
    "Fletcher", "Osei", "Lloyd", "Hussain", "Bennett", "Nair", "Sullivan", "Barker", "Iqbal", "Reid",
    "Owusu", "Pritchard", "Singh", "Walsh", "Cooper", "Mahmood", "Griffiths", "Achterberg", "Lam",
    "Harding", "Begum", "Stewart", "Mistry", "Quinn", "Thornton", "Yusuf", "Davies", "Kerr",
];

/// Share of timetabled lists absent in a given week (leave, study leave).
const ABSENT_SHARE: f64 = 0.04;
/// Share of lists released at T-6.
const RELEASED_SHARE: f64 = 0.03;

// ---------------------------------------------------------------------------------------------
// Sites, consultants and the weekly timetable
// ---------------------------------------------------------------------------------------------

struct SiteInfo {
    id: String,
    name: String,
    specialist: bool,
    theatres: usize,
    /// The specialist hub of the site's network (itself for a hub).
    hub: usize,
}

fn make_sites(n: usize) -> Vec<SiteInfo> {
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
fn make_rosters(sites: &[SiteInfo], rng: &mut Rng) -> Vec<Vec<Vec<String>>> {
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
enum Half {
    Am,
    Pm,
    AllDay,
}

impl Half {
    fn start(self) -> &'static str {
        match self {
            Half::Am | Half::AllDay => "08:30",
            Half::Pm => "13:30",
        }
    }

    fn minutes(self) -> i32 {
        match self {
            Half::AllDay => 480,
            _ => 240,
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Half::Am => "AM",
            Half::Pm => "PM",
            Half::AllDay => "DAY",
        }
    }
}

/// A weekly timetable slot: the same list every week it runs.
struct Template {
    site: usize,
    theatre: usize,
    /// 0 = Monday.
    weekday: u32,
    half: Half,
    specialty: usize,
    surgeon: Option<String>,
    list_type: pb::ListType,
    min_age: Option<i32>,
    max_age: Option<i32>,
    paediatric_anaesthetist: bool,
    hvlc: Option<&'static str>,
    target: Option<i32>,
}

/// `n` split in proportion to the weights, largest remainders first (ties to the earlier).
fn apportion(n: usize, weights: &[f64]) -> Vec<usize> {
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
fn working_days(planning: Date, weeks: u32) -> usize {
    (0..weeks as i64 * 7)
        .map(|d| planning + Duration::days(d))
        .filter(|d| d.weekday().num_days_from_monday() < 5 && !is_bank_holiday(*d))
        .count()
}

fn make_timetable(
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

fn make_sessions(
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

// ---------------------------------------------------------------------------------------------
// The booking pool
// ---------------------------------------------------------------------------------------------

fn iso(date: Date) -> String {
    date.format("%Y-%m-%d").to_string()
}

/// Mean theatre load (case and turnaround) of a specialty's case mix.
fn mean_load(specialty: usize, turnaround: f64) -> f64 {
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

fn make_patients(
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
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Bookings already held
// ---------------------------------------------------------------------------------------------

/// Bookings on lists in the first four weeks: most locked lists (T-2) hold 10-35% of their time
/// in bookings, mostly confirmed; about a third of booking-phase lists (T-4) hold one or two,
/// mostly offered. Clerks book the urgent first, and only local families who are pre-assessed.
/// Every booking is one the rules allow as a new booking and fits the list's remaining capacity.
fn make_bookings(request: &pb::ProposeAllocationsRequest, rng: &mut Rng) -> Vec<pb::ExistingBooking> {
    let req = PlanningRequest::try_from(request.clone()).expect("generated requests are valid");
    let locked = req.policy.phases.locked_days;
    let booking = req.policy.phases.booking_days;

    let mut by_specialty: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (p, patient) in req.patients.iter().enumerate() {
        // Families who have a date already are local: they named the sites they accept.
        if patient.preop_status == crate::domain::PreopStatus::Completed
            && patient.accepted_sites.is_some()
            && crate::rules::patient_reasons(&req, p).is_empty()
        {
            by_specialty
                .entry(patient.specialty.as_str())
                .or_default()
                .push(p);
        }
    }
    let mut booked = vec![false; req.patients.len()];
    let mut bookings = Vec::new();
    for s in 0..req.sessions.len() {
        let session = &req.sessions[s];
        let ahead = req.days_ahead(s);
        if session.released || ahead >= booking {
            continue;
        }
        let Some(candidates) = by_specialty.get(session.specialty.as_str()) else {
            continue;
        };
        let in_locked = ahead < locked;
        // Most locked lists hold a few bookings; about a third of booking-phase lists have any yet.
        if !rng.chance(if in_locked { 0.6 } else { 0.35 }) {
            continue;
        }
        let fill = if in_locked {
            0.1 + 0.25 * rng.unit()
        } else {
            0.05 + 0.1 * rng.unit()
        };
        let capacity = req.case_capacity(s);
        let target = (capacity as f64 * fill) as i64;
        let mut used = 0;
        for _ in 0..200 {
            if used >= target {
                break;
            }
            let p = candidates[rng.below(candidates.len())];
            let urgency = match req.patients[p].priority {
                crate::domain::Priority::P2 => 1.0,
                crate::domain::Priority::P3 => 0.8,
                crate::domain::Priority::P4 => 0.5,
            };
            if !rng.chance(urgency) {
                continue;
            }
            let load = req.case_load(p);
            if booked[p] || used + load > capacity || !crate::rules::eligible(&req, p, s) {
                continue;
            }
            booked[p] = true;
            used += load;
            let confirmed = rng.chance(if in_locked { 0.75 } else { 0.35 });
            bookings.push(pb::ExistingBooking {
                patient_id: req.patients[p].id.clone(),
                session_id: session.id.clone(),
                state: if confirmed {
                    pb::BookingState::Confirmed
                } else {
                    pb::BookingState::Offered
                } as i32,
            });
        }
    }
    bookings
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use chrono::NaiveTime;

    use super::*;
    use crate::domain::ListType;
    use crate::rules;

    fn convert(req: &pb::ProposeAllocationsRequest) -> PlanningRequest {
        PlanningRequest::try_from(req.clone())
            .unwrap_or_else(|e| panic!("{e}: {:?}", &e.0[..e.0.len().min(10)]))
    }

    fn pairs(options: &[Vec<usize>]) -> usize {
        options.iter().map(Vec::len).sum()
    }

    /// Pool demand (case and turnaround) over what the confirmed lists can take.
    fn demand_ratio(req: &PlanningRequest, bookable_only: bool, options: &[Vec<usize>]) -> f64 {
        let demand: i64 = (0..req.patients.len())
            .filter(|&p| !bookable_only || !options[p].is_empty())
            .map(|p| req.case_load(p))
            .sum();
        let capacity: i64 = (0..req.sessions.len())
            .filter(|&s| !req.sessions[s].released)
            .map(|s| req.case_capacity(s))
            .sum();
        demand as f64 / capacity as f64
    }

    fn share(count: usize, of: usize) -> f64 {
        count as f64 / of as f64
    }

    #[test]
    fn scales_parse_and_name_the_choices() {
        for scale in Scale::ALL {
            assert_eq!(scale.as_str().parse::<Scale>(), Ok(scale));
            assert_eq!(scale.to_string(), scale.as_str());
        }
        assert_eq!("Trust".parse::<Scale>(), Ok(Scale::Trust));
        let err = "county".parse::<Scale>().unwrap_err().to_string();
        for choice in ["theatre", "trust", "region"] {
            assert!(err.contains(choice), "{err}");
        }
    }

    #[test]
    fn theatre_and_trust_convert_without_violations() {
        for scale in [Scale::Theatre, Scale::Trust] {
            for seed in [1, 2, 3] {
                let req = convert(&generate(scale, seed));
                let shape = scale.shape();
                assert_eq!(req.patients.len(), shape.patients);
                assert_eq!(req.sites.len(), shape.sites);
                let n = req.sessions.len() as f64;
                assert!(
                    (n - shape.sessions as f64).abs() <= 0.1 * shape.sessions as f64,
                    "{scale} {n}"
                );
            }
        }
    }

    #[test]
    fn region_converts_without_violations() {
        let req = convert(&generate(Scale::Region, 1));
        assert_eq!(req.sites.iter().filter(|s| s.specialist_centre).count(), 2);
        assert_eq!(req.patients.len(), 10_000);
        assert!(
            (850..=1_050).contains(&req.sessions.len()),
            "{}",
            req.sessions.len()
        );
    }

    #[test]
    fn small_and_odd_shapes_convert() {
        for shape in [
            Shape {
                sites: 2,
                weeks: 1,
                sessions: 6,
                patients: 15,
            },
            Shape {
                sites: 5,
                weeks: 2,
                sessions: 60,
                patients: 200,
            },
            Shape {
                sites: 1,
                weeks: 4,
                sessions: 0,
                patients: 10,
            },
            Shape {
                sites: 0,
                weeks: 0,
                sessions: 10,
                patients: 0,
            },
        ] {
            convert(&generate_shape(&shape, 9));
        }
    }

    #[test]
    fn requests_round_trip_through_json() {
        let req = generate(Scale::Theatre, 3);
        let text = serde_json::to_string(&req).unwrap();
        assert!(
            text.contains("\"planningDate\":\"2026-11-23\""),
            "{}",
            &text[..80]
        );
        let back: pb::ProposeAllocationsRequest = serde_json::from_str(&text).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn same_seed_same_request_other_seed_other_request() {
        for scale in [Scale::Theatre, Scale::Trust] {
            assert_eq!(generate(scale, 7), generate(scale, 7));
            let (a, b) = (generate(scale, 7), generate(scale, 8));
            assert_ne!(a, b);
            assert_ne!(a.patients, b.patients);
            assert_ne!(a.sessions, b.sessions);
        }
    }

    #[test]
    fn trust_has_enough_eligible_pairs_and_demand_exceeds_capacity() {
        let req = convert(&generate(Scale::Trust, 1));
        let options = rules::eligible_sessions(&req);
        let n = pairs(&options);
        assert!((50_000..100_000).contains(&n), "{n} eligible pairs");
        let all = demand_ratio(&req, false, &options);
        let bookable = demand_ratio(&req, true, &options);
        assert!((1.2..=1.5).contains(&all), "demand / capacity {all:.2}");
        assert!(
            (1.1..=1.5).contains(&bookable),
            "bookable demand / capacity {bookable:.2}"
        );
    }

    #[test]
    fn sessions_look_like_a_theatre_timetable() {
        let raw = generate(Scale::Trust, 1);
        let req = convert(&raw);
        let am = NaiveTime::from_hms_opt(8, 30, 0).unwrap();
        let pm = NaiveTime::from_hms_opt(13, 30, 0).unwrap();
        let mut theatres: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for (s, session) in req.sessions.iter().enumerate() {
            assert!(
                session.date.weekday().num_days_from_monday() < 5,
                "{}",
                session.id
            );
            assert!(!is_bank_holiday(session.date), "{}", session.id);
            assert!((0..42).contains(&req.days_ahead(s)));
            match session.minutes {
                240 => assert!(session.start == am || session.start == pm),
                480 => assert_eq!(session.start, am),
                m => panic!("a {m}-minute list"),
            }
            let site = &req.sites[session.site].id;
            let prefix = format!(
                "S-{site}-{}-{}-",
                session.date.format("%Y-%m-%d"),
                session.theatre
            );
            assert!(session.id.starts_with(&prefix), "{}", session.id);
            theatres
                .entry(session.site)
                .or_default()
                .insert(session.theatre.as_str());
        }
        assert!(
            theatres.values().all(|t| (2..=4).contains(&t.len())),
            "{theatres:?}"
        );
        assert_eq!(req.sites.iter().filter(|s| s.specialist_centre).count(), 1);

        let n = req.sessions.len();
        let released = req.sessions.iter().filter(|s| s.released).count();
        assert!((0.01..0.06).contains(&share(released, n)), "{released} released");
        let all_day = req.sessions.iter().filter(|s| s.minutes == 480).count();
        assert!(all_day > 0 && share(all_day, n) < 0.12, "{all_day} all-day lists");
        let mixed: Vec<_> = req
            .sessions
            .iter()
            .filter(|s| s.list_type == ListType::Mixed)
            .collect();
        assert!(!mixed.is_empty() && mixed.iter().all(|s| (60..=120).contains(&s.reserved_minutes)));
        assert!(req
            .sessions
            .iter()
            .all(|s| (s.list_type == ListType::Mixed) == (s.reserved_minutes > 0)));
        let adult = req
            .sessions
            .iter()
            .filter(|s| s.list_type == ListType::Adult)
            .count();
        assert!(adult > 0 && share(adult, n) < 0.1, "{adult} adult lists");
        let paediatric = req
            .sessions
            .iter()
            .filter(|s| s.list_type == ListType::Paediatric)
            .count();
        assert!(share(paediatric, n) > 0.7);
        let hvlc: BTreeSet<&str> = req
            .sessions
            .iter()
            .filter_map(|s| s.hvlc_group.as_deref())
            .collect();
        assert_eq!(
            hvlc,
            BTreeSet::from(["dental_extraction", "grommets", "tonsillectomy"])
        );
        assert!(req.sessions.iter().any(|s| s.min_age_months == Some(12)));
        assert!(req.sessions.iter().any(|s| s.max_age_months == Some(192)));
        for (s, session) in req.sessions.iter().enumerate() {
            if req.sites[session.site].specialist_centre {
                assert!(
                    session.paediatric_anaesthetist && session.list_type == ListType::Paediatric,
                    "{s}"
                );
            }
        }
        let specialties: BTreeSet<&str> = req.sessions.iter().map(|s| s.specialty.as_str()).collect();
        assert_eq!(specialties, BTreeSet::from(["110", "120", "130", "142", "171"]));
        // Several named consultants per specialty per site, each keeping their weekly slot.
        let mut consultants: BTreeMap<(usize, &str), BTreeSet<&str>> = BTreeMap::new();
        for session in &req.sessions {
            if let Some(name) = &session.surgeon {
                consultants
                    .entry((session.site, session.specialty.as_str()))
                    .or_default()
                    .insert(name);
            }
        }
        assert!(
            consultants
                .iter()
                .all(|((_, tfc), c)| !["120", "171"].contains(tfc) || c.len() >= 2),
            "{consultants:?}"
        );
    }

    #[test]
    fn the_pool_has_the_expected_mix() {
        let req = convert(&generate(Scale::Trust, 1));
        let options = rules::eligible_sessions(&req);
        let n = req.patients.len();
        let count =
            |f: &dyn Fn(&crate::domain::Patient) -> bool| req.patients.iter().filter(|p| f(p)).count();

        use crate::domain::{PreopStatus, Priority};
        let p2 = share(count(&|p| p.priority == Priority::P2), n);
        let p3 = share(count(&|p| p.priority == Priority::P3), n);
        let p4 = share(count(&|p| p.priority == Priority::P4), n);
        assert!((0.06..0.15).contains(&p2) && (0.33..0.47).contains(&p3) && (0.42..0.58).contains(&p4));

        let infants = count(&|p| p.age_months < 12);
        assert!(infants > 0 && share(infants, n) < 0.06, "{infants} infants");
        let under_eight = share(count(&|p| p.age_months < 96), n);
        assert!(under_eight > 0.5, "{under_eight:.2} under eight");
        assert!(req.patients.iter().all(|p| p.age_months < 216));
        assert!(count(&|p| p.accepts_adult_services) > 0);
        assert!(req
            .patients
            .iter()
            .all(|p| !p.accepts_adult_services || p.age_months >= 192));

        let complex = count(&|p| p.complex);
        assert!(complex > 0 && share(complex, n) < 0.12, "{complex} complex");
        // Infants and complex cases may go to a specialist centre, and nearly all can be booked.
        let specialist = |sites: &Option<Vec<usize>>| {
            sites
                .as_ref()
                .is_none_or(|s| s.iter().any(|&i| req.sites[i].specialist_centre))
        };
        let needs: Vec<usize> = (0..n)
            .filter(|&p| req.patients[p].complex || req.patients[p].age_months < 12)
            .collect();
        assert!(needs.iter().all(|&p| specialist(&req.patients[p].accepted_sites)));
        let bookable = needs.iter().filter(|&&p| !options[p].is_empty()).count();
        assert!(
            share(bookable, needs.len()) > 0.9,
            "{bookable} of {}",
            needs.len()
        );

        let completed = count(&|p| p.preop_status == PreopStatus::Completed);
        assert!((0.55..0.65).contains(&share(completed, n)));
        for p in &req.patients {
            assert!(p.rtt_clock_start <= p.date_listed && p.date_listed <= req.planning_date);
            if p.preop_status == PreopStatus::Completed {
                let d = p.preop_date.unwrap();
                assert!(d <= req.planning_date && (req.planning_date - d).num_days() <= 120);
            }
        }
        let over_52 = count(&|p| (req.planning_date - p.rtt_clock_start).num_days() > 52 * 7);
        assert!(
            over_52 > 0
                && req
                    .patients
                    .iter()
                    .all(|p| (req.planning_date - p.rtt_clock_start).num_days() <= 70 * 7)
        );

        let ebi: Vec<_> = req
            .patients
            .iter()
            .filter(|p| p.procedure.starts_with("D15") || p.procedure.starts_with("E20"))
            .collect();
        let approved = ebi.iter().filter(|p| p.ebi_approved).count();
        assert!(approved < ebi.len() && share(approved, ebi.len()) > 0.75);

        let any_site = share(count(&|p| p.accepted_sites.is_none()), n);
        assert!((0.15..0.25).contains(&any_site), "{any_site:.2}");
        let home_only = share(
            count(&|p| p.accepted_sites.as_ref().is_some_and(|s| s.len() == 1)),
            n,
        );
        assert!(home_only > 0.45, "{home_only:.2}");
        assert!(count(&|p| p.accepted_sites.as_ref().is_some_and(|s| s.len() == 2)) > 0);
        let named = share(count(&|p| p.surgeon.is_some()), n);
        assert!((0.2..0.3).contains(&named), "{named:.2}");
        assert!(count(&|p| !p.unavailable.is_empty()) > 0);
        assert!((1..n / 20).contains(&count(&|p| p.diabetes)));
        assert!((1..n / 20).contains(&count(&|p| p.latex_allergy)));
        let ids: BTreeSet<&str> = req.patients.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(ids.len(), n);
        assert!(req
            .patients
            .iter()
            .all(|p| p.id.len() == 7 && p.id.starts_with('P')));
    }

    #[test]
    fn existing_bookings_are_allowed_and_fit() {
        use crate::domain::BookingState;
        for scale in [Scale::Theatre, Scale::Trust] {
            let req = convert(&generate(scale, 1));
            assert!(!req.bookings.is_empty());
            assert!(req.bookings.iter().any(|b| b.state == BookingState::Offered));
            assert!(req.bookings.iter().any(|b| b.state == BookingState::Confirmed));
            let mut load: BTreeMap<usize, i64> = BTreeMap::new();
            for b in &req.bookings {
                let session = &req.sessions[b.session];
                assert!(!session.released);
                assert!(req.days_ahead(b.session) < req.policy.phases.booking_days);
                assert!(rules::eligible(&req, b.patient, b.session), "{}", session.id);
                *load.entry(b.session).or_default() += req.case_load(b.patient);
            }
            assert!(load.iter().all(|(&s, &l)| l <= req.case_capacity(s)));
            // Every booking is one the plan may keep: nothing is in conflict.
            assert!(req
                .bookings
                .iter()
                .all(|b| rules::pinned_reasons(&req, b.patient, b.session).is_empty()));
        }
    }
}
