//! The KPI rows of a plan, aligned across plans with deltas and verdicts; the plain-text table
//! for terminals.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::api::proto as pb;

use super::names::priority_label;

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Fmt {
    Count,
    /// A fraction shown as a percentage with this many decimals.
    Percent(usize),
    Decimal(usize),
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Better {
    Higher,
    Lower,
    Neither,
}

#[derive(Clone, Debug)]
pub(super) enum KpiValue {
    Text(String),
    Num { value: f64, fmt: Fmt, better: Better },
}

#[derive(Clone, Debug)]
pub(super) struct KpiRow {
    pub(super) label: String,
    pub(super) value: KpiValue,
}

pub(super) fn strip_enum(name: &str, prefix: &str) -> String {
    name.strip_prefix(prefix).unwrap_or(name).to_string()
}

pub(super) fn kpi_rows(plan: &pb::ProposeAllocationsResponse) -> Vec<KpiRow> {
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
    if let Some(k) = &plan.kpis {
        let under: Vec<&str> = k
            .day_cases_by_site
            .iter()
            .filter(|d| d.rate < k.day_case_target)
            .map(|d| d.site_id.as_str())
            .collect();
        let verdict = if k.day_cases_by_site.is_empty() {
            "no cases".to_string()
        } else if under.is_empty() {
            "none".to_string()
        } else {
            under.join(", ")
        };
        text("Sites under the day-case target", verdict);
    }
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
        "Booked past the procedure's age window".into(),
        k.age_window_booked_past.into(),
        Fmt::Count,
        Better::Lower,
    );
    num(
        "Left past the procedure's age window".into(),
        k.age_window_left_past.into(),
        Fmt::Count,
        Better::Lower,
    );
    let share = |part: i32, whole: i32| {
        if whole > 0 {
            f64::from(part) / f64::from(whole)
        } else {
            0.0
        }
    };
    num(
        "Cases needing no specialist centre booked at one".into(),
        share(k.non_complex_at_hubs, k.non_complex_booked),
        Fmt::Percent(1),
        Better::Lower,
    );
    num(
        "Specialist-centre minutes used by children who need one".into(),
        share(k.hub_minutes_complex, k.hub_minutes),
        Fmt::Percent(1),
        Better::Higher,
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
    let line = |rate: f64| format!("{:.0}%", rate * 100.0);
    for d in &k.day_cases_by_site {
        num(
            format!(
                "Day-case rate at {} (lines {} and {})",
                d.site_id,
                line(k.day_case_target),
                line(k.day_case_aim)
            ),
            d.rate,
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

pub(super) fn format_value(value: f64, fmt: Fmt) -> String {
    match fmt {
        Fmt::Count => format!("{}", value.round() as i64),
        Fmt::Percent(d) => format!("{:.*}%", d, value * 100.0),
        Fmt::Decimal(d) => format!("{value:.d$}"),
    }
}

/// `(text, verdict)` of `new - old`; the verdict is `better`, `worse` or empty.
pub(super) fn format_delta(old: f64, new: f64, fmt: Fmt, better: Better) -> (String, &'static str) {
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
pub(super) fn aligned_rows(
    plans: &[(&str, &pb::ProposeAllocationsResponse)],
) -> Vec<(String, Vec<Option<KpiValue>>)> {
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
pub(super) const KPI_GROUPS: [&str; 3] = ["Patients", "Lists", "Plan and solver"];

pub(super) fn kpi_group(label: &str) -> &'static str {
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

pub(super) fn cell_text(v: &Option<KpiValue>) -> String {
    match v {
        None => "-".into(),
        Some(KpiValue::Text(t)) => t.clone(),
        Some(KpiValue::Num { value, fmt, .. }) => format_value(*value, *fmt),
    }
}

pub(super) fn delta_of(base: &Option<KpiValue>, other: &Option<KpiValue>) -> (String, &'static str) {
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

pub(super) fn booked_ids(plan: &pb::ProposeAllocationsResponse) -> BTreeSet<&str> {
    plan.sessions
        .iter()
        .flat_map(|s| s.cases.iter().map(|c| c.patient_id.as_str()))
        .collect()
}
