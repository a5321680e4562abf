//! Reminders (relances), pure: `[reminders]` in facteur.toml (a ladder of steps, days from the
//! due date, each with its template; one ladder per customer category, the default ladder for
//! the rest), and which step an invoice is due for on a given day.
//!
//! The rule: the step due is the latest one whose day has come (due date + its days ≤ today);
//! it is sent unless it, or a later step, was sent already. So a run that comes late (the
//! machine was off for three weeks) sends only the latest step, never the ladder at once, and a
//! step is never sent twice (the store's unique constraint holds that under crashes and races).
//! Which invoices are still owed, and which are disputed, the store says from the ledger.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};
use serde::{Deserialize, Serialize};

use super::customer::Category;
use super::templates::Template;

/// Days before (negative) or after the due date.
pub type StepDays = i64;

/// One rung of a ladder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Days from the due date: -5 is five days before, 0 the day itself, 7 a week after.
    pub days: StepDays,
    /// `courtesy`, `due`, `overdue`, `final` or `formal_notice` (models/reminders/).
    pub template: Template,
}

impl Step {
    /// The day this step falls on for an invoice due on `due`.
    pub fn date(&self, due: NaiveDate) -> NaiveDate {
        due + Duration::days(self.days)
    }

    /// `D-5`, `D+0`, `D+7`: how lists and the history name a step.
    pub fn label(&self) -> String {
        if self.days < 0 {
            format!("D{}", self.days)
        } else {
            format!("D+{}", self.days)
        }
    }
}

/// Steps in order of their days, each day once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Ladder(Vec<Step>);

/// Furthest a step may sit from the due date, either way (a typo guard).
const MAX_STEP_DAYS: StepDays = 366;

impl Ladder {
    /// Checks the steps: days strictly increasing, within a year of the due date, and no step
    /// sending the invoice itself.
    pub fn new(steps: Vec<Step>) -> Result<Ladder, String> {
        for (i, s) in steps.iter().enumerate() {
            if s.days.abs() > MAX_STEP_DAYS {
                return Err(format!(
                    "step {} ({} days): a step is at most {MAX_STEP_DAYS} days from the due date",
                    i + 1,
                    s.days
                ));
            }
            if s.template == Template::Invoice {
                return Err(format!(
                    "step {} ({} days): `invoice` is the sending mail, not a reminder; write courtesy, due, overdue, final or formal_notice",
                    i + 1, s.days
                ));
            }
            if let Some(prev) = i.checked_sub(1).map(|p| steps[p]) {
                if s.days <= prev.days {
                    return Err(format!(
                        "step {} ({} days) comes after step {i} ({} days): list the steps in order of their days, each day once",
                        i + 1,
                        s.days,
                        prev.days
                    ));
                }
            }
        }
        Ok(Ladder(steps))
    }

    pub fn steps(&self) -> &[Step] {
        &self.0
    }

    /// The step an invoice due on `due` is due for on `today`, given the steps already sent
    /// (their days); `None` when nothing is to be sent (see the module's doc).
    pub fn due_step(&self, due: NaiveDate, today: NaiveDate, sent: &[StepDays]) -> Option<Step> {
        let latest = *self.0.iter().rev().find(|s| s.date(due) <= today)?;
        if sent.iter().any(|&d| d >= latest.days) {
            None
        } else {
            Some(latest)
        }
    }

    /// The next step after `today`, for the preview's "next" column.
    pub fn next_step(&self, due: NaiveDate, today: NaiveDate) -> Option<Step> {
        self.0.iter().find(|s| s.date(due) > today).copied()
    }

    /// The default: a courteous note 5 days before, at the due date, +7, +15, +30 (the last
    /// friendly one), and the formal notice at +45.
    pub fn standard() -> Ladder {
        let step = |days, template| Step { days, template };
        Ladder(vec![
            step(-5, Template::Courtesy),
            step(0, Template::Due),
            step(7, Template::Overdue),
            step(15, Template::Overdue),
            step(30, Template::Final),
            step(45, Template::FormalNotice),
        ])
    }
}

