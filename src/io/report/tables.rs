//! The tables: lists (with utilisation bars), cases in list order, unallocated patients by reason.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::api::proto as pb;

use super::escape;
use super::names::{
    long_date, percent, phase_info, priority_label, reason_meaning, specialty_text, PhaseDays,
};

// ---------------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------------

pub(super) fn util_bar(utilisation: f64, target: f64) -> String {
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

pub(super) fn sorted_sessions(plan: &pb::ProposeAllocationsResponse) -> Vec<&pb::SessionPlan> {
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

pub(super) fn lists_table(out: &mut String, plan: &pb::ProposeAllocationsResponse, target: f64) {
    let days = PhaseDays::of(plan);
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
        let phase = phase_info(s.phase, days);
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

pub(super) fn cases_table(out: &mut String, plan: &pb::ProposeAllocationsResponse) {
    let total: usize = plan.sessions.iter().map(|s| s.cases.len()).sum();
    if total == 0 {
        out.push_str("<p>No cases booked.</p>\n");
        return;
    }
    out.push_str(
        "<table class=\"cases\">\n<thead><tr><th>date</th><th>site</th><th>theatre</th><th class=\"num\">#</th><th>time</th>\
         <th>patient</th><th>priority</th><th>procedure</th><th class=\"num\">min</th><th>already booked</th><th>at a specialist centre</th></tr></thead>\n<tbody>\n",
    );
    for s in sorted_sessions(plan) {
        for c in &s.cases {
            let _ = writeln!(
                out,
                "<tr><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"nowrap\">{}-{}</td><td class=\"nowrap\">{}</td><td>{}</td><td>{}</td>\
                 <td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
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
                if c.existing { "yes" } else { "" },
                hub_note(&c.hub_reason)
            );
        }
    }
    out.push_str("</tbody>\n</table>\n");
}

/// Why a case that needs no specialist centre is at one, in words (empty for every other case).
fn hub_note(code: &str) -> &'static str {
    match code {
        "no_local_capacity" => "needs none; no local list had room",
        "hub_better_value" => "needs none; sooner here than on a local list with room",
        _ => "",
    }
}

pub(super) fn unallocated(out: &mut String, plan: &pb::ProposeAllocationsResponse, heading: &str) {
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
