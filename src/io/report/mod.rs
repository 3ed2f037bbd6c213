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

mod kpis;
mod names;
mod page;
mod tables;
mod timeline;

use std::fmt::Write as _;

use crate::api::proto as pb;

pub use kpis::kpi_text;
pub use names::{priority_label, specialty_name};
use page::Page;

/// The national utilisation aim (85%), for a plan that does not carry its policy.
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

/// The utilisation target the plan was made against: its effective policy's
/// `lists.utilisation_target`, as the response carries it (overrides included); 85% for a plan
/// that carries none.
pub fn utilisation_target(plan: &pb::ProposeAllocationsResponse) -> f64 {
    plan.policy
        .as_ref()
        .map(|p| p.utilisation_target)
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

#[cfg(test)]
mod tests;
