//! Names and colours the report shows: priorities, 6-4-2 phases, specialties, reason codes, dates.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use crate::api::proto as pb;
use crate::domain::RuleCode;

/// `P2`, `P3`, `P4` (or `P?`).
pub fn priority_label(p: i32) -> &'static str {
    match pb::Priority::try_from(p) {
        Ok(pb::Priority::P2) => "P2",
        Ok(pb::Priority::P3) => "P3",
        Ok(pb::Priority::P4) => "P4",
        _ => "P?",
    }
}

pub(super) struct PhaseInfo {
    pub(super) class: &'static str,
    pub(super) label: &'static str,
    pub(super) meaning: &'static str,
    pub(super) colour: &'static str,
}

pub(super) fn phase_info(p: i32) -> PhaseInfo {
    let (class, label, meaning, colour) = match pb::Phase::try_from(p) {
        Ok(pb::Phase::Locked) => (
            "locked",
            "locked (T-2)",
            "within 2 weeks: existing bookings stay; gaps only",
            "#f4b6b0",
        ),
        Ok(pb::Phase::Booking) => (
            "booking",
            "booking (T-4)",
            "2 to 4 weeks ahead: lists are booked",
            "#ffd97a",
        ),
        Ok(pb::Phase::Confirming) => (
            "confirming",
            "confirming (T-6)",
            "4 to 6 weeks ahead: sessions confirmed or released",
            "#b9d4f1",
        ),
        Ok(pb::Phase::Provisional) => ("provisional", "provisional", "more than 6 weeks ahead", "#e4e4e4"),
        Ok(pb::Phase::Past) => ("past", "past", "before the planning date", "#bdbdbd"),
        _ => ("unknown", "phase unknown", "phase not given", "#ffffff"),
    };
    PhaseInfo {
        class,
        label,
        meaning,
        colour,
    }
}

/// Short names of the treatment function codes a children's theatre plan usually holds.
pub fn specialty_name(tfc: &str) -> Option<&'static str> {
    Some(match tfc {
        "100" => "General surgery",
        "101" => "Urology",
        "110" => "Trauma and orthopaedics",
        "120" => "ENT",
        "130" => "Ophthalmology",
        "140" => "Oral surgery",
        "142" => "Paediatric dentistry",
        "143" => "Orthodontics",
        "144" => "Maxillofacial surgery",
        "150" => "Neurosurgery",
        "160" => "Plastic surgery",
        "171" => "Paediatric surgery",
        "211" => "Paediatric urology",
        "214" => "Paediatric trauma and orthopaedics",
        "215" => "Paediatric ENT",
        "216" => "Paediatric ophthalmology",
        "217" => "Paediatric maxillofacial surgery",
        "218" => "Paediatric neurosurgery",
        "219" => "Paediatric plastic surgery",
        "502" => "Gynaecology",
        _ => return None,
    })
}

pub(super) fn specialty_text(tfc: &str) -> String {
    match specialty_name(tfc) {
        Some(name) => format!("{name} ({tfc})"),
        None => format!("TFC {tfc}"),
    }
}

/// Light tints (black text stays legible on every one), distinguishable with common colour-vision
/// deficiencies; priorities and reserved time are marked by outline and pattern, never colour alone.
pub(super) const PALETTE: &[&str] = &[
    "#9ecae1", "#fdb97d", "#a1d99b", "#f4a6c8", "#fff08a", "#c6b7e2", "#9fded1", "#e0c4a8", "#d9d9d9",
    "#f7c6c0",
];

/// Specialty code -> fill colour, in code order so the same plan always gets the same colours.
pub(super) struct Palette(pub(super) BTreeMap<String, &'static str>);

impl Palette {
    pub(super) fn of(plans: &[&pb::ProposeAllocationsResponse]) -> Palette {
        let codes: BTreeSet<&str> = plans
            .iter()
            .flat_map(|p| p.sessions.iter().map(|s| s.specialty.as_str()))
            .collect();
        Palette(
            codes
                .into_iter()
                .enumerate()
                .map(|(i, c)| (c.to_string(), PALETTE[i % PALETTE.len()]))
                .collect(),
        )
    }

    pub(super) fn colour(&self, code: &str) -> &'static str {
        self.0.get(code).copied().unwrap_or("#ffffff")
    }
}

/// The sentence of a reason code (empty for a code this version does not know).
pub(super) fn reason_meaning(code: &str) -> &'static str {
    RuleCode::from_code(code).map_or("", RuleCode::describe)
}

pub(super) fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

pub(super) fn long_date(text: &str) -> String {
    parse_date(text).map_or_else(|| text.to_string(), |d| d.format("%a %-d %b %Y").to_string())
}

pub(super) fn day_label(text: &str) -> String {
    parse_date(text).map_or_else(|| text.to_string(), |d| d.format("%a %-d %b").to_string())
}

pub(super) fn clock_minutes(hhmm: &str) -> Option<i32> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..48).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

pub(super) fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}
