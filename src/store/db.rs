//! The two backends behind one small query API, so every query is written once as plain SQL in an
//! ordinary function (DESIGN.md §3, STYLE.md rule 8).
//!
//! `sqlx::Any` cannot carry NUMERIC or chrono types, and generic functions over `sqlx::Database`
//! need a dozen `Encode`/`Decode` bounds repeated on each one. Instead a query is built
//! backend-neutral (`sql(text).bind(v).money(d)`), holding its parameters as `Value`s, and becomes
//! an sqlx query of the right backend only when it runs on a `Db` (pool) or a `Tx`. What truly
//! differs lives here and only here: the money codec (NUMERIC on PostgreSQL, canonical decimal TEXT
//! on SQLite, which has no Decimal codec), how a write transaction begins (SQLite takes the write
//! lock up front with `BEGIN IMMEDIATE`, so a second process waits on busy_timeout instead of
//! failing mid-transaction), and PostgreSQL's `FOR UPDATE SKIP LOCKED`.

use std::borrow::Cow;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteRow};
use sqlx::{Decode, Postgres, Row as _, Sqlite, Type};

use super::{Context, StoreError};

/// A connection pool of one backend.
#[derive(Clone)]
pub(crate) enum Db {
    Sqlite(sqlx::SqlitePool),
    Pg(sqlx::PgPool),
}

/// An open transaction; dropped without `commit` it rolls back.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

impl Db {
    /// A transaction that will write.
    pub async fn begin_write(&self, context: &'static str) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await.ctx(context)?),
            Db::Pg(p) => Tx::Pg(p.begin().await.ctx(context)?),
        })
    }

    /// A transaction that only reads (SQLite does not take the write lock for it).
    pub async fn begin_read(&self, context: &'static str) -> Result<Tx, StoreError> {
        Ok(match self {
            Db::Sqlite(p) => Tx::Sqlite(p.begin().await.ctx(context)?),
            Db::Pg(p) => Tx::Pg(p.begin().await.ctx(context)?),
        })
    }

    /// The clause that makes concurrent claimers skip each other's rows (PostgreSQL); SQLite has a
    /// single writer and needs none.
    pub fn skip_locked(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "",
            Db::Pg(_) => "FOR UPDATE SKIP LOCKED",
        }
    }
}

impl Tx {
    pub fn is_pg(&self) -> bool {
        matches!(self, Tx::Pg(_))
    }

    pub async fn commit(self, context: &'static str) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit().await.ctx(context),
            Tx::Pg(t) => t.commit().await.ctx(context),
        }
    }

    pub async fn rollback(self, context: &'static str) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.rollback().await.ctx(context),
            Tx::Pg(t) => t.rollback().await.ctx(context),
        }
    }
}

/// A query parameter.
#[derive(Debug, Clone)]
pub(crate) enum Value<'q> {
    I64(Option<i64>),
    Text(Option<Cow<'q, str>>),
    Bool(bool),
    F32(Option<f32>),
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    Bytes(&'q [u8]),
    Money(Option<Decimal>),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::I64(Some(v))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        Value::I64(v)
    }
}
impl From<u32> for Value<'_> {
    fn from(v: u32) -> Self {
        Value::I64(Some(i64::from(v)))
    }
}
impl<'q> From<&'q str> for Value<'q> {
    fn from(v: &'q str) -> Self {
        Value::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'q> From<&'q String> for Value<'q> {
    fn from(v: &'q String) -> Self {
        Value::Text(Some(Cow::Borrowed(v)))
    }
}
impl<'q> From<Option<&'q str>> for Value<'q> {
    fn from(v: Option<&'q str>) -> Self {
        Value::Text(v.map(Cow::Borrowed))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Some(Cow::Owned(v)))
    }
}
impl From<Option<String>> for Value<'_> {
    fn from(v: Option<String>) -> Self {
        Value::Text(v.map(Cow::Owned))
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<f32> for Value<'_> {
    fn from(v: f32) -> Self {
        Value::F32(Some(v))
    }
}
impl From<DateTime<Utc>> for Value<'_> {
    fn from(v: DateTime<Utc>) -> Self {
        Value::Time(Some(v))
    }
}
impl From<Option<DateTime<Utc>>> for Value<'_> {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Value::Time(v)
    }
}
impl From<Option<NaiveDate>> for Value<'_> {
    fn from(v: Option<NaiveDate>) -> Self {
        Value::Date(v)
    }
}
impl<'q> From<&'q [u8]> for Value<'q> {
    fn from(v: &'q [u8]) -> Self {
        Value::Bytes(v)
    }
}

