//! Criterion benchmarks of the planner, model building measured apart from solving, at the
//! theatre and trust scales (the region scale is measured by `theatre-optimiser bench`, which runs
//! once per instance: a criterion sample there would take many minutes).

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use theatre_optimiser::domain::{PlannerKind, PlanningRequest};
use theatre_optimiser::planning::baseline;
use theatre_optimiser::planning::model::{components, ListModel};
use theatre_optimiser::planning::solve::{plan, SolveOptions};
use theatre_optimiser::rules::eligible_sessions;
use theatre_optimiser::synth::{generate, Scale};

fn request(scale: Scale) -> PlanningRequest {
    let mut req = PlanningRequest::try_from(generate(scale, 1)).expect("generated requests are valid");
    // Keep a criterion sample bounded; the bench command measures the full default limit.
    req.policy.solver.time_limit_seconds = 5.0;
    req
}

fn build(c: &mut Criterion) {
    let mut group = c.benchmark_group("build");
    group.sample_size(10).measurement_time(Duration::from_secs(10));
    for scale in [Scale::Theatre, Scale::Trust] {
        let req = request(scale);
        group.bench_with_input(BenchmarkId::new("eligibility", scale.as_str()), &req, |b, req| {
            b.iter(|| eligible_sessions(req))
        });
        let options = eligible_sessions(&req);
        let comps = components(&req, &options);
        group.bench_with_input(BenchmarkId::new("pair_model", scale.as_str()), &req, |b, req| {
            b.iter(|| {
                comps
                    .iter()
                    .map(|c| ListModel::build(req, c, &options).variables)
                    .sum::<usize>()
            })
        });
        group.bench_with_input(BenchmarkId::new("baseline", scale.as_str()), &req, |b, req| {
            b.iter(|| baseline::first_fit(req, &options))
        });
    }
    group.finish();
}

fn solve(c: &mut Criterion) {
    let mut group = c.benchmark_group("solve");
    group.sample_size(10).measurement_time(Duration::from_secs(20));
    for scale in [Scale::Theatre, Scale::Trust] {
        let mut req = request(scale);
        group.bench_with_input(BenchmarkId::new("optimiser", scale.as_str()), &req, |b, req| {
            b.iter(|| {
                plan(req, &SolveOptions::default())
                    .expect("plans")
                    .stats
                    .objective
            })
        });
        req.planner = PlannerKind::Baseline;
        group.bench_with_input(
            BenchmarkId::new("baseline_plan", scale.as_str()),
            &req,
            |b, req| {
                b.iter(|| {
                    plan(req, &SolveOptions::default())
                        .expect("plans")
                        .stats
                        .objective
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, build, solve);
criterion_main!(benches);
