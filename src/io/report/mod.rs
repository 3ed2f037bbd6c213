//! The scheduler's report: one self-contained HTML file per plan (or per comparison) that opens
//! offline and prints legibly.
//!
//! Nothing is fetched: the CSS is inline and every chart is inline SVG drawn here. The page shows
//! the KPIs (beside another plan's, with deltas, when comparing), a legend, a timeline (Gantt) per
//! site and week with one row per theatre and day, every case a bar (`<rect class="case">`)
//! coloured by specialty and labelled with its priority, the reserved adult block hatched, the
//! 6-4-2 phase of every week and day, per-list utilisation bars against the target line and cases
//! against target, the lists and cases as tables, and the unallocated patients grouped by reason.
//! The print stylesheet keeps black text on white and relies on no hover: everything a tooltip
//! says is also in a table.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use chrono::{NaiveDate, Weekday};

use crate::api::proto as pb;
use crate::domain::policy::Policy;
use crate::domain::RuleCode;

/// The national utilisation aim (DOMAIN "Vocabulary": 85%), used when the plan's profile is unknown.
pub const DEFAULT_UTILISATION_TARGET: f64 = 0.85;

/// Escapes text for HTML element content and quoted attribute values. Control characters (other
/// than newline and tab) become U+FFFD.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// The utilisation target the plan was made against: its profile's `lists.utilisation_target`
/// (the plan names its profile), else 85%.
pub fn utilisation_target(plan: &pb::ProposeAllocationsResponse) -> f64 {
    let name = if plan.profile.is_empty() {
        "default"
    } else {
        plan.profile.as_str()
    };
    Policy::shipped(name)
        .map(|p| p.lists.utilisation_target)
        .ok()
        .filter(|t| *t > 0.0 && *t <= 1.0)
        .unwrap_or(DEFAULT_UTILISATION_TARGET)
}

/// The report of one plan; with `compare`, the KPIs of both plans side by side with deltas
/// (this plan less the other) and who gains or loses a date.
pub fn html(
    plan: &pb::ProposeAllocationsResponse,
    compare: Option<(&str, &pb::ProposeAllocationsResponse)>,
    title: &str,
) -> String {
    let mut page = Page::new(title);
    match compare {
        None => {
            page.overview(plan);
            page.kpis(&[("this plan", plan)]);
            page.plan_body(plan, "p0", false);
        }
        Some((name, other)) => {
            page.overview(plan);
            page.kpis(&[(name, other), ("this plan", plan)]);
            page.gained_lost(&[(name, other), ("this plan", plan)]);
            page.plan_body(plan, "p0", false);
        }
    }
    page.finish()
}

/// The report of a what-if comparison: every plan's KPIs beside the base's with deltas, who gains
/// or loses a date in each scenario, then each plan in full.
pub fn comparison_html(comparison: &pb::CompareScenariosResponse, title: &str) -> String {
    let plans = comparison_plans(comparison);
    let mut page = Page::new(title);
    let names: Vec<String> = plans.iter().map(|(n, _)| escape(n)).collect();
    let _ = writeln!(
        page.out,
        "<p class=\"overview\">What-if comparison of {} plan(s): {}. Changes are each scenario less the base.</p>",
        plans.len(),
        names.join(", ")
    );
    page.kpis(&plans);
    page.gained_lost(&plans);
    for (i, (name, plan)) in plans.iter().enumerate() {
        let _ = writeln!(
            page.out,
            "<section class=\"plan\" id=\"plan-{i}\"><h2 class=\"plan-title\">Plan: {}</h2>",
            escape(name)
        );
        page.overview(plan);
        page.plan_body(plan, &format!("p{i}"), true);
        page.out.push_str("</section>\n");
    }
    page.finish()
}

/// The base and scenario plans of a comparison, in order.
pub fn comparison_plans(
    comparison: &pb::CompareScenariosResponse,
) -> Vec<(&str, &pb::ProposeAllocationsResponse)> {
    let mut plans = Vec::new();
    if let Some(base) = &comparison.base {
        if let Some(plan) = &base.plan {
            plans.push((base.name.as_str(), plan));
        }
    }
    for s in &comparison.scenarios {
        if let Some(plan) = &s.plan {
            plans.push((s.name.as_str(), plan));
        }
    }
    plans
}

// ---------------------------------------------------------------------------------------------
// Names and colours
// ---------------------------------------------------------------------------------------------

/// `P2`, `P3`, `P4` (or `P?`).
pub fn priority_label(p: i32) -> &'static str {
    match pb::Priority::try_from(p) {
        Ok(pb::Priority::P2) => "P2",
        Ok(pb::Priority::P3) => "P3",
        Ok(pb::Priority::P4) => "P4",
        _ => "P?",
    }
}

struct PhaseInfo {
    class: &'static str,
    label: &'static str,
    meaning: &'static str,
    colour: &'static str,
}