/// A backend-neutral query: SQL with `$n` placeholders (both backends accept them) and its
/// parameters in order.
pub(crate) struct Sql<'q> {
    text: Cow<'q, str>,
    binds: Vec<Value<'q>>,
}

/// Starts a query.
pub(crate) fn sql<'q>(text: impl Into<Cow<'q, str>>) -> Sql<'q> {
    Sql {
        text: text.into(),
        binds: Vec::new(),
    }
}

/// Where a query runs: the pool, or an open transaction.
pub(crate) enum On<'a> {
    Db(&'a Db),
    Tx(&'a mut Tx),
}

impl On<'_> {
    /// The same place for one more query.
    pub fn again(&mut self) -> On<'_> {
        match self {
            On::Db(db) => On::Db(db),
            On::Tx(tx) => On::Tx(tx),
        }
    }
}

impl<'a> From<&'a Db> for On<'a> {
    fn from(db: &'a Db) -> Self {
        On::Db(db)
    }
}
impl<'a> From<&'a mut Tx> for On<'a> {
    fn from(tx: &'a mut Tx) -> Self {
        On::Tx(tx)
    }
}

impl<'q> Sql<'q> {
    pub fn bind(mut self, v: impl Into<Value<'q>>) -> Self {
        self.binds.push(v.into());
        self
    }

    /// An amount, in the backend's money codec.
    pub fn money(mut self, v: Option<Decimal>) -> Self {
        self.binds.push(Value::Money(v));
        self
    }

    fn sqlite(&self) -> Query<'_, Sqlite, SqliteArguments<'_>> {
        let mut q = sqlx::query(&self.text);
        for v in &self.binds {
            q = match v {
                Value::I64(x) => q.bind(*x),
                Value::Text(x) => q.bind(x.as_deref()),
                Value::Bool(x) => q.bind(*x),
                Value::F32(x) => q.bind(*x),
                Value::Time(x) => q.bind(*x),
                Value::Date(x) => q.bind(*x),
                Value::Bytes(x) => q.bind(*x),
                Value::Money(x) => q.bind(x.map(|d| d.to_string())),
            };
        }
        q
    }