impl<'de> Deserialize<'de> for Ladder {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let steps = Vec::<Step>::deserialize(d)?;
        Ladder::new(steps).map_err(serde::de::Error::custom)
    }
}

/// `[reminders]` in facteur.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReminderSettings {
    /// Whether `facteur run` sends reminders by itself (`reminders run` always can).
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// How often `facteur run` looks for reminders to send, in minutes.
    #[serde(default = "default_every")]
    pub every_minutes: u64,
    /// The ladder of customers whose category has none of its own.
    #[serde(default = "Ladder::standard")]
    pub ladder: Ladder,
    /// A ladder per customer category (`key_accounts = [{ days = 15, template = "overdue" }]`);
    /// an empty one sends that category nothing.
    #[serde(default)]
    pub categories: BTreeMap<String, Ladder>,
}

fn default_enabled() -> bool {
    true
}

fn default_every() -> u64 {
    60
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            enabled: default_enabled(),
            every_minutes: default_every(),
            ladder: Ladder::standard(),
            categories: BTreeMap::new(),
        }
    }
}

impl ReminderSettings {
    /// The ladder of customers of `category`.
    pub fn ladder(&self, category: &Category) -> &Ladder {
        self.categories
            .get(category.as_str())
            .unwrap_or(&self.ladder)
    }

    /// Category names that are not valid customer categories (checked with the file).
    pub fn check(&self) -> Result<(), String> {
        for name in self.categories.keys() {
            Category::parse(name).map_err(|e| format!("[reminders.categories] {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn the_ladder_steps_in_order_and_a_late_run_sends_only_the_latest_step() {
        let l = Ladder::standard();
        let due = d(4, 30);
        assert_eq!(l.due_step(due, d(4, 24), &[]), None, "6 days before");
        assert_eq!(l.due_step(due, d(4, 25), &[]).map(|s| s.days), Some(-5));
        assert_eq!(l.due_step(due, d(4, 26), &[-5]), None, "sent already");
        assert_eq!(l.due_step(due, d(4, 30), &[-5]).map(|s| s.days), Some(0));
        // Off for three weeks: only +15 goes out, not +7 as well.
        assert_eq!(
            l.due_step(due, d(5, 16), &[-5, 0]).map(|s| s.days),
            Some(15)
        );
        assert_eq!(l.due_step(due, d(5, 20), &[-5, 0, 15]), None);
        let formal = l.due_step(due, d(6, 30), &[-5, 0, 15]).unwrap();
        assert_eq!((formal.days, formal.template), (45, Template::FormalNotice));
        assert_eq!(formal.label(), "D+45");
        assert_eq!(l.next_step(due, d(5, 16)).map(|s| s.days), Some(30));
        assert_eq!(l.due_step(due, d(12, 31), &[45]), None, "the ladder ends");
    }

    #[test]
    fn ladders_and_categories_come_from_the_file_checked() {
        let s: ReminderSettings = toml::from_str(
            "[categories]\nkey_accounts = [{ days = 15, template = \"overdue\" }, \
             { days = 60, template = \"formal_notice\" }]\nquiet = []\n",
        )
        .unwrap();
        let key = Category::parse("key_accounts").unwrap();
        assert_eq!(s.ladder(&key).steps().len(), 2);
        assert!(s
            .ladder(&Category::parse("quiet").unwrap())
            .steps()
            .is_empty());
        assert_eq!(s.ladder(&Category::default()), &Ladder::standard());
        let unordered = toml::from_str::<ReminderSettings>(
            "ladder = [{ days = 7, template = \"overdue\" }, { days = 0, template = \"due\" }]",
        )
        .unwrap_err()
        .to_string();
        assert!(unordered.contains("in order of their days"), "{unordered}");
        let unknown =
            toml::from_str::<ReminderSettings>("ladder = [{ days = 7, template = \"rude\" }]")
                .unwrap_err()
                .to_string();
        assert!(unknown.contains("formal_notice"), "{unknown}");
        let bad = ReminderSettings {
            categories: [("Key Accounts".to_string(), Ladder::standard())].into(),
            ..ReminderSettings::default()
        };
        assert!(bad.check().unwrap_err().contains("lower-case"));
    }
}
