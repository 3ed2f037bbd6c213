//! The desk's answers against the objective (`objective::evaluate` on whole plans), the plan
//! checker, brute force and the optimiser itself.

use super::*;
use crate::check;
use crate::domain::plan::Plan;
use crate::domain::BookingState;
use crate::planning::objective::evaluate;
use crate::planning::solve::{self, SolveOptions};
use crate::synth::{generate, Scale};

fn theatre(seed: u64) -> PlanningRequest {
    PlanningRequest::try_from(generate(Scale::Theatre, seed)).unwrap()
}

/// The held plan's lists with `extra` joining `s` (ordered by the list-order rules).
fn lists_with(
    req: &PlanningRequest,
    held: &Held,
    s: SessionIx,
    extra: &[PatientIx],
) -> Vec<(SessionIx, Vec<PatientIx>)> {
    (0..req.sessions.len())
        .map(|t| {
            let mut on = held.on_list[t].clone();
            if t == s {
                on.extend(extra);
            }
            (t, rules::list_order(req, t, &on))
        })
        .collect()
}

fn plan_with(req: &PlanningRequest, held: &Held, s: SessionIx, extra: &[PatientIx]) -> Plan {
    hand_plan(
        req,
        &rules::eligible_sessions(req),
        &lists_with(req, held, s, extra),
    )
}

/// Lists with room and candidates, most free minutes first.
fn open_lists(req: &PlanningRequest) -> Vec<SessionIx> {
    let held = Held::of(req);
    let mut open: Vec<SessionIx> = (0..req.sessions.len())
        .filter(|&s| {
            recommend_backfill(
                req,
                BackfillAsk {
                    session: s,
                    window: None,
                    limit: 1,
                },
            )
            .eligible
                >= 2
        })
        .collect();
    open.sort_by_key(|&s| std::cmp::Reverse(held.free(req, s)));
    open
}

#[test]
fn a_joining_gain_is_the_change_in_the_whole_plans_objective() {
    let req = theatre(7);
    let held = Held::of(&req);
    let before = evaluate(&req, &held.list_of);
    let pool: Vec<PatientIx> = (0..req.patients.len())
        .filter(|&p| held.list_of[p].is_none())
        .collect();
    let mut compared = 0;
    for s in 0..req.sessions.len() {
        for set in [&pool[..1], &pool[1..3], &pool[3..6]] {
            let mut after = held.list_of.clone();
            for &p in set {
                after[p] = Some(s);
            }
            let expected = evaluate(&req, &after) - before;
            let got = held.joining_gain(&req, s, set);
            assert!((got - expected).abs() < 1e-9, "list {s}: {got} != {expected}");
            compared += 1;
        }
    }
    assert!(compared > 20);
}

#[test]
fn a_placing_gain_is_the_change_in_the_whole_plans_objective_for_a_move_too() {
    let mut req = theatre(11);
    // Half the bookings offered, half confirmed: both kinds move.
    for (i, b) in req.bookings.iter_mut().enumerate() {
        b.state = if i % 2 == 0 {
            BookingState::Offered
        } else {
            BookingState::Confirmed
        };
    }
    let held = Held::of(&req);
    let before = evaluate(&req, &held.list_of);
    let booked: Vec<PatientIx> = (0..req.patients.len())
        .filter(|&p| held.list_of[p].is_some())
        .collect();
    assert!(booked.len() >= 2, "the generated week holds bookings");
    for &p in &booked {
        for s in (0..req.sessions.len()).filter(|&s| Some(s) != held.list_of[p]) {
            let mut after = held.list_of.clone();
            after[p] = Some(s);
            let expected = evaluate(&req, &after) - before;
            let got = held.placing_gain(&req, p, s);
            assert!((got - expected).abs() < 1e-9, "{got} != {expected}");
        }
    }
}