    fn pg(&self) -> Query<'_, Postgres, PgArguments> {
        let mut q = sqlx::query(&self.text);
        for v in &self.binds {
            q = match v {
                Value::I64(x) => q.bind(*x),
                Value::Text(x) => q.bind(x.as_deref()),
                Value::Bool(x) => q.bind(*x),
                Value::F32(x) => q.bind(*x),
                Value::Time(x) => q.bind(*x),
                Value::Date(x) => q.bind(*x),
                Value::Bytes(x) => q.bind(*x),
                Value::Money(x) => q.bind(*x),
            };
        }
        q
    }

    /// Runs a statement; returns the rows it affected.
    pub async fn execute<'c>(
        self,
        on: impl Into<On<'c>>,
        context: &'static str,
    ) -> Result<u64, StoreError> {
        let n = match on.into() {
            On::Db(Db::Sqlite(p)) => self.sqlite().execute(p).await.map(|r| r.rows_affected()),
            On::Db(Db::Pg(p)) => self.pg().execute(p).await.map(|r| r.rows_affected()),
            On::Tx(Tx::Sqlite(t)) => self
                .sqlite()
                .execute(&mut **t)
                .await
                .map(|r| r.rows_affected()),
            On::Tx(Tx::Pg(t)) => self.pg().execute(&mut **t).await.map(|r| r.rows_affected()),
        };
        n.ctx(context)
    }

    pub async fn fetch_all<'c>(
        self,
        on: impl Into<On<'c>>,
        context: &'static str,
    ) -> Result<Vec<Row>, StoreError> {
        let rows = match on.into() {
            On::Db(Db::Sqlite(p)) => Self::wrap(self.sqlite().fetch_all(p).await, Row::Sqlite),
            On::Db(Db::Pg(p)) => Self::wrap(self.pg().fetch_all(p).await, Row::Pg),
            On::Tx(Tx::Sqlite(t)) => {
                Self::wrap(self.sqlite().fetch_all(&mut **t).await, Row::Sqlite)
            }
            On::Tx(Tx::Pg(t)) => Self::wrap(self.pg().fetch_all(&mut **t).await, Row::Pg),
        };
        rows.ctx(context)
    }

    pub async fn fetch_optional<'c>(
        self,
        on: impl Into<On<'c>>,
        context: &'static str,
    ) -> Result<Option<Row>, StoreError> {
        let row = match on.into() {
            On::Db(Db::Sqlite(p)) => self
                .sqlite()
                .fetch_optional(p)
                .await
                .map(|r| r.map(Row::Sqlite)),
            On::Db(Db::Pg(p)) => self.pg().fetch_optional(p).await.map(|r| r.map(Row::Pg)),
            On::Tx(Tx::Sqlite(t)) => self
                .sqlite()
                .fetch_optional(&mut **t)
                .await
                .map(|r| r.map(Row::Sqlite)),
            On::Tx(Tx::Pg(t)) => self
                .pg()
                .fetch_optional(&mut **t)
                .await
                .map(|r| r.map(Row::Pg)),
        };
        row.ctx(context)
    }

    /// The first column of the only row (`COUNT(*)`, `SELECT id … WHERE unique = …`), if any.
    pub async fn scalar<'c, T: Column>(
        self,
        on: impl Into<On<'c>>,
        context: &'static str,
    ) -> Result<Option<T>, StoreError> {
        self.fetch_optional(on, context)
            .await?
            .map(|r| r.at(0))
            .transpose()
    }

    fn wrap<R>(
        rows: Result<Vec<R>, sqlx::Error>,
        f: fn(R) -> Row,
    ) -> Result<Vec<Row>, sqlx::Error> {
        rows.map(|v| v.into_iter().map(f).collect())
    }
}

/// A type both backends decode the same way.
pub(crate) trait Column:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}
impl<T> Column for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A result row of either backend.
pub(crate) enum Row {
    Sqlite(SqliteRow),
    Pg(PgRow),
}

impl Row {
    /// The named column; a type mismatch is a corrupt store, reported with the column's name.
    pub fn get<T: Column>(&self, column: &str) -> Result<T, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get(column),
            Row::Pg(r) => r.try_get(column),
        }
        .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}")))
    }

    /// The column at `index` (0-based).
    pub fn at<T: Column>(&self, index: usize) -> Result<T, StoreError> {
        match self {
            Row::Sqlite(r) => r.try_get(index),
            Row::Pg(r) => r.try_get(index),
        }
        .map_err(|e| StoreError::Corrupt(format!("column #{index}: {e}")))
    }

    /// An amount in the backend's money codec.
    pub fn money(&self, column: &str) -> Result<Option<Decimal>, StoreError> {
        match self {
            Row::Sqlite(_) => self
                .get::<Option<String>>(column)?
                .map(|m| {
                    Decimal::from_str(&m).map_err(|_| {
                        StoreError::Corrupt(format!("column {column}: '{m}' is not a decimal"))
                    })
                })
                .transpose(),
            Row::Pg(r) => r
                .try_get::<Option<Decimal>, _>(column)
                .map_err(|e| StoreError::Corrupt(format!("column {column}: {e}"))),
        }
    }
}
