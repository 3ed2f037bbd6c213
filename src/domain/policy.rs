//! Planning policy: every threshold and weight the rules, planners and model use, loaded from a
//! profile in `solver-configs/` (compiled into the binary) and overridable per request by dotted path.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Phase, Priority};

/// The shipped profiles, compiled in so the binary runs with no files beside it.
pub const SHIPPED_PROFILES: &[(&str, &str)] = &[
    ("default", include_str!("../../solver-configs/default.toml")),
    ("fast", include_str!("../../solver-configs/fast.toml")),
    (
        "high-intensity",
        include_str!("../../solver-configs/high-intensity.toml"),
    ),
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub solver: SolverSettings,
    pub phases: Phases,
    pub lists: Lists,
    pub age: AgeRules,
    pub preop: Preop,
    pub list_order: ListOrderPolicy,
    pub ebi: Ebi,
    pub priority: PriorityTable,
    pub objective: ObjectiveWeights,
    pub cases_per_list: CasesPerList,
    /// Procedures with an age window, by name: OPCS-4 prefixes and the age to treat by.
    pub age_windows: BTreeMap<String, AgeWindow>,
    pub ex_premature: ExPremature,
    pub day_case: DayCase,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SolverSettings {
    pub time_limit_seconds: f64,
    pub relative_gap: f64,
    pub threads: u32,
    pub random_seed: u32,
    /// Solve with the plain pair model on HiGHS (true) instead of the Lagrangian planner (false).
    pub pair_model: bool,
    /// The Lagrangian planner's work budget, in millions of work units (knapsack cells and
    /// search moves); it ends the solve deterministically, so the same request gives the same
    /// plan on any machine. 0: derived from the time limit (docs/model.md).
    pub work_budget: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phases {
    pub locked_days: i64,
    pub booking_days: i64,
    pub confirming_days: i64,
    pub locked_lists_fill_gaps: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lists {
    pub turnaround_minutes: u32,
    pub utilisation_target: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRules {
    pub specialist_centre_under_months: u32,
    pub paediatric_anaesthetist_under_months: u32,
    pub paediatric_list_under_months: u32,
    pub adult_services_choice_from_months: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preop {
    pub valid_days: i64,
}

/// A flag that brings a child forward on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderFlag {
    Diabetes,
    LatexAllergy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListOrderPolicy {
    pub youngest_first: bool,
    pub flags_first: Vec<OrderFlag>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ebi {
    pub procedure_prefixes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityRule {
    pub weight: f64,
    /// Days from the date listed to the due date; 0 means no due date.
    pub due_days: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(non_snake_case)]
pub struct PriorityTable {
    pub P2: PriorityRule,
    pub P3: PriorityRule,
    pub P4: PriorityRule,
}

impl PriorityTable {
    pub fn rule(&self, priority: Priority) -> &PriorityRule {
        match priority {
            Priority::P2 => &self.P2,
            Priority::P3 => &self.P3,
            Priority::P4 => &self.P4,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveWeights {
    pub wait_scale_weeks: f64,
    pub earliness: f64,
    pub cases_per_list_shortfall: f64,
    pub breach: f64,
    #[serde(rename = "move")]
    pub move_: f64,
    pub under_utilisation: f64,
    /// Cost per case that needs no specialist centre booked at one when the family accepts a
    /// non-specialist site (right procedure, right place).
    pub hub_non_complex: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcedureGroup {
    pub prefixes: Vec<String>,
    pub per_240_minutes: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CasesPerList {
    pub groups: BTreeMap<String, ProcedureGroup>,
    pub specialties: BTreeMap<String, f64>,
}

impl CasesPerList {
    /// The HVLC procedure group of an OPCS-4 code: the group with the longest matching prefix.
    pub fn group_of(&self, procedure: &str) -> Option<&str> {
        self.groups
            .iter()
            .flat_map(|(name, g)| g.prefixes.iter().map(move |p| (name, p)))
            .filter(|(_, p)| procedure.starts_with(p.as_str()))
            .max_by_key(|(_, p)| p.len())
            .map(|(name, _)| name.as_str())
    }

    /// Target cases for a list of `minutes` at `per_240` cases per 240 minutes, rounded down.
    pub fn scaled(per_240: f64, minutes: u32) -> u32 {
        (per_240 * f64::from(minutes) / 240.0 + 1e-9).floor().max(0.0) as u32
    }
}

/// A procedure that should be done before the child reaches an age (DOMAIN "Priority and
/// waiting": a missed window is a clinical harm, so it acts as a due date).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeWindow {
    pub prefixes: Vec<String>,
    /// The age, in months, by which the procedure should be done.
    pub treat_by_months: u32,
}

/// The age window of an OPCS-4 code: the window with the longest matching prefix, as
/// (name, treat-by months).
pub fn age_window_of<'a>(
    windows: &'a BTreeMap<String, AgeWindow>,
    procedure: &str,
) -> Option<(&'a str, u32)> {
    windows
        .iter()
        .flat_map(|(name, w)| w.prefixes.iter().map(move |p| (name, w, p)))
        .filter(|(_, _, p)| procedure.starts_with(p.as_str()))
        .max_by_key(|(_, _, p)| p.len())
        .map(|(name, w, _)| (name.as_str(), w.treat_by_months))
}

/// Ex-premature infants (DOMAIN "Age-appropriate lists"; RCoA GPAS, paediatric chapter): at risk
/// of apnoea after anaesthesia until a post-conception age, so they go only where they can be
/// watched overnight.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExPremature {
    /// Born before this many weeks' gestation: preterm.
    pub preterm_under_gestation_weeks: u32,
    /// A preterm infant is at risk until this post-conception age, weeks.
    pub preterm_until_post_conception_weeks: u32,
    /// A term-born infant is at risk until this post-conception age, weeks.
    pub term_until_post_conception_weeks: u32,
}

impl ExPremature {
    /// The post-conception age, weeks, until which an infant born at `gestation_weeks` is at risk.
    pub fn at_risk_until_weeks(&self, gestation_weeks: u32) -> u32 {
        if gestation_weeks < self.preterm_under_gestation_weeks {
            self.preterm_until_post_conception_weeks
        } else {
            self.term_until_post_conception_weeks
        }
    }
}

/// Day-case lines (seed 004, the CYP elective recovery guidance): the share of planned cases
/// that go home the same day, per site, is measured against these.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayCase {
    /// The day-case rate every site should reach.
    pub target_rate: f64,
    /// The day-case rate to aim for.
    pub aim_rate: f64,
}

/// Why a profile or an override could not be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ConfigError {
    #[error("unknown policy profile `{0}`")]
    UnknownProfile(String),
    #[error("profile `{profile}` does not parse: {message}")]
    Parse { profile: String, message: String },
    #[error("override `{0}` names no number in the policy")]
    UnknownKey(String),
    #[error("override `{key}` is not a valid value: {message}")]
    BadValue { key: String, message: String },
    #[error("policy value `{key}` is out of range: {message}")]
    OutOfRange { key: String, message: String },
}

impl Policy {
    /// Parses and validates a profile's TOML text.
    pub fn from_toml(profile: &str, text: &str) -> Result<Self, ConfigError> {
        let policy: Policy = toml::from_str(text).map_err(|e| ConfigError::Parse {
            profile: profile.to_string(),
            message: e.message().to_string(),
        })?;
        policy.validate()?;
        Ok(policy)
    }

    /// A shipped profile by name.
    pub fn shipped(name: &str) -> Result<Self, ConfigError> {
        let (_, text) = SHIPPED_PROFILES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| ConfigError::UnknownProfile(name.to_string()))?;
        Self::from_toml(name, text)
    }

    /// The default profile.
    pub fn default_profile() -> Self {
        Self::shipped("default").expect("the shipped default profile is valid (tested)")
    }

    /// Applies overrides by dotted path (e.g. `objective.breach`). Every key must name an existing
    /// number or boolean (1/0) in the policy; the result is validated again, as a whole, after
    /// all of them are applied.
    pub fn with_overrides<'a>(
        &self,
        overrides: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Self, ConfigError> {
        let policy = self.apply_overrides(overrides)?;
        policy.validate()?;
        Ok(policy)
    }

    /// [`Policy::with_overrides`] without the final range check: each key must name a number or
    /// boolean of the policy and each value must fit its type, but the ranges and the relations
    /// between values (checked by [`Policy::validate`]) are left to the caller.
    pub fn apply_overrides<'a>(
        &self,
        overrides: impl IntoIterator<Item = (&'a str, f64)>,
    ) -> Result<Self, ConfigError> {
        let mut tree = toml::Value::try_from(self).expect("policy serialises");
        for (key, value) in overrides {
            let slot = key
                .split('.')
                .try_fold(&mut tree, |node, part| node.get_mut(part))
                .ok_or_else(|| ConfigError::UnknownKey(key.to_string()))?;
            let bad = |message: &str| ConfigError::BadValue {
                key: key.to_string(),
                message: message.to_string(),
            };
            if !value.is_finite() {
                return Err(bad("not a finite number"));
            }
            *slot = match slot {
                toml::Value::Float(_) => toml::Value::Float(value),
                toml::Value::Integer(_) => {
                    if value.fract() != 0.0 || value.abs() > 1e12 {
                        return Err(bad("must be a whole number"));
                    }
                    toml::Value::Integer(value as i64)
                }
                toml::Value::Boolean(_) => match value {
                    0.0 => toml::Value::Boolean(false),
                    1.0 => toml::Value::Boolean(true),
                    _ => return Err(bad("must be 0 or 1")),
                },
                _ => return Err(ConfigError::UnknownKey(key.to_string())),
            };
        }
        tree.try_into()
            .map_err(|e: toml::de::Error| ConfigError::BadValue {
                key: "overrides".to_string(),
                message: e.message().to_string(),
            })
    }

    /// Checks the ranges that make the policy meaningful.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let out = |key: &str, message: &str| {
            Err(ConfigError::OutOfRange {
                key: key.to_string(),
                message: message.to_string(),
            })
        };
        let s = &self.solver;
        if !(s.time_limit_seconds > 0.0 && s.time_limit_seconds <= 86_400.0) {
            return out("solver.time_limit_seconds", "must be in (0, 86400]");
        }
        if !(0.0..1.0).contains(&s.relative_gap) {
            return out("solver.relative_gap", "must be in [0, 1)");
        }
        if !(s.work_budget >= 0.0 && s.work_budget <= 1e9) {
            return out("solver.work_budget", "must be in [0, 1e9]");
        }
        if s.threads == 0 || s.threads > 256 {
            return out("solver.threads", "must be in 1..=256");
        }
        let p = &self.phases;
        if !(0 <= p.locked_days && p.locked_days <= p.booking_days && p.booking_days <= p.confirming_days) {
            return out(
                "phases",
                "need 0 <= locked_days <= booking_days <= confirming_days",
            );
        }
        if !(0.0..=1.0).contains(&self.lists.utilisation_target) {
            return out("lists.utilisation_target", "must be in [0, 1]");
        }
        if self.lists.turnaround_minutes > 240 {
            return out("lists.turnaround_minutes", "must be at most 240");
        }
        if self.age.adult_services_choice_from_months > self.age.paediatric_list_under_months {
            return out(
                "age.adult_services_choice_from_months",
                "must not exceed age.paediatric_list_under_months",
            );
        }
        if self.preop.valid_days < 0 {
            return out("preop.valid_days", "must not be negative");
        }
        for (name, rule) in [
            ("P2", &self.priority.P2),
            ("P3", &self.priority.P3),
            ("P4", &self.priority.P4),
        ] {
            if !(rule.weight > 0.0 && rule.weight.is_finite()) {
                return out(&format!("priority.{name}.weight"), "must be positive");
            }
            if rule.due_days < 0 {
                return out(&format!("priority.{name}.due_days"), "must not be negative");
            }
        }
        let o = &self.objective;
        if o.wait_scale_weeks <= 0.0 {
            return out("objective.wait_scale_weeks", "must be positive");
        }
        if !(0.0..1.0).contains(&o.earliness) {
            return out("objective.earliness", "must be in [0, 1)");
        }
        for (key, v) in [
            ("objective.cases_per_list_shortfall", o.cases_per_list_shortfall),
            ("objective.breach", o.breach),
            ("objective.move", o.move_),
            ("objective.under_utilisation", o.under_utilisation),
            ("objective.hub_non_complex", o.hub_non_complex),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return out(key, "must be a non-negative number");
            }
        }
        for (name, g) in &self.cases_per_list.groups {
            if !(g.per_240_minutes >= 0.0 && g.per_240_minutes <= 100.0) {
                return out(
                    &format!("cases_per_list.groups.{name}.per_240_minutes"),
                    "must be in [0, 100]",
                );
            }
            if g.prefixes.is_empty() {
                return out(
                    &format!("cases_per_list.groups.{name}.prefixes"),
                    "must not be empty",
                );
            }
        }
        for (tfc, v) in &self.cases_per_list.specialties {
            if !(*v >= 0.0 && *v <= 100.0) {
                return out(
                    &format!("cases_per_list.specialties.{tfc}"),
                    "must be in [0, 100]",
                );
            }
        }
        for (name, w) in &self.age_windows {
            if w.prefixes.is_empty() {
                return out(&format!("age_windows.{name}.prefixes"), "must not be empty");
            }
            if !(1..=self.age.paediatric_list_under_months).contains(&w.treat_by_months) {
                return out(
                    &format!("age_windows.{name}.treat_by_months"),
                    "must be in 1..=age.paediatric_list_under_months",
                );
            }
        }
        let d = &self.day_case;
        if !(0.0 <= d.target_rate && d.target_rate <= d.aim_rate && d.aim_rate <= 1.0) {
            return out("day_case", "need 0 <= target_rate <= aim_rate <= 1");
        }
        let x = &self.ex_premature;
        if !(22..=44).contains(&x.preterm_under_gestation_weeks) {
            return out("ex_premature.preterm_under_gestation_weeks", "must be in 22..=44");
        }
        if !(x.term_until_post_conception_weeks <= x.preterm_until_post_conception_weeks
            && x.preterm_until_post_conception_weeks <= 156)
        {
            return out(
                "ex_premature",
                "need term_until_post_conception_weeks <= preterm_until_post_conception_weeks <= 156",
            );
        }
        Ok(())
    }

    /// The phase of a list `days_ahead` days after the planning date.
    pub fn phase(&self, days_ahead: i64) -> Phase {
        match days_ahead {
            d if d < 0 => Phase::Past,
            d if d < self.phases.locked_days => Phase::Locked,
            d if d < self.phases.booking_days => Phase::Booking,
            d if d < self.phases.confirming_days => Phase::Confirming,
            _ => Phase::Provisional,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_loads_and_validates() {
        for (name, _) in SHIPPED_PROFILES {
            let p = Policy::shipped(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(p.solver.time_limit_seconds > 0.0);
        }
        // And every file on disk is shipped (none forgotten in the binary).
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/solver-configs");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let stem = path.file_stem().unwrap().to_str().unwrap().to_string();
            assert!(
                SHIPPED_PROFILES.iter().any(|(n, _)| *n == stem),
                "{stem} is not compiled in"
            );
            let text = std::fs::read_to_string(&path).unwrap();
            Policy::from_toml(&stem, &text).unwrap();
        }
    }

    #[test]
    fn high_intensity_differs_from_default() {
        let d = Policy::default_profile();
        let h = Policy::shipped("high-intensity").unwrap();
        assert!(
            h.cases_per_list.groups["tonsillectomy"].per_240_minutes
                > d.cases_per_list.groups["tonsillectomy"].per_240_minutes
        );
    }

    #[test]
    fn overrides_set_numbers_by_path() {
        let p = Policy::default_profile()
            .with_overrides([
                ("objective.breach", 8.0),
                ("lists.turnaround_minutes", 15.0),
                ("phases.locked_lists_fill_gaps", 0.0),
                ("cases_per_list.groups.grommets.per_240_minutes", 10.0),
            ])
            .unwrap();
        assert_eq!(p.objective.breach, 8.0);
        assert_eq!(p.lists.turnaround_minutes, 15);
        assert!(!p.phases.locked_lists_fill_gaps);
        assert_eq!(p.cases_per_list.groups["grommets"].per_240_minutes, 10.0);
    }

    #[test]
    fn overrides_reject_unknown_and_bad_values() {
        let d = Policy::default_profile();
        assert!(matches!(
            d.with_overrides([("objective.nope", 1.0)]),
            Err(ConfigError::UnknownKey(_))
        ));
        assert!(matches!(
            d.with_overrides([("lists.turnaround_minutes", 1.5)]),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            d.with_overrides([("objective.earliness", 2.0)]),
            Err(ConfigError::OutOfRange { .. })
        ));
        assert!(matches!(
            d.with_overrides([("objective.breach", f64::NAN)]),
            Err(ConfigError::BadValue { .. })
        ));
        assert!(matches!(
            Policy::shipped("nope"),
            Err(ConfigError::UnknownProfile(_))
        ));
    }

    #[test]
    fn unknown_fields_in_a_profile_are_errors() {
        let text = SHIPPED_PROFILES[0].1.replace("[solver]", "[solver]\nbogus = 1");
        assert!(matches!(
            Policy::from_toml("x", &text),
            Err(ConfigError::Parse { .. })
        ));
    }

    #[test]
    fn groups_match_the_longest_prefix() {
        let mut c = Policy::default_profile().cases_per_list;
        c.groups.insert(
            "special".into(),
            ProcedureGroup {
                prefixes: vec!["F34.1".into()],
                per_240_minutes: 2.0,
            },
        );
        assert_eq!(c.group_of("F34.1"), Some("special"));
        assert_eq!(c.group_of("F34.2"), Some("tonsillectomy"));
        assert_eq!(c.group_of("Z99.9"), None);
        assert_eq!(CasesPerList::scaled(5.0, 240), 5);
        assert_eq!(CasesPerList::scaled(5.0, 480), 10);
        assert_eq!(CasesPerList::scaled(5.0, 200), 4);
    }
}
