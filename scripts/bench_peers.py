#!/usr/bin/env python3
"""Side-by-side benchmark: the planner against HiGHS and OR-Tools CP-SAT on the very same model.

For each request, the planner plans it (`theatre-optimiser solve`, one run per time limit), then
`theatre-optimiser export-model` writes its pair model as MPS, and HiGHS (highspy) and CP-SAT
(ortools, 2 workers) solve that file with each time limit. Every objective and bound is put in
plan terms (the model's objective plus the exported constant), so the columns compare directly;
the decision gap is (bound - objective) / (bound - value of the empty plan).

Usage: bench_peers.py --bin target/release/theatre-optimiser --limits 10 60 300 \
           --requests a.json b.json [--peers highs cpsat] [--markdown out.md]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def number(value):
    """A solver's figure as a float; NaN when it has none (no plan, no bound, pandas NA)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def decision_gap(objective, bound, empty):
    objective, bound = number(objective), number(bound)
    if objective != objective or bound != bound or bound == float("inf"):
        return float("nan")
    span = bound - empty
    return 0.0 if span <= 1e-9 else max(0.0, (bound - objective) / span)


def planner(binary, request_path, limit, workdir):
    with open(request_path) as f:
        request = json.load(f)
    policy = request.setdefault("policy", {})
    policy["timeLimitSeconds"] = limit
    path = os.path.join(workdir, "request.json")
    with open(path, "w") as f:
        json.dump(request, f)
    out = os.path.join(workdir, "plan.json")
    started = time.monotonic()
    subprocess.run([binary, "solve", "--request", path, "--out", out], check=True,
                   stderr=subprocess.DEVNULL)
    wall = time.monotonic() - started
    with open(out) as f:
        s = json.load(f)["solver"]
    return {"objective": s["objective"], "bound": s["bestBound"], "seconds": s.get("solveSeconds", wall),
            "stop": s.get("stopReason", "")}


def highs(mps, limit, constant):
    import highspy
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(mps)
    h.setOptionValue("time_limit", float(limit))
    h.setOptionValue("mip_rel_gap", 0.0)
    started = time.monotonic()
    h.run()
    seconds = time.monotonic() - started
    info = h.getInfo()
    objective = info.objective_function_value if info.primal_solution_status == 2 else float("nan")
    return {"objective": objective + constant, "bound": info.mip_dual_bound + constant, "seconds": seconds,
            "stop": h.modelStatusToString(h.getModelStatus())}


def cpsat(mps, limit, constant):
    from ortools.linear_solver.python import model_builder as mb
    model = mb.Model()
    model.import_from_mps_file(mps)
    solver = mb.Solver("sat")
    solver.set_time_limit_in_seconds(float(limit))
    solver.set_solver_specific_parameters("num_workers:2")
    started = time.monotonic()
    status = solver.solve(model)
    seconds = time.monotonic() - started
    found = status in (mb.SolveStatus.OPTIMAL, mb.SolveStatus.FEASIBLE)
    objective = number(solver.objective_value) if found else float("nan")
    return {"objective": objective + constant, "bound": number(solver.best_objective_bound) + constant,
            "seconds": seconds, "stop": status.name.lower()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--requests", nargs="+", required=True)
    ap.add_argument("--limits", nargs="+", type=float, default=[10, 60, 300])
    ap.add_argument("--planner-limits", nargs="+", type=float, default=[10])
    ap.add_argument("--peers", nargs="+", choices=["highs", "cpsat"], default=["highs", "cpsat"],
                    help="which outside solvers to run (default both)")
    ap.add_argument("--markdown", help="write the table into this file, between the markers "
                    "<!-- peers:start --> and <!-- peers:end --> (appended with them if absent)")
    args = ap.parse_args()

    rows = []
    with tempfile.TemporaryDirectory() as work:
        for request in args.requests:
            name = os.path.splitext(os.path.basename(request))[0]
            mps = os.path.join(work, name + ".mps")
            exported = json.loads(subprocess.run([args.bin, "export-model", "--request", request, "--out", mps],
                                                 check=True, capture_output=True, text=True).stdout)
            constant, empty = exported["objective_constant"], exported["empty_plan_value"]
            runs = [("theatre-optimiser", limit, lambda l=limit: planner(args.bin, request, l, work))
                    for limit in args.planner_limits]
            for limit in args.limits:
                if "highs" in args.peers:
                    runs.append(("HiGHS (MPS)", limit, lambda l=limit: highs(mps, l, constant)))
                if "cpsat" in args.peers:
                    runs.append(("CP-SAT 2 workers (MPS)", limit, lambda l=limit: cpsat(mps, l, constant)))
            for solver, limit, go in runs:
                r = go()
                r.update(request=name, solver=solver, limit=limit,
                         decision=decision_gap(r["objective"], r["bound"], empty))
                rows.append(r)
                print(f"{name:14} {solver:24} {limit:5.0f} s  objective {r['objective']:10.2f}  "
                      f"bound {r['bound']:10.2f}  decision gap {100 * r['decision']:6.2f}%  "
                      f"{r['seconds']:7.2f} s  {r['stop']}", flush=True)
    if args.markdown:
        lines = ["<!-- peers:start -->",
                 f"Measured {time.strftime('%Y-%m-%d')} by `make bench-peers` on this machine ({os.cpu_count()} cores).",
                 "",
                 "| request | solver | limit (s) | objective | bound | decision gap | relative gap | seconds | stop |",
                 "|---|---|---:|---:|---:|---:|---:|---:|---|"]
        for r in rows:
            rel = max(0.0, (r["bound"] - r["objective"]) / max(abs(r["bound"]), 1.0)) \
                if r["decision"] == r["decision"] else float("nan")
            lines.append(f"| {r['request']} | {r['solver']} | {r['limit']:.0f} | {r['objective']:.2f} | "
                         f"{r['bound']:.2f} | {100 * r['decision']:.2f}% | {100 * rel:.2f}% | "
                         f"{r['seconds']:.2f} | {r['stop']} |")
        lines.append("<!-- peers:end -->")
        table = "\n".join(lines)
        text = open(args.markdown).read() if os.path.exists(args.markdown) else ""
        start, end = text.find("<!-- peers:start -->"), text.find("<!-- peers:end -->")
        if start >= 0 and end > start:
            text = text[:start] + table + text[end + len("<!-- peers:end -->"):]
        else:
            text = text.rstrip("\n") + "\n\n" + table + "\n"
        with open(args.markdown, "w") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main())
