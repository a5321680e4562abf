//! Recurring invoices, pure: a schedule file (customer, lines, monthly / quarterly / yearly on a
//! day of the month, from a start date to an end date or for a count of periods, drafted or
//! issued) parsed and checked, and the billing dates it makes. Each billing date names its
//! period (`2026-03`, `2026-Q1`, `2026`): the store bills a (schedule, period) once, whatever
//! runs or crashes (store/recurring.rs).

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::sale::{check_lines, SaleLine};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Monthly,
    Quarterly,
    Yearly,
}

impl Frequency {
    fn months(self) -> u32 {
        match self {
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
            Frequency::Yearly => 12,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
            Frequency::Yearly => "yearly",
        }
    }

    /// The period a billing date on `d` bills.
    pub fn period(self, d: NaiveDate) -> String {
        match self {
            Frequency::Monthly => format!("{}-{:02}", d.year(), d.month()),
            Frequency::Quarterly => format!("{}-Q{}", d.year(), (d.month() - 1) / 3 + 1),
            Frequency::Yearly => d.year().to_string(),
        }
    }
}

/// `facteur recurring add FILE.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleFile {
    /// A name to list it by (unique).
    pub name: String,
    /// The customer's account (`C732829320`) or id.
    pub customer: String,
    pub frequency: Frequency,
    /// Day of the month the invoice is dated (29–31 fall on the month's last day when shorter).
    pub day: u32,
    /// No billing date before it.
    #[serde(deserialize_with = "date")]
    pub start: NaiveDate,
    /// No billing date after it.
    #[serde(
        default,
        deserialize_with = "optional_date",
        skip_serializing_if = "Option::is_none"
    )]
    pub end: Option<NaiveDate>,
    /// Or: this many periods.
    #[serde(default)]
    pub count: Option<u32>,
    /// Issue each invoice at once (numbered and posted); else a draft waits for `sales issue`.
    #[serde(default)]
    pub issue: bool,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub vat_exemption: Option<String>,
    #[serde(rename = "line", default)]
    pub lines: Vec<SaleLine>,
}

/// A date as TOML writes it (`start = 2026-01-15`) or as a string (`"2026-01-15"`, and the
/// stored JSON).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawDate {
    Text(String),
    Toml(toml::value::Datetime),
}

fn date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    let text = match RawDate::deserialize(d)? {
        RawDate::Text(s) => s,
        RawDate::Toml(t) => t.to_string(),
    };
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        serde::de::Error::custom(format!("'{text}' is not a date: write it 2026-01-15"))
    })
}

fn optional_date<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    date(d).map(Some)
}

/// A schedule is at most this many periods (a typo guard: 50 years monthly).
const MAX_PERIODS: u32 = 600;

impl ScheduleFile {
    /// Checks what types alone cannot: the day, the end, the lines.
    pub fn check(&self) -> Result<(), String> {
        if self.name.trim().is_empty() {
            return Err("name: a schedule needs a name to list it by".into());
        }
        if !(1..=31).contains(&self.day) {
            return Err(format!(
                "day {} is not a day of the month: write 1 to 31 (29–31 fall on the last day of shorter months)",
                self.day
            ));
        }
        match (self.end, self.count) {
            (Some(_), Some(_)) => {
                return Err("give end or count, not both".into());
            }
            (Some(end), None) if end < self.start => {
                return Err(format!("end {end} comes before start {}", self.start));
            }
            (None, Some(0)) => return Err("count 0 bills nothing: write 1 or more".into()),
            (None, Some(n)) if n > MAX_PERIODS => {
                return Err(format!("count {n} is more than {MAX_PERIODS} periods"));
            }
            _ => {}
        }
        let exemption = self
            .vat_exemption
            .as_deref()
            .filter(|m| !m.trim().is_empty());
        check_lines(&self.lines, exemption)
    }