#[test]
fn every_backfill_option_fits_moves_nobody_and_passes_the_checker() {
    for seed in [1, 2, 3] {
        let req = theatre(seed);
        let held = Held::of(&req);
        let held_violations = check::check(&req, &plan_with(&req, &held, 0, &[]));
        for s in open_lists(&req).into_iter().take(4) {
            let answer = recommend_backfill(
                &req,
                BackfillAsk {
                    session: s,
                    window: None,
                    limit: 30,
                },
            );
            assert!(!answer.options.is_empty());
            assert!(
                answer.options.iter().any(|o| o.patients.len() >= 2),
                "pairs are offered"
            );
            for o in &answer.options {
                assert!(o.load <= answer.window && answer.window <= held.free(&req, s));
                // Everyone held on the list stays on it; everyone joining is a pool patient.
                let on: Vec<PatientIx> = o.list.cases.iter().map(|c| c.patient).collect();
                assert!(held.on_list[s].iter().all(|p| on.contains(p)));
                assert_eq!(on.len(), held.on_list[s].len() + o.patients.len());
                assert!(o.patients.iter().all(|&p| held.list_of[p].is_none()));
                let plan = plan_with(&req, &held, s, &o.patients);
                assert_eq!(plan.lists[s], o.list, "the list as it would run");
                assert_eq!(
                    check::check(&req, &plan),
                    held_violations,
                    "seed {seed}, list {s}"
                );
                let gain = evaluate(&req, &plan.assignment) - evaluate(&req, &held.list_of);
                assert!((gain - o.gain).abs() < 1e-9);
            }
            let gains: Vec<f64> = answer.options.iter().map(|o| o.gain).collect();
            assert!(gains.windows(2).all(|w| w[0] >= w[1]), "best first");
        }
    }
}

