//! Procedure age windows: the plan's count of children booked past, and left past, their
//! procedure's age window, worked out again from the raw patient fields and the policy's windows.

use chrono::Datelike;

use crate::domain::{Date, PatientIx, PlanningRequest, RuleCode};

use super::Checker;

impl Checker<'_> {
    /// The plan's age-window KPIs agree with the request: booked on a list after the window
    /// closes, or on no list with the window closing by the end of the horizon.
    pub(super) fn age_windows(&mut self) {
        let (req, plan) = (self.req, self.plan);
        let end = horizon_end(req);
        let (mut booked_past, mut left_past) = (0u32, 0u32);
        for p in 0..req.patients.len() {
            let Some(closes) = window_closes(req, p) else {
                continue;
            };
            match self.on_lists[p].first() {
                Some(&s) => booked_past += u32::from(req.sessions[s].date > closes),
                None => left_past += u32::from(closes <= end),
            }
        }
        let k = &plan.kpis;
        if (k.age_window_booked_past, k.age_window_left_past) != (booked_past, left_past) {
            let detail = format!(
                "the plan counts {} booked and {} left past their procedure's age window; the request gives {booked_past} and {left_past}",
                k.age_window_booked_past, k.age_window_left_past
            );
            self.report(RuleCode::AgeWindow, None, None, detail);
        }
    }
}

/// The date the patient's age window closes: the clinician's `treat_by`, else the date the child
/// reaches the age of the window whose prefix matches its procedure longest, if that date is not
/// before the date it was listed.
pub(super) fn window_closes(req: &PlanningRequest, p: PatientIx) -> Option<Date> {
    let patient = &req.patients[p];
    if let Some(date) = patient.treat_by {
        return Some(date);
    }
    let mut best: Option<(usize, u32)> = None;
    for window in req.policy.age_windows.values() {
        for prefix in &window.prefixes {
            if patient.procedure.starts_with(prefix.as_str())
                && best.is_none_or(|(len, _)| prefix.len() > len)
            {
                best = Some((prefix.len(), window.treat_by_months));
            }
        }
    }
    let (_, months) = best?;
    let reached = match patient.age_days {
        Some(days) => shift_months(
            req.planning_date - chrono::Duration::days(i64::from(days)),
            i64::from(months),
        ),
        None => shift_months(
            req.planning_date,
            i64::from(months) - i64::from(patient.age_months),
        ),
    }?;
    (reached >= patient.date_listed).then_some(reached)
}

/// `date` moved by `months` calendar months, the day clamped to the last of the month.
fn shift_months(date: Date, months: i64) -> Option<Date> {
    let index = i64::from(date.year()) * 12 + i64::from(date.month0()) + months;
    let (year, month) = (
        i32::try_from(index.div_euclid(12)).ok()?,
        index.rem_euclid(12) as u32 + 1,
    );
    let first_of_next = if month == 12 {
        Date::from_ymd_opt(year + 1, 1, 1)?
    } else {
        Date::from_ymd_opt(year, month + 1, 1)?
    };
    let last_day = first_of_next.pred_opt()?.day();
    Date::from_ymd_opt(year, month, date.day().min(last_day))
}

/// The last date the plan covers: the last list's date, at least a day after the planning date.
fn horizon_end(req: &PlanningRequest) -> Date {
    let last = req
        .sessions
        .iter()
        .map(|s| s.date)
        .fold(req.planning_date, Date::max);
    last.max(req.planning_date + chrono::Duration::days(1))
}

#[cfg(test)]
mod tests {
    use super::shift_months;
    use crate::domain::Date;

    #[test]
    fn months_shift_with_the_day_clamped() {
        let d = |s: &str| s.parse::<Date>().unwrap();
        assert_eq!(shift_months(d("2026-01-31"), 1), Some(d("2026-02-28")));
        assert_eq!(shift_months(d("2026-11-23"), 18), Some(d("2028-05-23")));
        assert_eq!(shift_months(d("2026-11-23"), -11), Some(d("2025-12-23")));
        assert_eq!(shift_months(d("2024-03-31"), -1), Some(d("2024-02-29")));
    }
}
