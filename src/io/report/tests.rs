use super::kpis::{format_delta, Better, Fmt};
use super::names::clock_minutes;
use super::tables::util_bar;
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
        hub_reason: String::new(),
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

#[test]
fn the_target_and_the_phases_come_from_the_plan_s_policy() {
    let mut p = plan();
    p.policy = Some(pb::PlanPolicy {
        utilisation_target: 0.7,
        locked_days: 7,
        booking_days: 21,
        confirming_days: 45,
    });
    assert!((utilisation_target(&p) - 0.7).abs() < 1e-9);
    let html = html(&p, None, "t");
    assert!(html.contains("Utilisation target 70%"), "overview target");
    assert!(html.contains("within 1 week: existing bookings stay"));
    assert!(html.contains("booking (T-3)"));
    assert!(html.contains("confirming (T-45d)"));
    assert!(html.contains("21 to 45 days ahead: sessions confirmed or released"));
    // Without a policy in the plan: the national aim and the 6-4-2 weeks.
    let html = super::html(&plan(), None, "t");
    assert!(html.contains("Utilisation target 85%"));
    assert!(html.contains("within 2 weeks: existing bookings stay"));
    assert!(html.contains("4 to 6 weeks ahead"));
}

#[test]
fn the_right_place_shares_and_reasons_are_shown() {
    let mut p = plan();
    let k = p.kpis.as_mut().unwrap();
    (k.non_complex_booked, k.non_complex_at_hubs) = (8, 2);
    (k.hub_minutes, k.hub_minutes_complex) = (400, 300);
    p.sessions[0].cases[0].hub_reason = "no_local_capacity".into();
    let html = html(&p, None, "Week");
    let row = |label: &str| {
        let at = html.find(label).unwrap_or_else(|| panic!("no row {label}"));
        html[at..].split("</tr>").next().unwrap().to_string()
    };
    assert!(row("Cases needing no specialist centre booked at one").contains(">25.0%<"));
    assert!(row("Specialist-centre minutes used by children who need one").contains(">75.0%<"));
    assert_eq!(html.matches("no local list had room").count(), 1);
}

#[test]
fn the_age_window_counts_are_shown() {
    let mut p = plan();
    let k = p.kpis.as_mut().unwrap();
    (k.age_window_booked_past, k.age_window_left_past) = (3, 4);
    let html = html(&p, None, "Week");
    let row = |label: &str| {
        let at = html.find(label).unwrap_or_else(|| panic!("no row {label}"));
        html[at..].split("</tr>").next().unwrap().to_string()
    };
    assert!(row("Booked past the procedure&#39;s age window").contains(">3<"));
    assert!(row("Left past the procedure&#39;s age window").contains(">4<"));
}
