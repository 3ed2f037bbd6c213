//! The timeline (Gantt): per site and week, a row per theatre and day, each case a bar.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{NaiveDate, Weekday};

use crate::api::proto as pb;

use super::escape;
use super::names::{
    clock_minutes, day_label, parse_date, percent, phase_info, priority_label, specialty_name, Palette,
    PhaseDays,
};
use super::page::patterns;

pub(super) const LABEL_W: f64 = 206.0;
pub(super) const PX: f64 = 1.6;
pub(super) const AXIS_H: f64 = 22.0;
pub(super) const ROW_H: f64 = 58.0;

pub(super) fn session_bounds(s: &pb::SessionPlan) -> Option<(i32, i32)> {
    let start = clock_minutes(&s.start_time)?;
    let mut end = start + s.minutes.max(0);
    for c in &s.cases {
        if let Some(e) = clock_minutes(&c.end_time) {
            end = end.max(e);
        }
    }
    Some((start, end))
}

pub(super) fn monday_of(date: &str) -> Option<NaiveDate> {
    parse_date(date).map(|d| d.week(Weekday::Mon).first_day())
}

pub(super) fn timeline(
    out: &mut String,
    plan: &pb::ProposeAllocationsResponse,
    palette: &Palette,
    target: f64,
    id: &str,
    heading: &str,
) {
    let days = PhaseDays::of(plan);
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
                    let info = phase_info(*p, days);
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
                let phase = phase_info(day_phase.get(date).copied().unwrap_or(0), days);
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
pub(super) fn session_bars(
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
