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

use crate::config::Policy;
use crate::domain::{Date, PlanningRequest};
use crate::proto as pb;

/// The planning date of every generated request: Monday 23 November 2026.
pub const PLANNING_DATE: &str = "2026-11-23";

/// A preset size of generated request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// One specialist children's centre, three weeks, ~20 lists, ~100 patients.
    Theatre,
    /// One specialist hub and two DGHs, six weeks, ~400 lists, ~1,500 patients.
    Trust,
    /// Eight sites (two specialist), six weeks, ~950 lists, ~10,000 patients.
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
            Scale::Theatre => Shape { sites: 1, weeks: 3, sessions: 20, patients: 100 },
            Scale::Trust => Shape { sites: 3, weeks: 6, sessions: 400, patients: 1_500 },
            Scale::Region => Shape { sites: 8, weeks: 6, sessions: 950, patients: 10_000 },
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
    let sites = make_sites(shape.sites.max(1), &mut Rng::new(seed, 1));
    let rosters = make_rosters(&sites, &mut Rng::new(seed, 2));
    let templates = make_timetable(shape, &sites, &rosters, &mut Rng::new(seed, 3));
    let sessions = make_sessions(shape, planning, &sites, &templates, &mut Rng::new(seed, 4));
    let patients = make_patients(shape, planning, &policy, &sites, &templates, &sessions, &mut Rng::new(seed, 5));

    let mut request = pb::ProposeAllocationsRequest {
        planning_date: PLANNING_DATE.to_string(),
        sites: sites
            .iter()
            .map(|s| pb::Site { id: s.id.clone(), name: s.name.clone(), specialist_centre: s.specialist })
            .collect(),
        sessions,
        patients,
        existing_bookings: Vec::new(),
        policy: Some(pb::Policy { profile: "default".to_string(), ..Default::default() }),
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

/// England and Wales bank holidays around the planning horizon: no elective lists run.
const BANK_HOLIDAYS: &[&str] = &["2026-12-25", "2026-12-28", "2027-01-01", "2027-03-26", "2027-03-29"];

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
    ProcedureMix { specialty, code, weight, minutes, age, infants, complex }
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
const INITIALS: &[char] = &['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'R', 'S', 'T', 'W'];
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

fn make_sites(n: usize, rng: &mut Rng) -> Vec<SiteInfo> {
    let hubs = if n <= 3 { 1 } else { n.div_ceil(4) };
    (0..n)
        .map(|i| {
            let specialist = i < hubs;
            let (names, k) = if specialist { (HUB_NAMES, i) } else { (DGH_NAMES, i - hubs) };
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
                theatres: if specialist { 4 } else { 2 + rng.below(2) },
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
                    let n = if site.specialist { spec.consultants.0 } else { spec.consultants.1 };
                    (0..n)
                        .map(|_| {
                            let surname = SURNAMES[order[next % SURNAMES.len()]];
                            let initial = INITIALS[(next / SURNAMES.len() + next * 7) % INITIALS.len()];
                            let title = if SPECIALTIES[2].tfc == spec.tfc && next % 2 == 0 {
                                "Dr"
                            } else {
                                TITLES[next % TITLES.len()]
                            };
                            next += 1;
                            format!("{title} {initial} {surname}")
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

/// Working days (weekdays, not bank holidays) in the horizon.
fn working_days(planning: Date, weeks: u32) -> usize {
    (0..weeks as i64 * 7)
        .map(|d| planning + Duration::days(d))
        .filter(|d| d.weekday().num_days_from_monday() < 5 && !is_bank_holiday(*d))
        .count()
}

fn make_timetable(shape: &Shape, sites: &[SiteInfo], rosters: &[Vec<Vec<String>>], rng: &mut Rng) -> Vec<Template> {
    let planning = planning_date();
    let days = working_days(planning, shape.weeks).max(1);
    // Lists per week so that the horizon holds about `shape.sessions` lists.
    let per_week = (shape.sessions as f64 * 5.0 / days as f64 / (1.0 - ABSENT_SHARE)).round() as usize;

    let mut slots: Vec<(usize, usize, u32, Half)> = Vec::new();
    for (s, site) in sites.iter().enumerate() {
        for t in 0..site.theatres {
            for day in 0..5 {
                slots.push((s, t, day, Half::Am));
                slots.push((s, t, day, Half::Pm));
            }
        }
    }
    rng.shuffle(&mut slots);

    let mut taken: BTreeMap<(usize, usize, u32), Vec<Half>> = BTreeMap::new();
    let mut chosen: Vec<(usize, usize, u32, Half)> = Vec::new();
    for (s, t, day, half) in slots {
        if chosen.len() >= per_week {
            break;
        }
        let used = taken.entry((s, t, day)).or_default();
        if used.contains(&half) || used.contains(&Half::AllDay) {
            continue;
        }
        let all_day_share = if sites[s].specialist { 0.10 } else { 0.04 };
        if used.is_empty() && rng.chance(all_day_share) {
            used.push(Half::AllDay);
            chosen.push((s, t, day, Half::AllDay));
        } else {
            used.push(half);
            chosen.push((s, t, day, half));
        }
    }
    chosen.sort();

    let mut rota: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    chosen
        .into_iter()
        .map(|(site, theatre, weekday, half)| {
            let info = &sites[site];
            let shares: Vec<f64> = SPECIALTIES
                .iter()
                .map(|m| if info.specialist { m.hub_share } else { m.dgh_share })
                .collect();
            let specialty = rng.weighted(&shares);
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
                [pb::ListType::Paediatric, pb::ListType::Mixed, pb::ListType::Adult][rng.weighted(&[0.55, 0.35, 0.10])]
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
                id: format!("S-{}-{}-{}-{}", site.id, date.format("%Y-%m-%d"), theatre, t.half.tag()),
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
                reserved_minutes: if t.list_type == pb::ListType::Mixed { reserved } else { 0 },
                status: if released { pb::SessionStatus::Released } else { pb::SessionStatus::Confirmed } as i32,
                cases_per_list_target: t.target,
                hvlc_group: t.hvlc.map(str::to_string),
            });
        }
    }
    sessions.sort_by(|a, b| (&a.date, &a.site_id, &a.theatre, &a.start_time).cmp(&(&b.date, &b.site_id, &b.theatre, &b.start_time)));
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
    let (sum, weight) = PROCEDURES
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
    let site_index: BTreeMap<&str, usize> = sites.iter().enumerate().map(|(i, s)| (s.id.as_str(), i)).collect();
    let mut cases = vec![0.0; sites.len() * SPECIALTIES.len()];
    for s in sessions {
        if s.status == pb::SessionStatus::Released as i32 || s.list_type == pb::ListType::Adult as i32 {
            continue;
        }
        let site = site_index[s.site_id.as_str()];
        if let Some(spec) = SPECIALTIES.iter().position(|m| m.tfc == s.specialty) {
            cases[site * SPECIALTIES.len() + spec] += f64::from(s.minutes - s.reserved_minutes) / mean_load(spec, turnaround);
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
                1 => pb::PreopAssessment { status: pb::PreopStatus::NotDone as i32, date: None },
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
                    let other = if home != hub && rng.chance(0.6) { hub } else { (home + 1 + rng.below(sites.len() - 1)) % sites.len() };
                    accepted.push(other);
                }
            }

            // A named consultant: one with lists this case could go on, at a site it may go to.
            let surgeon = if rng.chance(0.25) {
                let group = policy.cases_per_list.group_of(proc.code);
                let mut candidates: BTreeMap<&str, f64> = BTreeMap::new();
                let where_ = if accepted.is_empty() { vec![if needs_specialist { hub } else { home }] } else { accepted.clone() };
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
                unavailable.push(pb::DateRange { from: iso(from), to: iso(from + Duration::days(rng.range(2, 14))) });
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

/// Bookings on lists in the first four weeks: locked lists (T-2) are about half full, mostly
/// confirmed; booking-phase lists (T-4) a quarter full, mostly offered. Every booking is one the
/// rules allow as a new booking and fits the list's remaining capacity.
fn make_bookings(request: &pb::ProposeAllocationsRequest, rng: &mut Rng) -> Vec<pb::ExistingBooking> {
    let req = PlanningRequest::try_from(request.clone()).expect("generated requests are valid");
    let locked = req.policy.phases.locked_days;
    let booking = req.policy.phases.booking_days;

    let mut by_specialty: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (p, patient) in req.patients.iter().enumerate() {
        // Families who have a date already are local: they named the sites they accept.
        if patient.preop_status == crate::domain::PreopStatus::Completed && patient.accepted_sites.is_some() {
            by_specialty.entry(patient.specialty.as_str()).or_default().push(p);
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
        let Some(candidates) = by_specialty.get(session.specialty.as_str()) else { continue };
        let in_locked = ahead < locked;
        // Locked lists hold a few bookings; about half the booking-phase lists have any yet.
        if !in_locked && rng.chance(0.5) {
            continue;
        }
        let fill = if in_locked { 0.1 + 0.25 * rng.unit() } else { 0.03 + 0.12 * rng.unit() };
        let capacity = req.case_capacity(s);
        let target = (capacity as f64 * fill) as i64;
        let mut used = 0;
        for _ in 0..200 {
            if used >= target {
                break;
            }
            let p = candidates[rng.below(candidates.len())];
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
                state: if confirmed { pb::BookingState::Confirmed } else { pb::BookingState::Offered } as i32,
            });
        }
    }
    bookings
}

#[cfg(test)]
mod tests {
    use super::*;

    fn convert(req: &pb::ProposeAllocationsRequest) -> PlanningRequest {
        PlanningRequest::try_from(req.clone()).unwrap_or_else(|e| panic!("{e}: {:?}", &e.0[..e.0.len().min(10)]))
    }

    fn pairs(req: &PlanningRequest) -> usize {
        crate::rules::eligible_sessions(req).iter().map(Vec::len).sum()
    }

    /// Pool demand (cases with turnaround, patients who may be booked) over what the lists can take.
    fn demand_ratio(req: &PlanningRequest) -> f64 {
        let options = crate::rules::eligible_sessions(req);
        let demand: i64 = (0..req.patients.len()).filter(|&p| !options[p].is_empty()).map(|p| req.case_load(p)).sum();
        let capacity: i64 = (0..req.sessions.len()).filter(|&s| !req.sessions[s].released).map(|s| req.case_capacity(s)).sum();
        demand as f64 / capacity as f64
    }

    #[test]
    fn summary() {
        let shapes = [
            Scale::Theatre.shape(),
            Scale::Trust.shape(),
            Shape { sites: 3, weeks: 6, sessions: 400, patients: 1800 },
            Shape { sites: 3, weeks: 6, sessions: 400, patients: 2000 },
        ];
        for shape in shapes {
            let req = generate_shape(&shape, 1);
            let d = convert(&req);
            let options = crate::rules::eligible_sessions(&d);
            let none = options.iter().filter(|o| o.is_empty()).count();
            let all: i64 = (0..d.patients.len()).map(|p| d.case_load(p)).sum();
            let cap: i64 = (0..d.sessions.len()).filter(|&s| !d.sessions[s].released).map(|s| d.case_capacity(s)).sum();
            eprintln!(
                "{shape:?}: sessions {} patients {} bookings {} pairs {} ratio {:.2} all {:.2} none {none} meanload {:.1} cap/session {:.1}",
                d.sessions.len(),
                d.patients.len(),
                d.bookings.len(),
                pairs(&d),
                demand_ratio(&d),
                all as f64 / cap as f64,
                all as f64 / d.patients.len() as f64,
                cap as f64 / d.sessions.len() as f64,
            );
        }
    }
}
#[cfg(test)]
mod diag {
    use super::*;
    #[test]
    fn reasons() {
        let req = generate(Scale::Trust, 1);
        let d = PlanningRequest::try_from(req).unwrap();
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        let mut matched = 0;
        for p in 0..d.patients.len() {
            for s in 0..d.sessions.len() {
                if d.patients[p].specialty != d.sessions[s].specialty { continue; }
                matched += 1;
                let r = crate::rules::pair_reasons(&d, p, s);
                if r.is_empty() { *counts.entry("OK".into()).or_default() += 1; }
                for x in r { *counts.entry(x.code().into()).or_default() += 1; }
                if crate::rules::pair_reasons(&d, p, s).len() == 1 { *counts.entry(format!("only {}", crate::rules::pair_reasons(&d, p, s)[0].code())).or_default() += 1; }
            }
        }
        eprintln!("matched {matched}: {counts:#?}");
        let ebi = (0..d.patients.len()).filter(|&p| !crate::rules::patient_reasons(&d, p).is_empty()).count();
        eprintln!("ebi blocked {ebi}");
    }
}
