//! The page: its style sheet, head and foot, overview, KPI tables, who gains or loses a date, the
//! legend, and each plan's body (timeline, tables, moves, conflicts).

use std::collections::BTreeSet;
use std::fmt::Write as _;

use crate::api::proto as pb;

use super::escape;
use super::kpis::{
    aligned_rows, booked_ids, cell_text, delta_of, kpi_group, strip_enum, KpiValue, KPI_GROUPS,
};
use super::names::{long_date, percent, phase_info, specialty_text, Palette, PhaseDays};
use super::tables::{cases_table, lists_table, unallocated};
use super::timeline::timeline;
use super::utilisation_target;

// ---------------------------------------------------------------------------------------------
// The page
// ---------------------------------------------------------------------------------------------

pub(super) const CSS: &str = r#"
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

pub(super) struct Page {
    pub(super) out: String,
}

impl Page {
    pub(super) fn new(title: &str) -> Page {
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

    pub(super) fn finish(mut self) -> String {
        let _ = write!(
            self.out,
            "<footer>Made by theatre-optimiser {} from the plan alone; patient ids are the booking system's pseudonyms. \
             Every chart is also given as a table.</footer>\n</body>\n</html>\n",
            env!("CARGO_PKG_VERSION")
        );
        self.out
    }

    pub(super) fn overview(&mut self, plan: &pb::ProposeAllocationsResponse) {
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

    pub(super) fn kpis(&mut self, plans: &[(&str, &pb::ProposeAllocationsResponse)]) {
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

    pub(super) fn kpi_table(
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

    pub(super) fn gained_lost(&mut self, plans: &[(&str, &pb::ProposeAllocationsResponse)]) {
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
    pub(super) fn plan_body(&mut self, plan: &pb::ProposeAllocationsResponse, id: &str, sub: bool) {
        let palette = Palette::of(&[plan]);
        let target = utilisation_target(plan);
        let h = if sub { "h3" } else { "h2" };
        let hh = if sub { "h4" } else { "h3" };
        let _ = writeln!(self.out, "<{h} id=\"{id}-timeline\">Timeline</{h}>");
        self.legend(&palette, target, PhaseDays::of(plan));
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

    pub(super) fn legend(&mut self, palette: &Palette, target: f64, days: PhaseDays) {
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
            let info = phase_info(p as i32, days);
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
pub(super) fn patterns(prefix: &str) -> String {
    format!(
        "<defs><pattern id=\"{prefix}-adult\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
         <rect width=\"6\" height=\"6\" fill=\"#fff\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#444\" stroke-width=\"2.5\"/></pattern>\
         <pattern id=\"{prefix}-released\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">\
         <rect width=\"8\" height=\"8\" fill=\"#f2f2f2\"/><path d=\"M0,0 L8,8 M8,0 L0,8\" stroke=\"#999\" stroke-width=\"1\"/></pattern></defs>"
    )
}
