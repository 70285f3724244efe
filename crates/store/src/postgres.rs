//! The scale-out backend: PostgreSQL through sqlx.
//!
//! Runs the operations written once over [`Exec`] (`crate::exec`) and the same SQL text as
//! SQLite (see [`crate::sql`]). Statements that must see a consistent state run in one
//! transaction; the refresh rotation and failure counting are single conditional
//! `UPDATE … RETURNING` statements, so concurrent requests on several server instances cannot
//! both spend one token or lose a count.

use crate::exec::{Access, Backend, DbError, Dialect, Exec, Op, Row, Value};
use crate::{Result, StoreError};
use sqlx::postgres::{PgArguments, PgPool, PgPoolOptions, PgRow};
use sqlx::query::Query;
use sqlx::{Column as _, PgConnection, Postgres, Row as _, TypeInfo as _};
use uuid::Uuid;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Clone)]
pub struct PgStore {
    pool: PgPool,
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn db_error(e: &sqlx::Error) -> DbError {
    match e.as_database_error() {
        Some(d) if d.is_unique_violation() => DbError::Unique,
        Some(d) if d.is_foreign_key_violation() => DbError::ForeignKey,
        _ => DbError::Other(e.to_string()),
    }
}

impl PgStore {
    /// Connects and brings the schema up to date.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(backend)?;
        MIGRATOR.run(&pool).await.map_err(backend)?;
        Ok(Self { pool })
    }

    async fn on_connection<T, F>(&self, op: F) -> Result<T>
    where
        F: for<'c> FnOnce(&'c mut PgConnection) -> Op<'c, T>,
    {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        op(&mut conn).await
    }

    async fn in_transaction<T, F>(&self, op: F) -> Result<T>
    where
        F: for<'c> FnOnce(&'c mut PgConnection) -> Op<'c, T>,
    {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        // Dropped without a commit on an error: sqlx rolls the transaction back.
        let out = op(&mut tx).await?;
        tx.commit().await.map_err(backend)?;
        Ok(out)
    }
}

impl Backend for PgStore {
    type Conn = PgConnection;

    /// A snapshot is one connection, each statement at the state committed when it runs: a
    /// read-only transaction would add two round trips to every request, and what a snapshot
    /// read gathers (a session, its caller's groups and key) is checked again where it is used.
    async fn run<T, F>(&self, access: Access, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut PgConnection) -> Op<'c, T> + Send + 'static,
    {
        match access {
            Access::Point | Access::Snapshot | Access::Scan | Access::WriteOne => {
                self.on_connection(op).await
            }
            Access::Write => self.in_transaction(op).await,
            Access::Consistent => {
                let mut tx = self
                    .pool
                    .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                    .await
                    .map_err(backend)?;
                let out = op(&mut tx).await?;
                tx.commit().await.map_err(backend)?;
                Ok(out)
            }
        }
    }
}

fn bind<'q>(sql: &'static str, args: &[Value<'q>]) -> Query<'q, Postgres, PgArguments> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match *a {
            Value::Int(v) => q.bind(v),
            Value::Bool(v) => q.bind(v),
            Value::Text(v) => q.bind(v),
            Value::Bytes(v) => q.bind(v),
            Value::Uuid(v) => q.bind(v),
        };
    }
    q
}

struct PgRowRef<'a>(&'a PgRow);

impl PgRowRef<'_> {
    fn get<'r, T>(&'r self, i: usize) -> Result<T>
    where
        T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        self.0.try_get(i).map_err(backend)
    }
}

impl Row for PgRowRef<'_> {
    /// BIGINT, or INTEGER and SMALLINT widened: both stores answer `i64`.
    fn int(&self, i: usize) -> Result<Option<i64>> {
        let ty = self.0.try_column(i).map_err(backend)?.type_info().name();
        match ty {
            "INT4" => Ok(self.get::<Option<i32>>(i)?.map(i64::from)),
            "INT2" => Ok(self.get::<Option<i16>>(i)?.map(i64::from)),
            _ => self.get(i),
        }
    }

    fn bool(&self, i: usize) -> Result<Option<bool>> {
        self.get(i)
    }

    fn text(&self, i: usize) -> Result<Option<String>> {
        self.get(i)
    }

    fn bytes(&self, i: usize) -> Result<Option<Vec<u8>>> {
        self.get(i)
    }

    fn uuid(&self, i: usize) -> Result<Option<Uuid>> {
        self.get(i)
    }
}

impl Exec for PgConnection {
    const DIALECT: Dialect = Dialect::Postgres;

    async fn execute(&mut self, sql: &'static str, args: &[Value<'_>]) -> Result<u64, DbError> {
        bind(sql, args)
            .execute(&mut *self)
            .await
            .map(|r| r.rows_affected())
            .map_err(|e| db_error(&e))
    }

    async fn query<T: Send>(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
        mut f: impl FnMut(&dyn Row) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        let rows = bind(sql, args)
            .fetch_all(&mut *self)
            .await
            .map_err(backend)?;
        rows.iter().map(|r| f(&PgRowRef(r))).collect()
    }

    async fn query_opt<T: Send>(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
        f: impl FnOnce(&dyn Row) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        let row = bind(sql, args)
            .fetch_optional(&mut *self)
            .await
            .map_err(backend)?;
        row.as_ref().map(|r| f(&PgRowRef(r))).transpose()
    }

    async fn lock(&mut self, sql: &'static str, args: &[Value<'_>]) -> Result<()> {
        bind(sql, args)
            .fetch_all(&mut *self)
            .await
            .map(drop)
            .map_err(backend)
    }
}
