//! A plain-text summary of a plan for people at a terminal (the `demo` and `solve` commands).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::api::proto as pb;

fn priority_name(p: i32) -> &'static str {
    match pb::Priority::try_from(p) {
        Ok(pb::Priority::P2) => "P2",
        Ok(pb::Priority::P3) => "P3",
        Ok(pb::Priority::P4) => "P4",
        _ => "?",
    }
}

fn phase_name(p: i32) -> &'static str {
    match pb::Phase::try_from(p) {
        Ok(pb::Phase::Locked) => "locked",
        Ok(pb::Phase::Booking) => "booking",
        Ok(pb::Phase::Confirming) => "confirming",
        Ok(pb::Phase::Provisional) => "provisional",
        Ok(pb::Phase::Past) => "past",
        _ => "?",
    }
}

/// The lists, the unallocated patients by reason, KPIs and solver statistics.
pub fn text(plan: &pb::ProposeAllocationsResponse) -> String {
    let mut out = String::new();
    let status = pb::PlanStatus::try_from(plan.status).map_or("?", |s| s.as_str_name());
    let planner = pb::Planner::try_from(plan.planner).map_or("?", |s| s.as_str_name());
    let _ = writeln!(out, "Plan: {status} by {planner} (profile {})", plan.profile);
    for s in &plan.sessions {
        let flag = if s.released {
            " RELEASED"
        } else if s.release_candidate {
            " (no cases: release candidate)"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "\n{} {} {} {}-{} specialty {} [{}] {} of {} min booked{}, utilisation {:.0}%, cases {}/{}{}",
            s.date,
            s.site_id,
            s.theatre,
            s.start_time,
            s.end_time,
            s.specialty,
            phase_name(s.phase),
            s.booked_minutes,
            s.minutes,
            if s.reserved_minutes > 0 {
                format!(" + {} reserved", s.reserved_minutes)
            } else {
                String::new()
            },
            s.utilisation * 100.0,
            s.cases.len(),
            s.cases_target,
            flag
        );
        for c in &s.cases {
            let _ = writeln!(
                out,
                "  {}. {}-{}  {:<10} {}  {}{}{}",
                c.position,
                c.start_time,
                c.end_time,
                c.patient_id,
                priority_name(c.priority),
                c.procedure,
                if c.existing { "  (already booked)" } else { "" },
                match c.hub_reason.as_str() {
                    "" => String::new(),
                    code => format!("  (needs no specialist centre: {code})"),
                }
            );
        }
    }
    let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
    for u in &plan.unallocated {
        *by_reason
            .entry(u.reasons.first().map_or("?", String::as_str))
            .or_default() += 1;
    }
    let _ = writeln!(out, "\nUnallocated: {}", plan.unallocated.len());
    for (reason, n) in by_reason {
        let _ = writeln!(out, "  {reason}: {n}");
    }
    if let Some(k) = &plan.kpis {
        let _ = writeln!(out, "\nKPIs: booked {}, unallocated {}", k.booked, k.unallocated);
        for c in &k.by_priority {
            let _ = writeln!(
                out,
                "  {} booked {}, left {}",
                priority_name(c.priority),
                c.booked,
                c.unallocated
            );
        }
        let _ = writeln!(
            out,
            "  due-date breaches {} (age window: booked past {}, left past {}), utilisation {:.1}%, lists on target {}/{}, >18 weeks booked {} left {}, >52 weeks booked {} left {}, moves {}, release candidates {}",
            k.due_date_breaches,
            k.age_window_booked_past,
            k.age_window_left_past,
            k.utilisation * 100.0,
            k.lists_on_target,
            k.lists_with_target,
            k.over_18_weeks_booked,
            k.over_18_weeks_left,
            k.over_52_weeks_booked,
            k.over_52_weeks_left,
            k.moves,
            k.release_candidates
        );
        let _ = writeln!(
            out,
            "  right place: {} of {} cases that need no specialist centre booked at one; {} of {} hub minutes used by children who need one",
            k.non_complex_at_hubs, k.non_complex_booked, k.hub_minutes_complex, k.hub_minutes
        );
        for d in &k.day_cases_by_site {
            let (target, aim) = (k.day_case_target * 100.0, k.day_case_aim * 100.0);
            let line = if d.rate >= k.day_case_aim {
                format!("at or above the {aim:.0}% aim")
            } else if d.rate >= k.day_case_target {
                format!("at or above the {target:.0}% target, below the {aim:.0}% aim")
            } else {
                format!("below the {target:.0}% target")
            };
            let _ = writeln!(
                out,
                "  day cases at {}: {} of {} ({:.1}%, {line}); at most {} overnight on one night",
                d.site_id,
                d.day_cases,
                d.cases,
                d.rate * 100.0,
                d.peak_overnight
            );
        }
    }
    if let Some(s) = &plan.solver {
        let _ = writeln!(
            out,
            "Solver: objective {:.3}, bound {:.3}, decision gap {:.3}% (relative gap {:.3}%), baseline {:.3}, {:.3} s, {} component(s), {} eligible pairs, stop: {}",
            s.objective,
            s.best_bound,
            s.decision_gap * 100.0,
            s.relative_gap * 100.0,
            s.baseline_objective,
            s.solve_seconds,
            s.components,
            s.eligible_pairs,
            s.stop_reason
        );
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(out, "Conflicts needing a person: {}", plan.conflicts.len());
    }
    out
}
