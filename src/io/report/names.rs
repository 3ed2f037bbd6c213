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
    pub(super) label: String,
    pub(super) meaning: String,
    pub(super) colour: &'static str,
}

/// Days from the planning date within which a list is locked, booked and confirmed: the plan's
/// effective policy, as the response carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PhaseDays {
    pub(super) locked: i32,
    pub(super) booking: i32,
    pub(super) confirming: i32,
}

impl PhaseDays {
    /// The 6-4-2 rhythm's own weeks, for plans written before responses carried their policy.
    const SIX_FOUR_TWO: PhaseDays = PhaseDays {
        locked: 14,
        booking: 28,
        confirming: 42,
    };

    pub(super) fn of(plan: &pb::ProposeAllocationsResponse) -> PhaseDays {
        plan.policy
            .as_ref()
            .map_or(PhaseDays::SIX_FOUR_TWO, |p| PhaseDays {
                locked: p.locked_days,
                booking: p.booking_days,
                confirming: p.confirming_days,
            })
    }
}

/// `2 weeks`, `1 week`, `10 days`.
fn span(days: i32) -> String {
    match (days % 7 == 0, days / 7) {
        (true, 1) => "1 week".to_string(),
        (true, weeks) => format!("{weeks} weeks"),
        (false, _) if days == 1 => "1 day".to_string(),
        (false, _) => format!("{days} days"),
    }
}

/// `2 to 4 weeks`, or in days when either end is not whole weeks.
fn span_between(from: i32, to: i32) -> String {
    if from % 7 == 0 && to % 7 == 0 {
        format!("{} to {} weeks", from / 7, to / 7)
    } else {
        format!("{from} to {to} days")
    }
}

/// `T-4` (weeks), or `T-25d` when not whole weeks.
fn t_minus(days: i32) -> String {
    if days % 7 == 0 {
        format!("T-{}", days / 7)
    } else {
        format!("T-{days}d")
    }
}

/// How the report shows a 6-4-2 phase, its meaning from the plan's phase days.
pub(super) fn phase_info(p: i32, days: PhaseDays) -> PhaseInfo {
    let (class, label, meaning, colour) = match pb::Phase::try_from(p) {
        Ok(pb::Phase::Locked) => (
            "locked",
            format!("locked ({})", t_minus(days.locked)),
            format!("within {}: existing bookings stay; gaps only", span(days.locked)),
            "#f4b6b0",
        ),
        Ok(pb::Phase::Booking) => (
            "booking",
            format!("booking ({})", t_minus(days.booking)),
            format!(
                "{} ahead: lists are booked",
                span_between(days.locked, days.booking)
            ),
            "#ffd97a",
        ),
        Ok(pb::Phase::Confirming) => (
            "confirming",
            format!("confirming ({})", t_minus(days.confirming)),
            format!(
                "{} ahead: sessions confirmed or released",
                span_between(days.booking, days.confirming)
            ),
            "#b9d4f1",
        ),
        Ok(pb::Phase::Provisional) => (
            "provisional",
            "provisional".to_string(),
            format!("more than {} ahead", span(days.confirming)),
            "#e4e4e4",
        ),
        Ok(pb::Phase::Past) => (
            "past",
            "past".to_string(),
            "before the planning date".to_string(),
            "#bdbdbd",
        ),
        _ => (
            "unknown",
            "phase unknown".to_string(),
            "phase not given".to_string(),
            "#ffffff",
        ),
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
