//! The world's fixed facts: bank holidays, site names, specialties and how they hold lists, the
//! procedures of the pool and their case-mix figures, consultants' names, and the shares of lists
//! absent or released.

use crate::domain::Date;

use super::PLANNING_DATE;

// ---------------------------------------------------------------------------------------------
// The world's fixed facts
// ---------------------------------------------------------------------------------------------

pub(super) fn planning_date() -> Date {
    Date::parse_from_str(PLANNING_DATE, "%Y-%m-%d").expect("a valid constant date")
}

/// England and Wales bank holidays from the planning date to the end of 2027: no elective lists.
pub(super) const BANK_HOLIDAYS: &[&str] = &[
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

pub(super) fn is_bank_holiday(date: Date) -> bool {
    BANK_HOLIDAYS
        .iter()
        .any(|d| Date::parse_from_str(d, "%Y-%m-%d").is_ok_and(|h| h == date))
}

pub(super) const HUB_NAMES: &[(&str, &str)] = &[
    ("NCH", "Northgate Children's Hospital"),
    ("SCH", "Southmere Children's Hospital"),
    ("ECH", "Eastholme Children's Hospital"),
    ("WCH", "Westmoor Children's Hospital"),
];

pub(super) const DGH_NAMES: &[(&str, &str)] = &[
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
pub(super) struct SpecialtyMix {
    pub(super) tfc: &'static str,
    /// Share of a specialist hub's lists.
    pub(super) hub_share: f64,
    /// Share of a DGH's lists.
    pub(super) dgh_share: f64,
    /// Consultants holding lists at a hub / at a DGH.
    pub(super) consultants: (usize, usize),
    /// HVLC lists: procedure group (a key of the policy's `cases_per_list.groups`) and share of the
    /// specialty's paediatric lists.
    pub(super) hvlc: &'static [(&'static str, f64)],
    /// The specialty also treats adults, so DGH lists may be MIXED or ADULT.
    pub(super) adult_lists: bool,
}

pub(super) const SPECIALTIES: &[SpecialtyMix] = &[
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
pub(super) struct ProcedureMix {
    /// Index into `SPECIALTIES`.
    pub(super) specialty: usize,
    pub(super) code: &'static str,
    /// Relative frequency within the specialty.
    pub(super) weight: f64,
    /// Expected theatre minutes, inclusive range (5-minute steps).
    pub(super) minutes: (i64, i64),
    /// Usual age at listing, months, inclusive (skewed towards the young end).
    pub(super) age: (i64, i64),
    /// Share of infants (under 12 months) among these patients.
    pub(super) infants: f64,
    /// Share of complex cases (need a specialist centre).
    pub(super) complex: f64,
}

pub(super) const fn procedure(
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

pub(super) const PROCEDURES: &[ProcedureMix] = &[
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

pub(super) const TITLES: &[&str] = &["Mr", "Ms", "Miss", "Dr", "Mrs", "Mr", "Ms"];
pub(super) const INITIALS: &[char] = &[
    'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H', 'J', 'K', 'L', 'M', 'N', 'P', 'R', 'S', 'T', 'W',
];
#[rustfmt::skip]
pub(super) const SURNAMES: &[&str] = &[
    "Okafor", "Patel", "Hughes", "Nowak", "Campbell", "Rahman", "Evans", "Mensah", "Kaur", "Morgan",
    "Ibrahim", "Fraser", "Chen", "Doyle", "Adeyemi", "Jenkins", "Shah", "Murray", "Kowalski", "Ahmed",
    "Fletcher", "Osei", "Lloyd", "Hussain", "Bennett", "Nair", "Sullivan", "Barker", "Iqbal", "Reid",
    "Owusu", "Pritchard", "Singh", "Walsh", "Cooper", "Mahmood", "Griffiths", "Achterberg", "Lam",
    "Harding", "Begum", "Stewart", "Mistry", "Quinn", "Thornton", "Yusuf", "Davies", "Kerr",
];

/// Share of timetabled lists absent in a given week (leave, study leave).
pub(super) const ABSENT_SHARE: f64 = 0.04;
/// Share of lists released at T-6.
pub(super) const RELEASED_SHARE: f64 = 0.03;