fn phase_info(p: i32) -> PhaseInfo {
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

fn specialty_text(tfc: &str) -> String {
    match specialty_name(tfc) {
        Some(name) => format!("{name} ({tfc})"),
        None => format!("TFC {tfc}"),
    }
}

/// Light tints (black text stays legible on every one), distinguishable with common colour-vision
/// deficiencies; priorities and reserved time are marked by outline and pattern, never colour alone.
const PALETTE: &[&str] = &[
    "#9ecae1", "#fdb97d", "#a1d99b", "#f4a6c8", "#fff08a", "#c6b7e2", "#9fded1", "#e0c4a8", "#d9d9d9",
    "#f7c6c0",
];

/// Specialty code -> fill colour, in code order so the same plan always gets the same colours.
struct Palette(BTreeMap<String, &'static str>);

impl Palette {
    fn of(plans: &[&pb::ProposeAllocationsResponse]) -> Palette {
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

    fn colour(&self, code: &str) -> &'static str {
        self.0.get(code).copied().unwrap_or("#ffffff")
    }
}

/// The sentence of a reason code (empty for a code this version does not know).
fn reason_meaning(code: &str) -> &'static str {
    RuleCode::from_code(code).map_or("", RuleCode::describe)
}

fn parse_date(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()
}

fn long_date(text: &str) -> String {
    parse_date(text).map_or_else(|| text.to_string(), |d| d.format("%a %-d %b %Y").to_string())
}

fn day_label(text: &str) -> String {
    parse_date(text).map_or_else(|| text.to_string(), |d| d.format("%a %-d %b").to_string())
}

fn clock_minutes(hhmm: &str) -> Option<i32> {
    let (h, m) = hhmm.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    ((0..48).contains(&h) && (0..60).contains(&m)).then_some(h * 60 + m)
}

fn percent(v: f64) -> String {
    format!("{:.0}%", v * 100.0)
}

// ---------------------------------------------------------------------------------------------
// KPIs
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Fmt {
    Count,
    /// A fraction shown as a percentage with this many decimals.
    Percent(usize),
    Decimal(usize),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Better {
    Higher,
    Lower,
    Neither,
}

#[derive(Clone, Debug)]
enum KpiValue {
    Text(String),
    Num { value: f64, fmt: Fmt, better: Better },
}

#[derive(Clone, Debug)]
struct KpiRow {
    label: String,
    value: KpiValue,
}

fn strip_enum(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

fn kpi_rows(plan: &pb::ProposeAllocationsResponse) -> Vec<KpiRow> {
    let mut rows = Vec::new();
    let mut text = |label: &str, value: String| {
        rows.push(KpiRow {
            label: label.to_string(),
            value: KpiValue::Text(value),
        })
    };
    text(
        "Plan status",
        pb::PlanStatus::try_from(plan.status)
            .map_or("?".into(), |s| strip_enum(s.as_str_name(), "PLAN_STATUS_")),
    );
    text(
        "Planner",
        pb::Planner::try_from(plan.planner).map_or("?".into(), |s| strip_enum(s.as_str_name(), "PLANNER_")),
    );
    text("Policy profile", plan.profile.clone());
    let mut num = |label: String, value: f64, fmt: Fmt, better: Better| {
        rows.push(KpiRow {
            label,
            value: KpiValue::Num { value, fmt, better },
        })
    };
    let k = plan.kpis.clone().unwrap_or_default();
    num(
        "Patients booked".into(),
        k.booked.into(),
        Fmt::Count,
        Better::Higher,
    );
    num(
        "Patients unallocated".into(),
        k.unallocated.into(),
        Fmt::Count,
        Better::Lower,
    );
    for p in [pb::Priority::P2, pb::Priority::P3, pb::Priority::P4] {
        let c = k
            .by_priority
            .iter()
            .find(|c| c.priority == p as i32)
            .cloned()
            .unwrap_or_default();
        let name = priority_label(p as i32);
        num(
            format!("{name} booked"),
            c.booked.into(),
            Fmt::Count,
            Better::Higher,
        );
        num(
            format!("{name} unallocated"),
            c.unallocated.into(),
            Fmt::Count,
            Better::Lower,
        );
    }
    num(
        "Due-date breaches".into(),
        k.due_date_breaches.into(),
        Fmt::Count,
        Better::Lower,
    );
    num(
        "Utilisation (lists with cases)".into(),
        k.utilisation,
        Fmt::Percent(1),
        Better::Higher,
    );
    for s in &k.utilisation_by_site {
        num(
            format!("Utilisation at {}", s.site_id),
            s.utilisation,
            Fmt::Percent(1),
            Better::Higher,
        );
    }
    num(
        "Lists on cases-per-list target".into(),
        k.lists_on_target.into(),
        Fmt::Count,
        Better::Higher,
    );
    num(
        "Lists with cases and a target".into(),
        k.lists_with_target.into(),
        Fmt::Count,
        Better::Neither,
    );
    num(
        "Over 18 weeks: booked".into(),
        k.over_18_weeks_booked.into(),
        Fmt::Count,
        Better::Higher,
    );
    num(
        "Over 18 weeks: left".into(),
        k.over_18_weeks_left.into(),
        Fmt::Count,
        Better::Lower,
    );
    num(
        "Over 52 weeks: booked".into(),
        k.over_52_weeks_booked.into(),
        Fmt::Count,
        Better::Higher,
    );
    num(
        "Over 52 weeks: left".into(),
        k.over_52_weeks_left.into(),
        Fmt::Count,
        Better::Lower,
    );
    num(
        "Existing bookings moved".into(),
        k.moves.into(),
        Fmt::Count,
        Better::Lower,
    );
    num(
        "Release candidates (empty lists)".into(),
        k.release_candidates.into(),
        Fmt::Count,
        Better::Neither,
    );
    num(
        "Conflicts needing a person".into(),
        plan.conflicts.len() as f64,
        Fmt::Count,
        Better::Lower,
    );
    let s = plan.solver.clone().unwrap_or_default();
    num(
        "Objective (higher is better)".into(),
        s.objective,
        Fmt::Decimal(3),
        Better::Higher,
    );
    num(
        "Proven bound".into(),
        s.best_bound,
        Fmt::Decimal(3),
        Better::Neither,
    );
    num(
        "Optimality gap".into(),
        s.relative_gap,
        Fmt::Percent(2),
        Better::Lower,
    );
    num(
        "Baseline (first-fit) objective".into(),
        s.baseline_objective,
        Fmt::Decimal(3),
        Better::Neither,
    );
    num(
        "Solve time (s)".into(),
        s.solve_seconds,
        Fmt::Decimal(2),
        Better::Neither,
    );
    rows.push(KpiRow {
        label: "Solver stopped".into(),
        value: KpiValue::Text(s.stop_reason),
    });
    rows
}

fn format_value(value: f64, fmt: Fmt) -> String {
    match fmt {
        Fmt::Count => format!("{}", value.round() as i64),
        Fmt::Percent(d) => format!("{:.*}%", d, value * 100.0),
        Fmt::Decimal(d) => format!("{value:.d$}"),
    }
}

/// `(text, verdict)` of `new - old`; the verdict is `better`, `worse` or empty.
fn format_delta(old: f64, new: f64, fmt: Fmt, better: Better) -> (String, &'static str) {
    let d = new - old;
    let (text, zero) = match fmt {
        Fmt::Count => {
            let d = d.round() as i64;
            (format!("{d:+}"), d == 0)
        }
        Fmt::Percent(dp) => {
            let pts = d * 100.0;
            let zero = pts.abs() < 0.5 * 10f64.powi(-(dp as i32));
            (format!("{:+.*} pts", dp, if zero { 0.0 } else { pts }), zero)
        }
        Fmt::Decimal(dp) => {
            let zero = d.abs() < 0.5 * 10f64.powi(-(dp as i32));
            (format!("{:+.*}", dp, if zero { 0.0 } else { d }), zero)
        }
    };
    let verdict = match (zero, better) {
        (true, _) | (_, Better::Neither) => "",
        (false, Better::Higher) if d > 0.0 => "better",
        (false, Better::Lower) if d < 0.0 => "better",
        _ => "worse",
    };
    (text, verdict)
}

/// KPI rows of several plans aligned by label (the union, in first-seen order).
fn aligned_rows(plans: &[(&str, &pb::ProposeAllocationsResponse)]) -> Vec<(String, Vec<Option<KpiValue>>)> {
    let per_plan: Vec<Vec<KpiRow>> = plans.iter().map(|(_, p)| kpi_rows(p)).collect();
    let mut labels: Vec<String> = Vec::new();
    for rows in &per_plan {
        for r in rows {
            if !labels.contains(&r.label) {
                labels.push(r.label.clone());
            }
        }
    }
    labels
        .into_iter()
        .map(|label| {
            let values = per_plan
                .iter()
                .map(|rows| rows.iter().find(|r| r.label == label).map(|r| r.value.clone()))
                .collect();
            (label, values)
        })
        .collect()
}

/// The KPI tables of the page: patients, lists, and the plan and solver.
const KPI_GROUPS: [&str; 3] = ["Patients", "Lists", "Plan and solver"];

fn kpi_group(label: &str) -> &'static str {
    const PLAN: &[&str] = &[
        "Plan status",
        "Planner",
        "Policy profile",
        "Objective (higher is better)",
        "Proven bound",
        "Optimality gap",
        "Baseline (first-fit) objective",
        "Solve time (s)",
        "Solver stopped",
    ];
    const LISTS: &[&str] = &[
        "Utilisation",
        "Lists ",
        "Existing bookings moved",
        "Release candidates",
        "Conflicts",
    ];
    if PLAN.contains(&label) {
        KPI_GROUPS[2]
    } else if LISTS.iter().any(|p| label.starts_with(p)) {
        KPI_GROUPS[1]
    } else {
        KPI_GROUPS[0]
    }
}

fn cell_text(v: &Option<KpiValue>) -> String {
    match v {
        None => "-".into(),
        Some(KpiValue::Text(t)) => t.clone(),
        Some(KpiValue::Num { value, fmt, .. }) => format_value(*value, *fmt),
    }
}

fn delta_of(base: &Option<KpiValue>, other: &Option<KpiValue>) -> (String, &'static str) {
    match (base, other) {
        (
            Some(KpiValue::Num {
                value: a,
                fmt,
                better,
                ..
            }),
            Some(KpiValue::Num { value: b, .. }),
        ) => format_delta(*a, *b, *fmt, *better),
        (Some(KpiValue::Text(a)), Some(KpiValue::Text(b))) if a != b => ("changed".into(), ""),
        (Some(KpiValue::Text(_)), Some(KpiValue::Text(_))) => (String::new(), ""),
        _ => ("-".into(), ""),
    }
}

/// A plain-text KPI table of plans side by side; the first is the base and every other column is
/// followed by its change from the base. For terminals (the `whatif` command).
pub fn kpi_text(plans: &[(&str, &pb::ProposeAllocationsResponse)]) -> String {
    let rows = aligned_rows(plans);
    let mut header = vec!["KPI".to_string()];
    for (i, (name, _)) in plans.iter().enumerate() {
        header.push(name.to_string());
        if i > 0 {
            header.push("change".into());
        }
    }
    let mut table = vec![header];
    for (label, values) in &rows {
        let mut line = vec![label.clone()];
        for (i, v) in values.iter().enumerate() {
            line.push(cell_text(v));
            if i > 0 {
                let (d, verdict) = delta_of(&values[0], v);
                line.push(if verdict.is_empty() {
                    d
                } else {
                    format!("{d} {verdict}")
                });
            }
        }
        table.push(line);
    }
    let columns = table[0].len();
    let widths: Vec<usize> = (0..columns)
        .map(|c| table.iter().map(|l| l[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (n, line) in table.iter().enumerate() {
        let cells: Vec<String> = line
            .iter()
            .enumerate()
            .map(|(c, text)| {
                if c == 0 {
                    format!("{text:<w$}", w = widths[c])
                } else {
                    format!("{text:>w$}", w = widths[c])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", cells.join("  ").trim_end());
        if n == 0 {
            let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
            let _ = writeln!(out, "{}", rule.join("  "));
        }
    }
    out
}

fn booked_ids(plan: &pb::ProposeAllocationsResponse) -> BTreeSet<&str> {
    plan.sessions
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.patient_id.as_str()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

const CSS: &str = r#"
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font-family: "Liberation Sans", "DejaVu Sans", Arial, Helvetica, sans-serif; color: #000;
  background: #fff; margin: 24px; font-size: 14px; line-height: 1.4; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 19px; border-bottom: 2px solid #000; padding-bottom: 2px; margin: 28px 0 8px; }
h2.plan-title { font-size: 22px; border-bottom: 4px double #000; }
h3 { font-size: 16px; margin: 18px 0 6px; }
h4 { font-size: 14px; margin: 14px 0 4px; }
p.overview { margin: 4px 0 12px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border: 1px solid #777; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.better { font-weight: bold; }
td.worse { font-style: italic; text-decoration: underline; }
.muted { color: #333; }
.kpi-groups { display: flex; flex-wrap: wrap; gap: 0 20px; align-items: flex-start; }
.kpi-groups table { break-inside: avoid; page-break-inside: avoid; }
.legend { display: flex; flex-wrap: wrap; gap: 6px 18px; margin: 6px 0 12px; }
.legend span.item { display: inline-flex; align-items: center; gap: 6px; }
svg { max-width: 100%; height: auto; }
svg text { font-family: "Liberation Sans", "DejaVu Sans", Arial, Helvetica, sans-serif; fill: #000; }
svg.timeline { display: block; border: 1px solid #999; margin: 2px 0 10px; }
.phase-chip { display: inline-block; border: 1px solid #000; padding: 0 6px; border-radius: 3px; white-space: nowrap; }
td.nowrap { white-space: nowrap; }
.note { font-size: 12px; }
footer { margin-top: 30px; font-size: 12px; border-top: 1px solid #000; padding-top: 4px; }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { margin: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; color: #000 !important; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  tr, svg.timeline, .legend { break-inside: avoid; page-break-inside: avoid; }
  section.plan + section.plan { break-before: page; page-break-before: always; }
  thead { display: table-header-group; }
}
"#;

struct Page {
    out: String,
}

impl Page {
    fn new(title: &str) -> Page {
        let mut out = String::new();
        let t = escape(title);
        let _ = write!(
            out,
            "<!DOCTYPE html>\n<html lang=\"en-GB\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
             <title>{t}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{t}</h1>\n"
        );
        Page { out }
    }

    fn finish(mut self) -> String {
        let _ = write!(
            self.out,
            "<footer>Made by theatre-optimiser {} from the plan alone; patient ids are the booking system's pseudonyms. \
             Every chart is also given as a table.</footer>\n</body>\n</html>\n",
            env!("CARGO_PKG_VERSION")
        );
        self.out
    }

    fn overview(&mut self, plan: &pb::ProposeAllocationsResponse) {
        let status = pb::PlanStatus::try_from(plan.status)
            .map_or("?".into(), |s| strip_enum(s.as_str_name(), "PLAN_STATUS_"));
        let planner = pb::Planner::try_from(plan.planner)
            .map_or("?".into(), |s| strip_enum(s.as_str_name(), "PLANNER_"));
        let sites: BTreeSet<&str> = plan.sessions.iter().map(|s| s.site_id.as_str()).collect();
        let dates: BTreeSet<&str> = plan.sessions.iter().map(|s| s.date.as_str()).collect();
        let cases: usize = plan.sessions.iter().map(|s| s.cases.len()).sum();
        let span = match (dates.first(), dates.last()) {
            (Some(a), Some(b)) if a != b => format!(", {} to {}", long_date(a), long_date(b)),
            (Some(a), _) => format!(", {}", long_date(a)),
            _ => String::new(),
        };
        let _ = writeln!(
            self.out,
            "<p class=\"overview\">Status <b>{}</b> by the {} planner, profile <b>{}</b>. \
             {} case(s) booked on {} list(s) at {} site(s){}; {} patient(s) unallocated. \
             Utilisation target {}.</p>",
            escape(&status),
            escape(&planner.to_lowercase()),
            escape(if plan.profile.is_empty() {
                "default"
            } else {
                &plan.profile
            }),
            cases,
            plan.sessions.len(),
            sites.len(),
            escape(&span),
            plan.unallocated.len(),
            percent(utilisation_target(plan)),
        );
    }

    fn kpis(&mut self, plans: &[(&str, &pb::ProposeAllocationsResponse)]) {
        let rows = aligned_rows(plans);
        self.out
            .push_str("<h2 id=\"kpis\">Key performance indicators</h2>\n<div class=\"kpi-groups\">\n");
        for group in KPI_GROUPS {
            let rows: Vec<_> = rows
                .iter()
                .filter(|(label, _)| kpi_group(label) == group)
                .collect();
            self.kpi_table(group, plans, &rows);
        }
        self.out.push_str("</div>\n");
    }

    fn kpi_table(
        &mut self,
        group: &str,
        plans: &[(&str, &pb::ProposeAllocationsResponse)],
        rows: &[&(String, Vec<Option<KpiValue>>)],
    ) {
        let _ = write!(
            self.out,
            "<table class=\"kpis\">\n<thead><tr><th>{}</th>",
            escape(group)
        );
        for (i, (name, _)) in plans.iter().enumerate() {
            let _ = write!(self.out, "<th class=\"num\">{}</th>", escape(name));
            if i > 0 {
                let _ = write!(
                    self.out,
                    "<th class=\"num\">change vs {}</th>",
                    escape(plans[0].0)
                );
            }
        }
        self.out.push_str("</tr></thead>\n<tbody>\n");
        for (label, values) in rows.iter().map(|r| (&r.0, &r.1)) {
            let _ = write!(self.out, "<tr><th scope=\"row\">{}</th>", escape(label));
            for (i, v) in values.iter().enumerate() {
                let class = if matches!(v, Some(KpiValue::Num { .. })) {
                    "num"
                } else {
                    ""
                };
                let _ = write!(self.out, "<td class=\"{class}\">{}</td>", escape(&cell_text(v)));
                if i > 0 {
                    let (d, verdict) = delta_of(&values[0], v);
                    let text = if verdict.is_empty() {
                        d
                    } else {
                        format!("{d} ({verdict})")
                    };
                    let _ = write!(
                        self.out,
                        "<td class=\"num delta {verdict}\">{}</td>",
                        escape(&text)
                    );
                }
            }
            self.out.push_str("</tr>\n");
        }
        self.out.push_str("</tbody>\n</table>\n");
    }

    fn gained_lost(&mut self, plans: &[(&str, &pb::ProposeAllocationsResponse)]) {
        let Some(((base_name, base), others)) = plans.split_first() else {
            return;
        };
        let base_ids = booked_ids(base);
        let _ = writeln!(
            self.out,
            "<h2>Who gains or loses a date (against {})</h2>\n<table class=\"gained-lost\">\n\
             <thead><tr><th>plan</th><th class=\"num\">gained</th><th>patients gained</th>\
             <th class=\"num\">lost</th><th>patients lost</th></tr></thead>\n<tbody>",
            escape(base_name)
        );
        for (name, plan) in others {
            let here = booked_ids(plan);
            let gained: Vec<String> = here.difference(&base_ids).map(|s| escape(s)).collect();
            let lost: Vec<String> = base_ids.difference(&here).map(|s| escape(s)).collect();
            let _ = writeln!(
                self.out,
                "<tr><th scope=\"row\">{}</th><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                escape(name),
                gained.len(),
                gained.join(", "),
                lost.len(),
                lost.join(", ")
            );
        }
        self.out.push_str("</tbody>\n</table>\n");
    }

    /// Legend, timeline, lists, cases, unallocated, moves and conflicts of one plan.
    fn plan_body(&mut self, plan: &pb::ProposeAllocationsResponse, id: &str, sub: bool) {
        let palette = Palette::of(&[plan]);
        let target = utilisation_target(plan);
        let h = if sub { "h3" } else { "h2" };
        let hh = if sub { "h4" } else { "h3" };
        let _ = writeln!(self.out, "<{h} id=\"{id}-timeline\">Timeline</{h}>");
        self.legend(&palette, target);
        timeline(&mut self.out, plan, &palette, target, id, hh);
        let _ = writeln!(self.out, "<{h} id=\"{id}-lists\">Lists</{h}>");
        lists_table(&mut self.out, plan, target);
        let _ = writeln!(self.out, "<{h} id=\"{id}-cases\">Cases in list order</{h}>");
        cases_table(&mut self.out, plan);
        let _ = writeln!(
            self.out,
            "<{h} id=\"{id}-unallocated\">Unallocated patients ({})</{h}>",
            plan.unallocated.len()
        );
        unallocated(&mut self.out, plan, hh);
        if !plan.moves.is_empty() {
            let _ = writeln!(
                self.out,
                "<{h}>Existing bookings moved or dropped ({})</{h}>",
                plan.moves.len()
            );
            self.out.push_str(
                "<table class=\"moves\"><thead><tr><th>patient</th><th>from list</th><th>to list</th></tr></thead><tbody>\n",
            );
            for m in &plan.moves {
                let _ = writeln!(
                    self.out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&m.patient_id),
                    escape(&m.from_session_id),
                    if m.to_session_id.is_empty() {
                        "(dropped)".to_string()
                    } else {
                        escape(&m.to_session_id)
                    }
                );
            }
            self.out.push_str("</tbody></table>\n");
        }
        if !plan.conflicts.is_empty() {
            let _ = writeln!(
                self.out,
                "<{h}>Conflicts needing a person ({})</{h}>\n<p class=\"note\">Pinned bookings that break a rule: they stay on their list.</p>",
                plan.conflicts.len()
            );
            self.out.push_str(
                "<table class=\"conflicts\"><thead><tr><th>patient</th><th>list</th><th>rules broken</th></tr></thead><tbody>\n",
            );
            for c in &plan.conflicts {
                let _ = writeln!(
                    self.out,
                    "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&c.patient_id),
                    escape(&c.session_id),
                    escape(&c.reasons.join(", "))
                );
            }
            self.out.push_str("</tbody></table>\n");
        }
    }

    fn legend(&mut self, palette: &Palette, target: f64) {
        let swatch = |fill: &str, extra: &str| {
            format!(
                "<svg width=\"30\" height=\"16\" viewBox=\"0 0 30 16\" aria-hidden=\"true\">{extra}<rect x=\"1\" y=\"1\" width=\"28\" height=\"14\" fill=\"{fill}\" stroke=\"#000\"/></svg>"
            )
        };
        self.out.push_str("<div class=\"legend\" role=\"list\">\n");
        for (code, colour) in &palette.0 {
            let _ = writeln!(
                self.out,
                "<span class=\"item\" role=\"listitem\">{}{}</span>",
                swatch(colour, ""),
                escape(&specialty_text(code))
            );
        }
        let priority = |label: &str, width: f64, dash: &str, bold: bool| {
            format!(
                "<svg width=\"30\" height=\"16\" viewBox=\"0 0 30 16\" aria-hidden=\"true\"><rect x=\"1.5\" y=\"1.5\" width=\"27\" height=\"13\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"{width}\"{dash}/>\
                 <text x=\"15\" y=\"12\" font-size=\"10\" text-anchor=\"middle\"{}>{label}</text></svg>",
                if bold { " font-weight=\"bold\"" } else { "" }
            )
        };
        let _ = writeln!(
            self.out,
            "<span class=\"item\">{} P2: within 4 weeks (thick outline)</span>\
             <span class=\"item\">{} P3: within 3 months</span>\
             <span class=\"item\">{} P4: longer (dashed outline)</span>",
            priority("P2", 2.5, "", true),
            priority("P3", 1.0, "", false),
            priority("P4", 1.0, " stroke-dasharray=\"3 2\"", false)
        );
        let _ = writeln!(
            self.out,
            "<span class=\"item\"><svg width=\"30\" height=\"16\" viewBox=\"0 0 30 16\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"28\" height=\"14\" fill=\"#fff\" stroke=\"#000\"/><circle cx=\"24\" cy=\"5\" r=\"2.4\" fill=\"#000\"/></svg> already booked (dot)</span>"
        );
        let _ = writeln!(
            self.out,
            "<span class=\"item\"><svg width=\"30\" height=\"16\" viewBox=\"0 0 30 16\" aria-hidden=\"true\">{}<rect x=\"1\" y=\"1\" width=\"28\" height=\"14\" fill=\"url(#legend-adult)\" stroke=\"#000\"/></svg> reserved adult time (runs last)</span>",
            patterns("legend")
        );
        let _ = writeln!(
            self.out,
            "<span class=\"item\"><svg width=\"30\" height=\"16\" viewBox=\"0 0 30 16\" aria-hidden=\"true\"><rect x=\"1\" y=\"1\" width=\"28\" height=\"14\" fill=\"url(#legend-released)\" stroke=\"#000\"/></svg> released list</span>"
        );
        let _ = writeln!(
            self.out,
            "<span class=\"item\"><svg width=\"40\" height=\"16\" viewBox=\"0 0 40 16\" aria-hidden=\"true\"><rect x=\"1\" y=\"6\" width=\"38\" height=\"6\" fill=\"#eee\" stroke=\"#555\" stroke-width=\"0.5\"/><rect x=\"1\" y=\"6\" width=\"26\" height=\"6\" fill=\"#555\"/><line x1=\"33\" x2=\"33\" y1=\"2\" y2=\"16\" stroke=\"#b00020\" stroke-width=\"2\"/></svg> utilisation; line at the {} target</span>",
            percent(target)
        );
        for p in [
            pb::Phase::Locked,
            pb::Phase::Booking,
            pb::Phase::Confirming,
            pb::Phase::Provisional,
        ] {
            let info = phase_info(p as i32);
            let _ = writeln!(
                self.out,
                "<span class=\"item\"><span class=\"phase-chip\" style=\"background:{}\">{}</span> {}</span>",
                info.colour, info.label, info.meaning
            );
        }
        self.out.push_str("</div>\n");
    }
}

/// Hatch patterns (ids `{prefix}-adult` and `{prefix}-released`).
fn patterns(prefix: &str) -> String {
    format!(
        "<defs><pattern id=\"{prefix}-adult\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"6\" height=\"6\" fill=\"#fff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#444\" stroke-width=\"2.5\"/></pattern>\
         <pattern id=\"{prefix}-released\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">\
         <rect width=\"8\" height=\"8\" fill=\"#f2f2f2\"/><path d=\"M0,0 L8,8 M8,0 L0,8\" stroke=\"#999\" stroke-width=\"1\"/></pattern></defs>"
    )
}

// ---------------------------------------------------------------------------------------------
// Timeline
// ---------------------------------------------------------------------------------------------

const LABEL_W: f64 = 206.0;
const PX: f64 = 1.6;
const AXIS_H: f64 = 22.0;
const ROW_H: f64 = 58.0;

fn session_bounds(s: &pb::SessionPlan) -> Option<(i32, i32)> {
    let start = clock_minutes(&s.start_time)?;
    let mut end = start + s.minutes.max(0);
    for c in &s.cases {
        if let Some(e) = clock_minutes(&c.end_time) {
            end = end.max(e);
        }
    }
    Some((start, end))
}

fn monday_of(date: &str) -> Option<NaiveDate> {
    parse_date(date).map(|d| d.week(Weekday::Mon).first_day())
}

fn timeline(
    out: &mut String,
    plan: &pb::ProposeAllocationsResponse,
    palette: &Palette,
    target: f64,
    id: &str,
    heading: &str,
) {
    if plan.sessions.is_empty() {
        out.push_str("<p>No lists in this plan.</p>\n");
        return;
    }
    let bounds: Vec<(i32, i32)> = plan.sessions.iter().filter_map(session_bounds).collect();
    let t0 = bounds.iter().map(|b| b.0).min().map_or(8 * 60, |m| m / 60 * 60);
    let t1 = bounds
        .iter()
        .map(|b| b.1)
        .max()
        .map_or(18 * 60, |m| (m + 59) / 60 * 60)
        .max(t0 + 60);
    let x_of = |minutes: i32| LABEL_W + f64::from(minutes - t0) * PX;
    let width = x_of(t1) + 12.0;

    // Phase of each day and week, from the lists (the phase is a function of the date).
    let mut day_phase: BTreeMap<&str, i32> = BTreeMap::new();
    for s in &plan.sessions {
        day_phase.entry(s.date.as_str()).or_insert(s.phase);
    }

    // site (first-seen order) -> week -> (date, theatre) -> sessions in start order
    let mut sites: Vec<&str> = Vec::new();
    for s in &plan.sessions {
        if !sites.contains(&s.site_id.as_str()) {
            sites.push(&s.site_id);
        }
    }
    let mut svg_no = 0;
    for site in sites {
        type Rows<'a> = BTreeMap<(&'a str, &'a str), Vec<&'a pb::SessionPlan>>;
        let mut weeks: BTreeMap<Option<NaiveDate>, Rows> = BTreeMap::new();
        for s in plan.sessions.iter().filter(|s| s.site_id == site) {
            weeks
                .entry(monday_of(&s.date))
                .or_default()
                .entry((s.date.as_str(), s.theatre.as_str()))
                .or_default()
                .push(s);
        }
        let lists: usize = weeks.values().flat_map(|w| w.values()).map(Vec::len).sum();
        let _ = writeln!(
            out,
            "<section class=\"site\"><{heading}>Site {} ({} list(s))</{heading}>",
            escape(site),
            lists
        );
        for (monday, rows) in &weeks {
            let mut phases: Vec<i32> = Vec::new();
            for (date, _) in rows.keys() {
                let p = day_phase.get(date).copied().unwrap_or(0);
                if !phases.contains(&p) {
                    phases.push(p);
                }
            }
            let chips: Vec<String> = phases
                .iter()
                .map(|p| {
                    let info = phase_info(*p);
                    format!(
                        "<span class=\"phase-chip\" style=\"background:{}\">{}</span>",
                        info.colour, info.label
                    )
                })
                .collect();
            let week = monday.map_or("dates not given".to_string(), |m| {
                format!("Week commencing {}", m.format("%a %-d %b %Y"))
            });
            let _ = writeln!(
                out,
                "<p class=\"week\"><b>{}</b> &middot; 6-4-2 phase: {}</p>",
                escape(&week),
                chips.join(" then ")
            );
            svg_no += 1;
            let pid = format!("{id}-{svg_no}");
            let height = AXIS_H + ROW_H * rows.len() as f64 + 2.0;
            let _ = writeln!(
                out,
                "<svg class=\"timeline\" width=\"{width:.0}\" height=\"{height:.0}\" \
                 viewBox=\"0 0 {width:.0} {height:.0}\" role=\"img\" aria-label=\"Timeline: site {}, {}\">{}",
                escape(site),
                escape(&week),
                patterns(&pid)
            );
            // Hour axis and grid.
            let mut h = t0;
            while h <= t1 {
                let x = x_of(h);
                let _ = writeln!(
                    out,
                    "<line class=\"grid\" x1=\"{x:.1}\" x2=\"{x:.1}\" y1=\"{:.1}\" y2=\"{height:.1}\" stroke=\"#ccc\" stroke-width=\"1\"/>\
                     <text x=\"{x:.1}\" y=\"14\" font-size=\"11\" text-anchor=\"middle\">{:02}:00</text>",
                    AXIS_H - 4.0,
                    h / 60
                );
                h += 60;
            }
            for (row, ((date, theatre), sessions)) in rows.iter().enumerate() {
                let y = AXIS_H + ROW_H * row as f64;
                let phase = phase_info(day_phase.get(date).copied().unwrap_or(0));
                let _ = writeln!(
                    out,
                    "<g class=\"day phase-{}\" data-date=\"{}\" data-theatre=\"{}\">\
                     <line x1=\"0\" x2=\"{width:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#999\"/>\
                     <rect class=\"phase-band\" x=\"0\" y=\"{y:.1}\" width=\"6\" height=\"{ROW_H}\" fill=\"{}\"/>\
                     <text x=\"12\" y=\"{:.1}\" font-size=\"13\" font-weight=\"bold\">{}</text>\
                     <text x=\"12\" y=\"{:.1}\" font-size=\"12\">Theatre {}</text>\
                     <rect class=\"phase-chip\" x=\"108\" y=\"{:.1}\" width=\"92\" height=\"17\" rx=\"3\" fill=\"{}\" stroke=\"#000\" stroke-width=\"0.7\"/>\
                     <text x=\"154\" y=\"{:.1}\" font-size=\"10.5\" text-anchor=\"middle\">{}</text>",
                    phase.class,
                    escape(date),
                    escape(theatre),
                    phase.colour,
                    y + 18.0,
                    escape(&day_label(date)),
                    y + 36.0,
                    escape(theatre),
                    y + 6.0,
                    phase.colour,
                    y + 18.5,
                    phase.label
                );
                for s in sessions {
                    session_bars(out, s, y, palette, target, &pid, &x_of, t0);
                }
                out.push_str("</g>\n");
            }
            out.push_str("</svg>\n");
        }
        out.push_str("</section>\n");
    }
}

#[allow(clippy::too_many_arguments)]
fn session_bars(
    out: &mut String,
    s: &pb::SessionPlan,
    y: f64,
    palette: &Palette,
    target: f64,
    pid: &str,
    x_of: &dyn Fn(i32) -> f64,
    t0: i32,
) {
    let start = clock_minutes(&s.start_time).unwrap_or(t0);
    let sx = x_of(start);
    let sw = f64::from(s.minutes.max(1)) * PX;
    let end_text = if s.end_time.is_empty() {
        String::new()
    } else {
        format!("-{}", s.end_time)
    };
    let mut caption = format!(
        "{}{} {} {}",
        s.start_time,
        end_text,
        specialty_name(&s.specialty).unwrap_or(""),
        s.specialty
    );
    if let Some(surgeon) = &s.surgeon {
        caption.push_str(" \u{b7} ");
        caption.push_str(surgeon);
    }
    if s.released {
        caption.push_str(" \u{b7} released");
    } else {
        let _ = write!(
            caption,
            " \u{b7} {} \u{b7} {}/{} cases",
            percent(s.utilisation),
            s.cases.len(),
            s.cases_target
        );
    }
    let max_chars = ((sw / 6.0) as usize).max(4);
    if caption.chars().count() > max_chars {
        caption = caption.chars().take(max_chars - 1).collect::<String>() + "\u{2026}";
    }
    let _ = write!(
        out,
        "<g class=\"list\" data-session=\"{}\"><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\">{}</text>",
        escape(&s.session_id),
        sx + 1.0,
        y + 11.0,
        escape(&caption)
    );
    let (fill, dash) = if s.released {
        (format!("url(#{pid}-released)"), "")
    } else if s.release_candidate {
        ("#fff".to_string(), " stroke-dasharray=\"5 3\"")
    } else {
        ("#fff".to_string(), "")
    };
    let _ = write!(
        out,
        "<rect class=\"session\" x=\"{sx:.1}\" y=\"{:.1}\" width=\"{sw:.1}\" height=\"28\" fill=\"{fill}\" stroke=\"#000\" stroke-width=\"1\"{dash}/>",
        y + 14.0
    );
    let colour = palette.colour(&s.specialty);
    let mut clock = start;
    for c in &s.cases {
        let cs = clock_minutes(&c.start_time).unwrap_or(clock);
        let minutes = clock_minutes(&c.end_time)
            .map(|e| e - cs)
            .filter(|m| *m > 0)
            .unwrap_or(c.minutes.max(1));
        clock = cs + minutes;
        let cx = x_of(cs);
        let cw = f64::from(minutes) * PX;
        let label = priority_label(c.priority);
        let (stroke_w, dash) = match label {
            "P2" => ("2.5", ""),
            "P4" => ("1", " stroke-dasharray=\"3 2\""),
            _ => ("1", ""),
        };
        let _ = write!(
            out,
            "<rect class=\"case\" data-patient=\"{}\" data-priority=\"{label}\" data-position=\"{}\" x=\"{cx:.1}\" y=\"{:.1}\" \
             width=\"{cw:.1}\" height=\"24\" fill=\"{colour}\" stroke=\"#000\" stroke-width=\"{stroke_w}\"{dash}>\
             <title>{}. {}-{} {} {} {}{}</title></rect>",
            escape(&c.patient_id),
            c.position,
            y + 16.0,
            c.position,
            escape(&c.start_time),
            escape(&c.end_time),
            escape(&c.patient_id),
            label,
            escape(&c.procedure),
            if c.existing { " (already booked)" } else { "" }
        );
        if cw >= 15.0 {
            let _ = write!(
                out,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\"{}>{label}</text>",
                cx + cw / 2.0,
                y + 32.0,
                if label == "P2" {
                    " font-weight=\"bold\""
                } else {
                    ""
                }
            );
        }
        if c.existing {
            let _ = write!(
                out,
                "<circle class=\"existing\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.4\" fill=\"#000\"/>",
                cx + cw - 4.5,
                y + 20.5
            );
        }
    }
    if s.reserved_minutes > 0 {
        let rw = f64::from(s.reserved_minutes) * PX;
        let rx = sx + sw - rw;
        let _ = write!(
            out,
            "<rect class=\"reserved\" x=\"{rx:.1}\" y=\"{:.1}\" width=\"{rw:.1}\" height=\"24\" fill=\"url(#{pid}-adult)\" stroke=\"#000\" stroke-width=\"1\">\
             <title>reserved for adults: {} min</title></rect>",
            y + 16.0,
            s.reserved_minutes
        );
        let text = if rw >= 88.0 {
            format!("adults {} min", s.reserved_minutes)
        } else if rw >= 40.0 {
            "adults".to_string()
        } else {
            String::new()
        };
        if !text.is_empty() {
            let _ = write!(
                out,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"13\" fill=\"#fff\"/>\
                 <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" text-anchor=\"middle\">{text}</text>",
                rx + rw / 2.0 - text.len() as f64 * 2.9,
                y + 21.5,
                text.len() as f64 * 5.8,
                rx + rw / 2.0,
                y + 31.5
            );
        }
    }
    if s.released {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"bold\" text-anchor=\"middle\">RELEASED</text>",
            sx + sw / 2.0,
            y + 33.0
        );
    } else if s.cases.is_empty() && s.reserved_minutes == 0 {
        let _ = write!(
            out,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            sx + sw / 2.0,
            y + 32.0,
            if s.release_candidate {
                "no cases: release candidate"
            } else {
                "no cases"
            }
        );
    }
    if !s.released {
        // Utilisation bar under the list, with the target line.
        let u = s.utilisation.clamp(0.0, 1.0);
        let shade = if s.utilisation + 1e-9 >= target {
            "#333"
        } else {
            "#9a9a9a"
        };
        let tx = sx + target * sw;
        let _ = write!(
            out,
            "<rect class=\"util-track\" x=\"{sx:.1}\" y=\"{:.1}\" width=\"{sw:.1}\" height=\"7\" fill=\"#eee\" stroke=\"#555\" stroke-width=\"0.5\"/>\
             <rect class=\"util\" data-utilisation=\"{:.4}\" x=\"{sx:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"7\" fill=\"{shade}\"/>\
             <line class=\"target-line\" x1=\"{tx:.1}\" x2=\"{tx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#b00020\" stroke-width=\"2\"/>",
            y + 46.0,
            s.utilisation,
            y + 46.0,
            u * sw,
            y + 43.0,
            y + 56.0
        );
    }
    out.push_str("</g>\n");
}

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

fn util_bar(utilisation: f64, target: f64) -> String {
    let w = 150.0;
    let u = utilisation.clamp(0.0, 1.0);
    let shade = if utilisation + 1e-9 >= target {
        "#333"
    } else {
        "#9a9a9a"
    };
    format!(
        "<svg class=\"util-bar\" width=\"154\" height=\"16\" viewBox=\"0 0 154 16\" role=\"img\" aria-label=\"{} of the list used; target {}\">\
         <rect x=\"2\" y=\"4\" width=\"{w}\" height=\"8\" fill=\"#eee\" stroke=\"#555\" stroke-width=\"0.5\"/>\
         <rect x=\"2\" y=\"4\" width=\"{:.1}\" height=\"8\" fill=\"{shade}\"/>\
         <line x1=\"{:.1}\" x2=\"{:.1}\" y1=\"0\" y2=\"16\" stroke=\"#b00020\" stroke-width=\"2\"/></svg>",
        percent(utilisation),
        percent(target),
        u * w,
        2.0 + target * w,
        2.0 + target * w
    )
}

fn sorted_sessions(plan: &pb::ProposeAllocationsResponse) -> Vec<&pb::SessionPlan> {
    let mut sessions: Vec<&pb::SessionPlan> = plan.sessions.iter().collect();
    sessions.sort_by(|a, b| {
        (
            a.date.as_str(),
            a.start_time.as_str(),
            a.site_id.as_str(),
            a.theatre.as_str(),
        )
            .cmp(&(
                b.date.as_str(),
                b.start_time.as_str(),
                b.site_id.as_str(),
                b.theatre.as_str(),
            ))
    });
    sessions
}

fn lists_table(out: &mut String, plan: &pb::ProposeAllocationsResponse, target: f64) {
    out.push_str(
        "<table class=\"lists\">\n<thead><tr><th>date</th><th>site</th><th>theatre</th><th>time</th><th>specialty</th>\
         <th>surgeon</th><th>6-4-2 phase</th><th class=\"num\">cases / target</th><th class=\"num\">booked min</th>\
         <th class=\"num\">adult min</th><th class=\"num\">list min</th><th>utilisation</th><th class=\"num\">%</th><th>note</th></tr></thead>\n<tbody>\n",
    );
    for s in sorted_sessions(plan) {
        let note = if s.released {
            "released".to_string()
        } else if s.release_candidate {
            "no cases: release candidate".to_string()
        } else if s.cases_target > 0 && s.cases.len() as i32 >= s.cases_target {
            "on target".to_string()
        } else if s.cases_target > 0 {
            format!("{} short of target", s.cases_target - s.cases.len() as i32)
        } else {
            String::new()
        };
        let phase = phase_info(s.phase);
        let _ = writeln!(
            out,
            "<tr data-session=\"{}\"><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td><td class=\"nowrap\">{}-{}</td><td>{}</td><td>{}</td>\
             <td><span class=\"phase-chip\" style=\"background:{}\">{}</span></td><td class=\"num\">{} / {}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&s.session_id),
            escape(&long_date(&s.date)),
            escape(&s.site_id),
            escape(&s.theatre),
            escape(&s.start_time),
            escape(&s.end_time),
            escape(&specialty_text(&s.specialty)),
            escape(s.surgeon.as_deref().unwrap_or("")),
            phase.colour,
            phase.label,
            s.cases.len(),
            s.cases_target,
            s.booked_minutes,
            s.reserved_minutes,
            s.minutes,
            if s.released {
                String::new()
            } else {
                util_bar(s.utilisation, target)
            },
            if s.released {
                "-".to_string()
            } else {
                percent(s.utilisation)
            },
            escape(&note)
        );
    }
    out.push_str("</tbody>\n</table>\n");
}

fn cases_table(out: &mut String, plan: &pb::ProposeAllocationsResponse) {
    let total: usize = plan.sessions.iter().map(|s| s.cases.len()).sum();
    if total == 0 {
        out.push_str("<p>No cases booked.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"cases\">\n<thead><tr><th>date</th><th>site</th><th>theatre</th><th class=\"num\">#</th><th>time</th>\
         <th>patient</th><th>priority</th><th>procedure</th><th class=\"num\">min</th><th>already booked</th></tr></thead>\n<tbody>\n",
    );
    for s in sorted_sessions(plan) {
        for c in &s.cases {
            let _ = writeln!(
                out,
                "<tr><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{}-{}</td><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td>\
                 <td class=\"num\">{}</td><td>{}</td></tr>",
                escape(&long_date(&s.date)),
                escape(&s.site_id),
                escape(&s.theatre),
                c.position,
                escape(&c.start_time),
                escape(&c.end_time),
                escape(&c.patient_id),
                priority_label(c.priority),
                escape(&c.procedure),
                c.minutes,
                if c.existing { "yes" } else { "" }
            );
        }
    }
    out.push_str("</tbody>\n</table>\n");
}

fn unallocated(out: &mut String, plan: &pb::ProposeAllocationsResponse, heading: &str) {
    if plan.unallocated.is_empty() {
        out.push_str("<p>Every patient in the pool is booked.</p>\n");
        return;
    }
    let mut groups: BTreeMap<&str, Vec<&pb::Unallocated>> = BTreeMap::new();
    for u in &plan.unallocated {
        groups
            .entry(u.reasons.first().map_or("unknown", String::as_str))
            .or_default()
            .push(u);
    }
    out.push_str(
        "<p class=\"note\">Grouped by the most decisive reason; the other reasons follow it.</p>\n\
         <table class=\"reasons\">\n<thead><tr><th>reason</th><th>meaning</th><th class=\"num\">patients</th>\
         <th class=\"num\">P2</th><th class=\"num\">P3</th><th class=\"num\">P4</th></tr></thead>\n<tbody>\n",
    );
    for (reason, list) in &groups {
        let count = |p: &str| list.iter().filter(|u| priority_label(u.priority) == p).count();
        let _ = writeln!(
            out,
            "<tr data-reason=\"{}\"><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            escape(reason),
            escape(reason),
            reason_meaning(reason),
            list.len(),
            count("P2"),
            count("P3"),
            count("P4")
        );
    }
    out.push_str("</tbody>\n</table>\n");
    for (reason, list) in &groups {
        let _ = writeln!(
            out,
            "<{heading}><code>{}</code> ({})</{heading}>\n<table class=\"unallocated\">\n<thead><tr><th>patient</th><th>priority</th>\
             <th>specialty</th><th>all reasons</th><th>detail</th></tr></thead>\n<tbody>",
            escape(reason),
            list.len()
        );
        let mut list = list.clone();
        list.sort_by(|a, b| (a.priority, &a.patient_id).cmp(&(b.priority, &b.patient_id)));
        for u in list {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&u.patient_id),
                priority_label(u.priority),
                escape(&specialty_text(&u.specialty)),
                escape(&u.reasons.join(", ")),
                escape(&u.detail)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(id: &str, position: i32, start: &str, end: &str, priority: pb::Priority) -> pb::Case {
        pb::Case {
            patient_id: id.into(),
            position,
            start_time: start.into(),
            end_time: end.into(),
            minutes: clock_minutes(end).unwrap() - clock_minutes(start).unwrap(),
            existing: position == 1,
            priority: priority as i32,
            procedure: "F34.1".into(),
        }
    }

    fn plan() -> pb::ProposeAllocationsResponse {
        pb::ProposeAllocationsResponse {
            status: pb::PlanStatus::Optimal as i32,
            planner: pb::Planner::Optimiser as i32,
            profile: "default".into(),
            sessions: vec![
                pb::SessionPlan {
                    session_id: "S1".into(),
                    site_id: "RCH".into(),
                    date: "2026-12-14".into(),
                    phase: pb::Phase::Booking as i32,
                    cases: vec![
                        case("<script>alert(1)</script>", 1, "08:30", "09:20", pb::Priority::P2),
                        case("B&\"'", 2, "09:30", "10:10", pb::Priority::P4),
                    ],
                    booked_minutes: 90,
                    reserved_minutes: 60,
                    utilisation: 0.625,
                    cases_target: 4,
                    theatre: "T1".into(),
                    specialty: "120".into(),
                    start_time: "08:30".into(),
                    end_time: "12:30".into(),
                    minutes: 240,
                    surgeon: Some("Ms <O'Neill>".into()),
                    ..Default::default()
                },
                pb::SessionPlan {
                    session_id: "S2".into(),
                    site_id: "DGH".into(),
                    date: "2026-12-22".into(),
                    phase: pb::Phase::Confirming as i32,
                    released: true,
                    theatre: "T2".into(),
                    specialty: "171".into(),
                    start_time: "13:30".into(),
                    end_time: "17:30".into(),
                    minutes: 240,
                    ..Default::default()
                },
            ],
            unallocated: vec![pb::Unallocated {
                patient_id: "C<1>".into(),
                priority: pb::Priority::P3 as i32,
                specialty: "120".into(),
                reasons: vec!["capacity".into()],
                detail: "no room".into(),
            }],
            kpis: Some(pb::Kpis {
                booked: 2,
                unallocated: 1,
                utilisation: 0.625,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn escapes_every_special_character() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>\u{7}"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;\u{FFFD}"
        );
    }

    #[test]
    fn report_escapes_ids_and_draws_one_rect_per_case() {
        let html = html(&plan(), None, "Week <1> & \"2\"");
        assert!(!html.contains("<script>"), "unescaped patient id");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("Week &lt;1&gt; &amp; &quot;2&quot;"));
        assert!(html.contains("Ms &lt;O&#39;Neill&gt;"));
        assert_eq!(html.matches("<rect class=\"case\"").count(), 2);
        assert_eq!(html.matches("<rect class=\"reserved\"").count(), 1);
        assert!(html.contains("RELEASED"));
        assert!(html.contains("booking (T-4)"));
        assert!(html.contains("data-reason=\"capacity\""));
        assert!(html.contains("@media print"));
        // Nothing to fetch: no external references at all.
        for bad in ["src=", "href=\"http", "@import", "url(http", "<link", "<script"] {
            assert!(!html.contains(bad), "report contains {bad}");
        }
    }

    #[test]
    fn the_target_line_sits_at_the_profile_target() {
        let p = plan();
        assert!((utilisation_target(&p) - 0.85).abs() < 1e-9);
        let unknown = pb::ProposeAllocationsResponse {
            profile: "no-such-profile".into(),
            ..p
        };
        assert!((utilisation_target(&unknown) - DEFAULT_UTILISATION_TARGET).abs() < 1e-9);
        let bar = util_bar(0.5, 0.85);
        assert!(bar.contains("x1=\"129.5\""), "{bar}");
    }

    #[test]
    fn comparison_shows_deltas_with_a_verdict() {
        let base = plan();
        let mut better = plan();
        better.kpis.as_mut().unwrap().booked = 5;
        better.kpis.as_mut().unwrap().unallocated = 0;
        let html = html(&better, Some(("base", &base)), "t");
        assert!(html.contains("+3 (better)"), "booked delta");
        assert!(html.contains("-1 (better)"), "unallocated delta");
        let text = kpi_text(&[("base", &base), ("more", &better)]);
        let line = text.lines().find(|l| l.starts_with("Patients booked")).unwrap();
        assert!(
            line.contains('2') && line.contains('5') && line.contains("+3 better"),
            "{line}"
        );
    }

    #[test]
    fn deltas_round_and_judge() {
        assert_eq!(
            format_delta(0.70, 0.75, Fmt::Percent(1), Better::Higher),
            ("+5.0 pts".into(), "better")
        );
        assert_eq!(
            format_delta(3.0, 3.0, Fmt::Count, Better::Lower),
            ("+0".into(), "")
        );
        assert_eq!(
            format_delta(3.0, 5.0, Fmt::Count, Better::Lower),
            ("+2".into(), "worse")
        );
        assert_eq!(
            format_delta(1.0, 1.0000001, Fmt::Decimal(3), Better::Higher),
            ("+0.000".into(), "")
        );
    }
}
