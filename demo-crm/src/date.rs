//! Calendar dates for the demo data (no time zones, no clock: deterministic).

use std::fmt;

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year, e.g. 2025.
    pub year: u16,
    /// Month, 1..=12.
    pub month: u8,
    /// Day of month, 1..=31.
    pub day: u8,
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    /// A date.
    pub fn new(year: u16, month: u8, day: u8) -> Self {
        Self { year, month, day }
    }

    /// This date plus `days` days.
    pub fn plus_days(self, days: u32) -> Self {
        let mut d = self;
        for _ in 0..days {
            if d.day < days_in_month(d.year, d.month) {
                d.day += 1;
            } else if d.month < 12 {
                d.month += 1;
                d.day = 1;
            } else {
                d = Self::new(d.year + 1, 1, 1);
            }
        }
        d
    }

    /// `Mar 14, 2025`
    pub fn long(self) -> String {
        format!("{} {}, {}", MONTHS[usize::from(self.month - 1)], self.day, self.year)
    }

    /// `03/14/2025`
    pub fn us(self) -> String {
        format!("{:02}/{:02}/{}", self.month, self.day, self.year)
    }
}

/// ISO 8601, `2025-03-14`.
impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adds_days_across_months_and_years() {
        assert_eq!(Date::new(2024, 2, 28).plus_days(1), Date::new(2024, 2, 29));
        assert_eq!(Date::new(2025, 2, 28).plus_days(1), Date::new(2025, 3, 1));
        assert_eq!(Date::new(2025, 12, 31).plus_days(1), Date::new(2026, 1, 1));
        assert_eq!(Date::new(2025, 1, 1).plus_days(365), Date::new(2026, 1, 1));
    }

    #[test]
    fn prints() {
        let d = Date::new(2025, 3, 4);
        assert_eq!(d.to_string(), "2025-03-04");
        assert_eq!(d.us(), "03/04/2025");
        assert_eq!(d.long(), "Mar 4, 2025");
    }
}
