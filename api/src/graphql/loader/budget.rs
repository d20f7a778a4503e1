//! The output budget of one operation: a bound on what its answer may hold, charged as the
//! resolvers receive rows from the loaders, so that an answer that would grow past it is
//! stopped while it is being built, not after it has filled memory.
//!
//! Every object of a data answer comes from a loader (`Batcher::load_one`/`load_many`), so
//! each value a loader hands out is weighed there: a row weighs its JSON form (every column,
//! as serde would write it, counted without being written: `json_size.rs`). A value handed out twice (the same city under two pairings) is
//! charged twice, as it appears twice in the answer. Rows are charged whole, also when the
//! query selects one of their fields: the budget is an upper bound on the answer, not its size.
//! The HTTP layer also checks the size of the serialised answer, which covers what no loader
//! hands out (introspection, the programme summary).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;

use crate::service::page::Page;

/// Bytes charged for a cursor's or a count's key and punctuation.
const PER_COLUMN: u64 = 16;

/// What a loader answers with once the operation's output budget is spent. The HTTP layer
/// stops the operation as soon as that happens and answers `RESPONSE_TOO_LARGE`; this error
/// only ends the resolvers still running until then (`AppError` recognises it).
#[derive(Debug, Clone, Copy)]
pub struct BudgetExceeded;

pub use crate::error::BUDGET_EXCEEDED;

impl From<BudgetExceeded> for Arc<sea_orm::DbErr> {
    fn from(_: BudgetExceeded) -> Self {
        Arc::new(sea_orm::DbErr::Custom(BUDGET_EXCEEDED.to_owned()))
    }
}

impl From<BudgetExceeded> for super::PageLoadError {
    fn from(exceeded: BudgetExceeded) -> Self {
        super::PageLoadError::Db(exceeded.into())
    }
}

/// One operation's budget; a limit of 0 means none.
#[derive(Default)]
pub struct OutputBudget {
    limit: u64,
    used: AtomicU64,
    over: AtomicBool,
    exceeded: Notify,
}

impl OutputBudget {
    pub fn new(limit: u64) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The limit, in bytes (0: none).
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// Takes what `weigh` says from the budget; false once it is spent (and from then on).
    /// Without a limit nothing is weighed.
    pub fn charge_with(&self, weigh: impl FnOnce() -> u64) -> bool {
        self.limit == 0 || self.charge(weigh())
    }

    /// Takes `bytes` from the budget; false once it is spent (and from then on).
    pub fn charge(&self, bytes: u64) -> bool {
        if self.limit == 0 {
            return true;
        }
        if self.over.load(Ordering::Acquire) {
            return false;
        }
        let used = self
            .used
            .fetch_add(bytes, Ordering::AcqRel)
            .saturating_add(bytes);
        if used > self.limit {
            self.over.store(true, Ordering::Release);
            self.exceeded.notify_waiters();
            return false;
        }
        true
    }

    /// Whether the budget is spent.
    pub fn is_exceeded(&self) -> bool {
        self.over.load(Ordering::Acquire)
    }

    /// Completes once the budget is spent (never, for a budget without a limit).
    pub async fn exceeded(&self) {
        loop {
            let notified = self.exceeded.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_exceeded() {
                return;
            }
            notified.await;
        }
    }
}

/// What a loader's value adds to an answer, in bytes (an upper bound).
pub trait Weigh {
    fn weigh(&self) -> u64;
}

impl<T: Weigh + ?Sized> Weigh for Arc<T> {
    fn weigh(&self) -> u64 {
        (**self).weigh()
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weigh(&self) -> u64 {
        self.iter().map(Weigh::weigh).fold(0, u64::saturating_add)
    }
}

impl<A: Weigh, B: Weigh> Weigh for (A, B) {
    fn weigh(&self) -> u64 {
        self.0.weigh().saturating_add(self.1.weigh())
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weigh(&self) -> u64 {
        self.as_ref().map_or(0, Weigh::weigh)
    }
}

impl<M: Weigh> Weigh for Page<M> {
    fn weigh(&self) -> u64 {
        let rows = self.rows.iter();
        rows.map(|(cursor, row)| PER_COLUMN + cursor.len() as u64 + row.weigh())
            .fold(PER_COLUMN, u64::saturating_add)
    }
}

impl Weigh for i64 {
    fn weigh(&self) -> u64 {
        PER_COLUMN
    }
}

impl Weigh for i32 {
    fn weigh(&self) -> u64 {
        PER_COLUMN
    }
}

/// The length of a row's JSON form, counted without writing it (an upper bound).
fn row_weight<M: serde::Serialize>(model: &M) -> u64 {
    super::json_size::json_size(model)
}

macro_rules! weigh_rows {
    ($($module:ident),* $(,)?) => {
        $(impl Weigh for entity::$module::Model {
            fn weigh(&self) -> u64 {
                row_weight(self)
            }
        })*
    };
}

weigh_rows!(
    activity,
    activity_pairing,
    activity_stakeholder,
    city,
    country,
    involvement,
    pairing,
    pairing_participant,
    pairing_sdg,
    pairing_theme,
    programme_region,
    project,
    region,
    sdg,
    stakeholder,
    theme,
    ucap,
    ucap_section,
    ucap_section_type,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_budget_refuses_once_spent_and_wakes_its_waiter() {
        let budget = Arc::new(OutputBudget::new(100));
        assert!(budget.charge(60));
        assert!(!budget.is_exceeded());
        let waiter = {
            let budget = budget.clone();
            std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .build()
                    .expect("a runtime")
                    .block_on(budget.exceeded())
            })
        };
        assert!(!budget.charge(41));
        assert!(budget.is_exceeded());
        assert!(!budget.charge(0), "spent stays spent");
        waiter.join().expect("the waiter wakes");
        assert!(OutputBudget::new(0).charge(u64::MAX), "0 means no limit");
    }

    #[test]
    fn a_row_weighs_its_columns_and_text() {
        let theme = entity::theme::Model {
            id: 1,
            slug: "climate".into(),
            scheme: entity::enums::ThemeScheme::Topic,
            name: "Climate action".into(),
            description: None,
            sources: "[]".into(),
        };
        let weight = theme.weigh();
        let written = serde_json::to_string(&theme).unwrap().len() as u64;
        assert!(
            (written..=2 * written).contains(&weight),
            "{weight} for {written}"
        );
        let longer = entity::theme::Model {
            name: "x".repeat(1000),
            ..theme.clone()
        };
        assert_eq!(longer.weigh(), weight - 14 + 1000);
        // Numbers, dates, nested values: never less than the written form.
        let value = serde_json::json!({
            "a": [1, -2_147_483_648i64, 1.5e300, u64::MAX, null, true],
            "b": { "c": "text with \"quotes\"", "d": [] },
        });
        let written = serde_json::to_string(&value).unwrap().len() as u64;
        let counted = super::super::json_size::json_size(&value);
        assert!(counted >= written - 4, "{counted} for {written}");
        let date = chrono::NaiveDate::from_ymd_opt(2026, 12, 5).unwrap();
        assert!(super::super::json_size::json_size(&date) >= 12);
    }
}
