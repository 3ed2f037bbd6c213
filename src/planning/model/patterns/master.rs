//! The master problem over list patterns: the restricted master LP kept in HiGHS between pricing
//! rounds, and the restricted master solved as a MIP for the plan.

use std::collections::{HashMap, HashSet};

use good_lp::{variable, Constraint, Expression, ProblemVariables, SolverModel, Variable};

use super::super::highs_run::{self, Control, SolverError, Stop};
use super::super::Component;
use super::pricing::{ListData, Pattern};
use crate::domain::{PatientIx, PlanningRequest, SessionIx};

/// The master problem over the pattern pool: `λ_k ∈ {0,1}` (or `λ_k ≥ 0` for the LP) per pattern,
/// maximising `Σ_k v_k·λ_k`, with its two constraint families. Rows are added patients first, then
/// lists, in order ([`LpMaster`] reads the duals by that order).
struct Master {
    problem: good_lp::solvers::highs::HighsProblem,
    /// λ of every pattern a patient is in.
    by_patient: HashMap<PatientIx, Vec<Variable>>,
    /// λ of every pattern of a list.
    by_list: HashMap<SessionIx, Vec<Variable>>,
}

impl Master {
    fn build(
        comp: &Component,
        lists: &[ListData],
        pool: &[Pattern],
        pinned: &HashSet<PatientIx>,
        integer: bool,
    ) -> Master {
        let mut vars = ProblemVariables::new();
        let lambda: Vec<Variable> = pool
            .iter()
            .map(|_| {
                vars.add(if integer {
                    variable().binary()
                } else {
                    variable().min(0.0)
                })
            })
            .collect();
        let objective: Expression = pool.iter().zip(&lambda).map(|(k, &v)| k.value * v).sum();
        let problem = vars.maximise(objective).using(good_lp::solvers::highs::highs);
        let mut master = Master {
            problem,
            by_patient: HashMap::new(),
            by_list: HashMap::new(),
        };
        for (k, &v) in pool.iter().zip(&lambda) {
            master.by_list.entry(k.session).or_default().push(v);
            for &p in &k.patients {
                master.by_patient.entry(p).or_default().push(v);
            }
        }
        for &p in &comp.patients {
            master.one_list(p, pinned.contains(&p));
        }
        for l in lists {
            master.one_pattern(l.session);
        }
        master
    }

    /// one_list: `Σ_{k ∋ p} λ_k ≤ 1` (`= 1` when pinned): each patient in at most one chosen
    /// pattern, a pinned patient in exactly one.
    fn one_list(&mut self, p: PatientIx, pinned: bool) {
        let row: Expression = self.by_patient.get(&p).map_or_else(Expression::default, |vs| {
            vs.iter().copied().map(Expression::from).sum()
        });
        let c: Constraint = if pinned { row.eq(1.0) } else { row.leq(1.0) };
        self.problem.add_constraint(c);
    }

    /// one_pattern: `Σ_{k of s} λ_k ≤ 1`: at most one pattern per list (a row for every list,
    /// so that columns priced later can join it).
    fn one_pattern(&mut self, s: SessionIx) {
        let row: Expression = self.by_list.get(&s).map_or_else(Expression::default, |vs| {
            vs.iter().copied().map(Expression::from).sum()
        });
        self.problem.add_constraint(row.leq(1.0));
    }
}

/// The restricted master LP, kept in HiGHS between pricing rounds: new columns are appended and
/// the simplex restarts from the previous basis. Columns have no upper bound (the list rows imply
/// λ ≤ 1), so the row duals alone price every column and the Lagrangian bound is valid.
pub(super) struct LpMaster {
    pub(super) model: Option<highs::Model>,
    pub(super) patients: usize,
    pub(super) patient_row: HashMap<PatientIx, i32>,
    pub(super) list_row: HashMap<SessionIx, i32>,
    pub(super) list_duals: Vec<f64>,
}