    /// The billing dates in order, each with its period, as far as the end, the count or
    /// `MAX_PERIODS` go.
    pub fn dates(&self) -> impl Iterator<Item = (NaiveDate, String)> + '_ {
        let first = self.start.with_day(1).unwrap_or(self.start);
        (0..)
            .map(move |i: u32| on_day(add_months(first, i * self.frequency.months()), self.day))
            .filter(move |d| *d >= self.start)
            .take(self.count.unwrap_or(MAX_PERIODS).min(MAX_PERIODS) as usize)
            .take_while(move |d| self.end.is_none_or(|e| *d <= e))
            .map(move |d| (d, self.frequency.period(d)))
    }

    /// The note printed on the invoice of the period: the schedule's note and the period.
    pub fn note_for(&self, period: &str) -> Option<String> {
        Some(
            match self.note.as_deref().filter(|n| !n.trim().is_empty()) {
                Some(n) => format!("{n} ({period})"),
                None => format!("Période {period}"),
            },
        )
    }
}

fn add_months(d: NaiveDate, months: u32) -> NaiveDate {
    d.checked_add_months(chrono::Months::new(months))
        .unwrap_or(NaiveDate::MAX)
}

/// Day `day` of `d`'s month, or its last day when the month is shorter.
fn on_day(d: NaiveDate, day: u32) -> NaiveDate {
    (1..=day).rev().find_map(|x| d.with_day(x)).unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ScheduleFile {
        let f: ScheduleFile = toml::from_str(&format!(
            "name = \"maintenance\"\ncustomer = \"C552100554\"\n{text}\n\
             [[line]]\ndescription = \"Maintenance\"\nquantity = 1\nunit_price = \"100\"\nvat_rate = 20\n"
        ))
        .unwrap();
        f.check().unwrap();
        f
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn monthly_on_the_31st_falls_on_shorter_months_last_day_and_stops_at_the_count() {
        let f = file("frequency = \"monthly\"\nday = 31\nstart = 2026-01-15\ncount = 4");
        let dates: Vec<(NaiveDate, String)> = f.dates().collect();
        assert_eq!(
            dates,
            vec![
                (d(2026, 1, 31), "2026-01".into()),
                (d(2026, 2, 28), "2026-02".into()),
                (d(2026, 3, 31), "2026-03".into()),
                (d(2026, 4, 30), "2026-04".into()),
            ]
        );
    }

    #[test]
    fn quarterly_and_yearly_name_their_periods_and_stop_at_the_end() {
        let q = file("frequency = \"quarterly\"\nday = 1\nstart = 2026-02-10\nend = 2026-12-31");
        let periods: Vec<String> = q.dates().map(|(_, p)| p).collect();
        assert_eq!(
            periods,
            ["2026-Q2", "2026-Q3", "2026-Q4"],
            "from 1 May, 1 Aug, 1 Nov"
        );
        let y = file("frequency = \"yearly\"\nday = 5\nstart = 2026-01-05\ncount = 2");
        let dates: Vec<NaiveDate> = y.dates().map(|(d, _)| d).collect();
        assert_eq!(dates, [d(2026, 1, 5), d(2027, 1, 5)]);
    }

    #[test]
    fn wrong_schedules_are_refused_with_what_to_write() {
        let bad = |text: &str| {
            let f: ScheduleFile = toml::from_str(&format!(
                "name = \"x\"\ncustomer = \"C1\"\nfrequency = \"monthly\"\nstart = 2026-01-01\n{text}\n\
                 [[line]]\ndescription = \"x\"\nquantity = 1\nunit_price = \"1\"\nvat_rate = 20\n"
            ))
            .unwrap();
            f.check().unwrap_err()
        };
        assert!(bad("day = 0").contains("1 to 31"));
        assert!(bad("day = 1\nend = 2026-06-01\ncount = 3").contains("not both"));
        assert!(bad("day = 1\nend = 2025-06-01").contains("before start"));
        assert!(bad("day = 1\ncount = 0").contains("bills nothing"));
        // The store keeps it as JSON and reads it back the same.
        let f = file("frequency = \"monthly\"\nday = 1\nstart = 2026-01-15\nend = 2026-03-01");
        let back: ScheduleFile = serde_json::from_str(&serde_json::to_string(&f).unwrap()).unwrap();
        assert_eq!(back, f);
        assert!(toml::from_str::<ScheduleFile>(
            "name = \"x\"\ncustomer = \"C1\"\nfrequency = \"weekly\"\nday = 1\nstart = 2026-01-01"
        )
        .unwrap_err()
        .to_string()
        .contains("monthly"));
    }
}
