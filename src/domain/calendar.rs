//! Dates, 6-4-2 phases and calendar-month arithmetic.

pub type Date = chrono::NaiveDate;

use chrono::Datelike;

/// Where a list stands in 6-4-2 scheduling, counted back from its date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    /// Before the planning date.
    Past,
    /// Within T-2 weeks: bookings stay, gaps only.
    Locked,
    /// T-4 to T-2 weeks: lists are booked from pre-assessed patients.
    Booking,
    /// T-6 to T-4 weeks: sessions confirmed.
    Confirming,
    /// Beyond T-6 weeks.
    Provisional,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Past => "past",
            Phase::Locked => "locked",
            Phase::Booking => "booking",
            Phase::Confirming => "confirming",
            Phase::Provisional => "provisional",
        }
    }
}

/// Whole calendar months from `from` to `to` (negative when `to` is earlier).
pub fn months_between(from: Date, to: Date) -> i32 {
    if to < from {
        return -months_between(to, from);
    }
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    if to.day() < from.day() {
        months - 1
    } else {
        months
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn whole_months() {
        assert_eq!(months_between(d("2026-01-15"), d("2026-02-14")), 0);
        assert_eq!(months_between(d("2026-01-15"), d("2026-02-15")), 1);
        assert_eq!(months_between(d("2025-12-31"), d("2026-12-31")), 12);
        assert_eq!(months_between(d("2026-03-01"), d("2026-01-01")), -2);
    }
}