impl LpMaster {
    pub(super) fn new(
        req: &PlanningRequest,
        comp: &Component,
        lists: &[ListData],
        pool: &[Pattern],
        pinned: &HashSet<PatientIx>,
        large: bool,
    ) -> Result<LpMaster, SolverError> {
        let master = Master::build(comp, lists, pool, pinned, false);
        let mut model = master
            .problem
            .try_into_inner()
            .map_err(SolverError::MasterRejected)?;
        model.make_quiet();
        model.set_option("threads", req.policy.solver.threads as i32);
        model.set_option("random_seed", req.policy.solver.random_seed as i32);
        model.set_option("parallel", "off");
        // Keep the basis between rounds: no presolve, dual-free primal simplex restarts.
        model.set_option("presolve", "off");
        model.set_option("solver", "simplex");
        if large {
            // New columns leave the basis primal feasible: primal simplex goes on from it.
            model.set_option("simplex_strategy", 4);
        }
        // Rows were added patients first, then lists, in order.
        let patient_row = comp
            .patients
            .iter()
            .enumerate()
            .map(|(i, &p)| (p, i as i32))
            .collect();
        let n = comp.patients.len();
        let list_row = lists
            .iter()
            .enumerate()
            .map(|(i, l)| (l.session, (n + i) as i32))
            .collect();
        Ok(LpMaster {
            model: Some(model),
            patients: n,
            patient_row,
            list_row,
            list_duals: vec![],
        })
    }

    /// Appends a pattern's column.
    pub(super) fn add(&mut self, k: &Pattern) {
        let mut index: Vec<i32> = Vec::with_capacity(k.patients.len() + 1);
        index.push(self.list_row[&k.session]);
        index.extend(k.patients.iter().map(|p| self.patient_row[p]));
        let value = vec![1.0; index.len()];
        let model = self.model.as_mut().expect("master model");
        // SAFETY: the pointer is the live HiGHS instance of `model`; `index` and `value` have
        // `index.len()` entries each and outlive the call.
        let status = unsafe {
            highs_sys::Highs_addCol(
                model.as_mut_ptr(),
                k.value,
                0.0,
                f64::INFINITY,
                index.len() as i32,
                index.as_ptr(),
                value.as_ptr(),
            )
        };
        debug_assert_eq!(status, 0, "Highs_addCol");
    }

    /// Solves the LP: its value, the duals of the patient rows (in component order) and the
    /// pattern weights; the list rows' duals are kept in `list_duals`.
    pub(super) fn solve(&mut self) -> Result<LpSolution, SolverError> {
        let model = self.model.take().expect("master model");
        let solved = model.try_solve().map_err(SolverError::MasterFailed)?;
        if solved.status() != highs::HighsModelStatus::Optimal {
            return Err(SolverError::MasterStopped(solved.status()));
        }
        let value = solved.objective_value();
        let solution = solved.get_solution();
        let duals = solution.dual_rows()[..self.patients].to_vec();
        self.list_duals = solution.dual_rows()[self.patients..].to_vec();
        let columns = solution.columns().to_vec();
        self.model = Some(highs::Model::from(solved));
        Ok(LpSolution {
            value,
            patient_duals: duals,
            lambda: columns,
        })
    }
}

/// One solve of the restricted master LP.
pub(super) struct LpSolution {
    pub(super) value: f64,
    /// Duals of the patient rows, in component order.
    pub(super) patient_duals: Vec<f64>,
    /// λ of every pattern of the pool.
    pub(super) lambda: Vec<f64>,
}

/// The restricted master solved as a MIP.
pub(super) struct MipOutcome {
    pub(super) assignment: Vec<(PatientIx, SessionIx)>,
    /// Value of the chosen patterns (model terms).
    pub(super) objective: f64,
    pub(super) stop: Stop,
}

/// Solves the restricted master as a MIP from the `warm` patterns, within `time_limit`.
#[allow(clippy::too_many_arguments)]
pub(super) fn solve_master_mip(
    req: &PlanningRequest,
    comp: &Component,
    lists: &[ListData],
    pool: &[Pattern],
    pinned: &HashSet<PatientIx>,
    warm: &HashSet<(SessionIx, Vec<PatientIx>)>,
    time_limit: f64,
    control: &Control<'_>,
) -> Result<MipOutcome, SolverError> {
    let master = Master::build(comp, lists, pool, pinned, true);
    let start: Vec<f64> = pool
        .iter()
        .map(|k| {
            if warm.contains(&(k.session, k.patients.clone())) {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let run = highs_run::run(master.problem, &start, &req.policy.solver, time_limit, control)?;
    let chosen: Vec<&Pattern> = match &run.columns {
        Some(cols) => pool
            .iter()
            .zip(cols)
            .filter(|(_, v)| **v > 0.5)
            .map(|(k, _)| k)
            .collect(),
        None => pool
            .iter()
            .zip(&start)
            .filter(|(_, v)| **v > 0.5)
            .map(|(k, _)| k)
            .collect(),
    };
    let objective = chosen.iter().map(|k| k.value).sum();
    let assignment = chosen
        .iter()
        .flat_map(|k| k.patients.iter().map(move |&p| (p, k.session)))
        .collect();
    Ok(MipOutcome {
        assignment,
        objective,
        stop: run.stop,
    })
}