#[test]
fn the_best_backfill_is_the_best_set_of_any_size_by_brute_force() {
    let mut checked = 0;
    for seed in 1..=6 {
        let req = theatre(seed);
        let held = Held::of(&req);
        for s in open_lists(&req).into_iter().take(3) {
            for window in [None, Some(60), Some(95)] {
                let answer = recommend_backfill(
                    &req,
                    BackfillAsk {
                        session: s,
                        window,
                        limit: 5,
                    },
                );
                let fits: Vec<PatientIx> = (0..req.patients.len())
                    .filter(|&p| held.list_of[p].is_none() && decisive_reason(&req, p, s).is_none())
                    .filter(|&p| req.case_load(p) <= answer.window)
                    .collect();
                assert_eq!(fits.len(), answer.eligible);
                if fits.len() > 14 {
                    continue;
                }
                let mut best = f64::NEG_INFINITY;
                for mask in 1u32..(1 << fits.len()) {
                    let set: Vec<PatientIx> = (0..fits.len())
                        .filter(|i| mask & (1 << i) != 0)
                        .map(|i| fits[i])
                        .collect();
                    if set.iter().map(|&p| req.case_load(p)).sum::<i64>() <= answer.window {
                        best = best.max(held.joining_gain(&req, s, &set));
                    }
                }
                match answer.options.first() {
                    Some(top) => assert!((top.gain - best).abs() < 1e-9, "{} != {best}", top.gain),
                    None => assert!(fits.is_empty()),
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 6, "{checked} windows checked");
}

#[test]
fn the_best_backfill_is_what_the_optimiser_puts_in_the_gap_with_all_else_held() {
    let mut compared = 0;
    for seed in [2, 5] {
        let base = theatre(seed);
        for s in open_lists(&base).into_iter().take(2) {
            // Everything else held: every booking pinned, every other list released.
            let mut req = base.clone();
            for b in &mut req.bookings {
                b.state = BookingState::Confirmed;
            }
            for (t, session) in req.sessions.iter_mut().enumerate() {
                session.released |= t != s;
            }
            req.policy.solver.relative_gap = 0.0;
            req.policy.solver.pair_model = true;
            req.policy.solver.time_limit_seconds = 30.0;
            let held = Held::of(&req);
            let answer = recommend_backfill(
                &req,
                BackfillAsk {
                    session: s,
                    window: None,
                    limit: 3,
                },
            );
            let solved = solve::plan(&req, &SolveOptions::default()).unwrap();
            let optimiser_gain = solved.stats.objective - evaluate(&req, &held.list_of);
            let best = answer.options.first().map_or(0.0, |o| o.gain.max(0.0));
            assert!(
                (optimiser_gain - best).abs() < 1e-6,
                "seed {seed}, list {s}: optimiser {optimiser_gain}, backfill {best}"
            );
            // The same gain on the request as it was: the rest of the world does not enter it.
            let asked = recommend_backfill(
                &base,
                BackfillAsk {
                    session: s,
                    window: None,
                    limit: 3,
                },
            );
            assert!((asked.options[0].gain - answer.options[0].gain).abs() < 1e-9);
            compared += 1;
        }
    }
    assert!(compared >= 2);
}

#[test]
fn non_eligible_candidates_carry_their_first_broken_rule() {
    let req = theatre(4);
    let held = Held::of(&req);
    let s = open_lists(&req)[0];
    let answer = recommend_backfill(
        &req,
        BackfillAsk {
            session: s,
            window: Some(40),
            limit: 1_000,
        },
    );
    assert!(!answer.not_eligible.is_empty());
    for n in &answer.not_eligible {
        let mut reasons = rules::patient_reasons(&req, n.patient);
        reasons.extend(rules::pair_reasons(&req, n.patient, s));
        match reasons.first() {
            Some(first) => assert_eq!(n.reason, *first),
            None => {
                assert_eq!(n.reason, RuleCode::Capacity);
                assert!(req.case_load(n.patient) > answer.window);
            }
        }
        assert!(held.list_of[n.patient].is_none());
    }
}

#[test]
fn offers_are_the_lists_the_child_may_join_with_room_best_first() {
    let req = theatre(3);
    let held = Held::of(&req);
    let mut offered = 0;
    for p in 0..req.patients.len() {
        let answer = offer_dates(
            &req,
            OfferAsk {
                patient: p,
                limit: 1_000,
            },
        );
        let ruled: usize = answer.ruled_out.iter().map(|(_, n)| n).sum();
        assert_eq!(ruled + answer.offers.len(), answer.considered);
        for o in &answer.offers {
            assert!(rules::eligible(&req, p, o.session));
            assert!(req.case_load(p) <= held.free(&req, o.session));
            assert_eq!(o.list.cases[o.position].patient, p);
            assert!((o.gain - held.placing_gain(&req, p, o.session)).abs() < 1e-12);
        }
        assert!(answer.offers.windows(2).all(|w| w[0].gain >= w[1].gain));
        offered += answer.offers.len();
    }
    assert!(offered > 0);
}

#[test]
fn an_overnight_child_is_offered_no_night_without_a_bed_nor_recommended_for_one() {
    let mut req = theatre(3);
    let held = Held::of(&req);
    // A pool child with offers, and its best list's night.
    let (p, best) = (0..req.patients.len())
        .filter(|&p| held.list_of[p].is_none())
        .find_map(|p| {
            let answer = offer_dates(&req, OfferAsk { patient: p, limit: 1 });
            answer.offers.first().map(|o| (p, o.session))
        })
        .expect("a pool child with an offer");
    let (site, date) = (req.sessions[best].site, req.sessions[best].date);
    req.patients[p].overnight = true;
    req.sites[site].bed_nights.retain(|&(d, _)| d != date);
    req.sites[site].bed_nights.push((date, 0));
    req.sites[site].bed_nights.sort_unstable();
    let same_night = |s: SessionIx| req.sessions[s].site == site && req.sessions[s].date == date;
    let answer = offer_dates(
        &req,
        OfferAsk {
            patient: p,
            limit: 1_000,
        },
    );
    assert!(answer.offers.iter().all(|o| !same_night(o.session)));
    assert!(answer
        .ruled_out
        .iter()
        .any(|&(r, n)| r == RuleCode::NoBed && n >= 1));
    // The list's backfill names the child as needing a bed, and no option takes it.
    let fill = recommend_backfill(
        &req,
        BackfillAsk {
            session: best,
            window: None,
            limit: 1_000,
        },
    );
    assert!(fill.options.iter().all(|o| !o.patients.contains(&p)));
    assert!(fill
        .not_eligible
        .iter()
        .any(|n| n.patient == p && n.reason == RuleCode::NoBed));
    // With a bed that night, the offer is back.
    req.sites[site].bed_nights.retain(|&(d, _)| d != date);
    req.sites[site].bed_nights.push((date, 50));
    req.sites[site].bed_nights.sort_unstable();
    let answer = offer_dates(
        &req,
        OfferAsk {
            patient: p,
            limit: 1_000,
        },
    );
    assert!(answer.offers.iter().any(|o| o.session == best));
}
