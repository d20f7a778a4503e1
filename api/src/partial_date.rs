//! Partial dates: many facts of the programme are only "July 2018" or "the 1st half of 2019".
//! A partial date is stored as the first day of its period plus a precision, and written as
//! text whose form gives the precision: `2018`, `2019-H1`, `2019-Q3`, `2018-07`, `2019-06-09`.

use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, NaiveDate};
use entity::enums::DatePrecision;

/// A date known to a given precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PartialDate {
    /// The first day of the period.
    pub start: NaiveDate,
    pub precision: DatePrecision,
}

impl PartialDate {
    pub fn new(start: NaiveDate, precision: DatePrecision) -> Self {
        Self { start, precision }
    }

    /// The last day of the period.
    pub fn end(&self) -> NaiveDate {
        let months = match self.precision {
            DatePrecision::Day => return self.start,
            DatePrecision::Month => 1,
            DatePrecision::Quarter => 3,
            DatePrecision::HalfYear => 6,
            DatePrecision::Year => 12,
        };
        let next = self
            .start
            .checked_add_months(chrono::Months::new(months))
            .unwrap_or(NaiveDate::MAX);
        next.pred_opt().unwrap_or(next)
    }
}

impl FromStr for PartialDate {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "{text:?} is not a partial date: write YYYY, YYYY-H1/H2 (half year), YYYY-Q1..Q4 \
                 (quarter), YYYY-MM or YYYY-MM-DD"
            )
        };
        let year = |s: &str| -> Result<i32, String> {
            if s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse().map_err(|_| bad())
            } else {
                Err(bad())
            }
        };
        let ymd = |y: i32, m: u32, d: u32| NaiveDate::from_ymd_opt(y, m, d).ok_or_else(bad);
        let parts: Vec<&str> = text.split('-').collect();
        match parts.as_slice() {
            [y] => Ok(Self::new(ymd(year(y)?, 1, 1)?, DatePrecision::Year)),
            [y, h] if h.starts_with('H') => {
                let half = match *h {
                    "H1" => 1,
                    "H2" => 7,
                    _ => return Err(bad()),
                };
                Ok(Self::new(ymd(year(y)?, half, 1)?, DatePrecision::HalfYear))
            }
            [y, q] if q.starts_with('Q') => {
                let quarter: u32 = match *q {
                    "Q1" => 1,
                    "Q2" => 4,
                    "Q3" => 7,
                    "Q4" => 10,
                    _ => return Err(bad()),
                };
                Ok(Self::new(
                    ymd(year(y)?, quarter, 1)?,
                    DatePrecision::Quarter,
                ))
            }
            [y, m] if m.len() == 2 => {
                let month = m.parse().map_err(|_| bad())?;
                Ok(Self::new(ymd(year(y)?, month, 1)?, DatePrecision::Month))
            }
            [y, m, d] if m.len() == 2 && d.len() == 2 => {
                let (month, day) = (m.parse().map_err(|_| bad())?, d.parse().map_err(|_| bad())?);
                Ok(Self::new(ymd(year(y)?, month, day)?, DatePrecision::Day))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for PartialDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.start;
        match self.precision {
            DatePrecision::Year => write!(f, "{:04}", d.year()),
            DatePrecision::HalfYear => {
                write!(f, "{:04}-H{}", d.year(), if d.month() <= 6 { 1 } else { 2 })
            }
            DatePrecision::Quarter => write!(f, "{:04}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            DatePrecision::Month => write!(f, "{:04}-{:02}", d.year(), d.month()),
            DatePrecision::Day => write!(f, "{}", d.format("%Y-%m-%d")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_precision() {
        for text in [
            "2018",
            "2019-H1",
            "2019-H2",
            "2019-Q3",
            "2018-07",
            "2019-06-09",
        ] {
            let date: PartialDate = text.parse().unwrap();
            assert_eq!(date.to_string(), text);
        }
        let h1: PartialDate = "2019-H1".parse().unwrap();
        assert_eq!(h1.end(), NaiveDate::from_ymd_opt(2019, 6, 30).unwrap());
        for bad in [
            "",
            "18",
            "2019-H3",
            "2019-13",
            "2019-02-30",
            "2019-7",
            "July 2018",
        ] {
            assert!(
                bad.parse::<PartialDate>().is_err(),
                "{bad} should not parse"
            );
        }
    }
}
