//! The embedded backend: one SQLite file in WAL mode, through rusqlite.
//!
//! rusqlite rather than sqlx here: sqlx's SQLite driver funnels every statement through a
//! worker thread and managed ≈ 13k primary-key reads/s where rusqlite does ≈ 380k/s on this
//! hardware. SQLite allows one writer at a time, so there is one writer connection (behind a
//! mutex) and a few read-only connections; WAL lets readers run beside the writer.
//! `synchronous = FULL`: a commit that returned is on disk.
//!
//! The operations are written once over [`Exec`] (`crate::exec`); this file only runs them.
//! rusqlite never suspends, so an operation's future completes on its first poll: scans and
//! writes are polled on tokio's blocking pool, point reads on the calling thread (see
//! [`Backend::point`] below).

use crate::exec::{Access, Backend, DbError, Dialect, Exec, Op, Row, Value};
use crate::{Result, StoreError};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ToSql};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use uuid::Uuid;

const READERS: usize = 4;

/// Migrations in order; the file's `user_version` says how many have run. Hand-written rather
/// than `rusqlite_migration` because that crate's releases pin newer rusqlite versions than the
/// one that can sit beside sqlx (see Cargo.toml); the logic is ten lines.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/sqlite/0001_foundation.sql"),
    include_str!("../migrations/sqlite/0002_key_hierarchy.sql"),
    include_str!("../migrations/sqlite/0003_sealed_login_ips.sql"),
    include_str!("../migrations/sqlite/0004_privacy_log.sql"),
    include_str!("../migrations/sqlite/0005_privacy_checkpoints.sql"),
    include_str!("../migrations/sqlite/0006_records.sql"),
    include_str!("../migrations/sqlite/0007_export_indexes.sql"),
    include_str!("../migrations/sqlite/0008_jobs.sql"),
    include_str!("../migrations/sqlite/0009_record_index_by_record.sql"),
    include_str!("../migrations/sqlite/0010_deletion_and_holds.sql"),
    include_str!("../migrations/sqlite/0011_administration_in_policies.sql"),
    include_str!("../migrations/sqlite/0012_backup_runs.sql"),
    include_str!("../migrations/sqlite/0013_second_factor.sql"),
    include_str!("../migrations/sqlite/0014_clients_and_required_factor.sql"),
    include_str!("../migrations/sqlite/0015_support_access.sql"),
    include_str!("../migrations/sqlite/0016_registers.sql"),
    include_str!("../migrations/sqlite/0017_oauth_apps.sql"),
];

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<SqliteConn>,
    readers: Vec<Mutex<SqliteConn>>,
    next_reader: AtomicUsize,
}

/// One rusqlite connection, the [`Exec`] of this backend.
pub struct SqliteConn(Connection);

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn db_error(e: &rusqlite::Error) -> DbError {
    match e.sqlite_error() {
        Some(f)
            if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            DbError::Unique
        }
        Some(f) if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
            DbError::ForeignKey
        }
        _ => DbError::Other(e.to_string()),
    }
}

fn configure(conn: &Connection, read_only: bool) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    if read_only {
        conn.pragma_update(None, "query_only", "ON")?;
    }
    Ok(())
}

fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let done: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let done = usize::try_from(done).unwrap_or(0);
    for (i, m) in MIGRATIONS.iter().enumerate().skip(done) {
        let tx = conn.transaction()?;
        tx.execute_batch(m)?;
        tx.pragma_update(
            None,
            "user_version",
            i64::try_from(i + 1).unwrap_or(i64::MAX),
        )?;
        tx.commit()?;
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_owned();
        tokio::task::spawn_blocking(move || -> Result<Self> {
            let mut writer = Connection::open(&path).map_err(backend)?;
            writer
                .pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
            configure(&writer, false).map_err(backend)?;
            migrate(&mut writer).map_err(backend)?;
            let readers = (0..READERS)
                .map(|_| {
                    let c = Connection::open(&path)?;
                    configure(&c, true)?;
                    Ok(Mutex::new(SqliteConn(c)))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
                .map_err(backend)?;
            Ok(Self {
                inner: Arc::new(Inner {
                    writer: Mutex::new(SqliteConn(writer)),
                    readers,
                    next_reader: AtomicUsize::new(0),
                }),
            })
        })
        .await
        .map_err(backend)?
    }

    /// Runs `op` on a free reader connection on the blocking pool.
    async fn on_reader<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Op<'c, T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let i = inner.next_reader.fetch_add(1, Ordering::Relaxed) % inner.readers.len();
            let mut conn = inner
                .readers
                .get(i)
                .ok_or_else(|| backend("no reader"))?
                .lock()
                .map_err(backend)?;
            complete(op(&mut conn))
        })
        .await
        .map_err(backend)?
    }

    /// Runs `op` in one write transaction on the blocking pool; an error rolls it all back.
    async fn on_writer<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Op<'c, T> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().map_err(backend)?;
            // IMMEDIATE: the write lock is taken at BEGIN, so a transaction that reads before
            // it writes never fails to upgrade (SQLITE_BUSY without waiting) when another
            // process, or a second store on the same file, writes meanwhile.
            conn.within("BEGIN IMMEDIATE", op)
        })
        .await
        .map_err(backend)?
    }
}

/// Polls an operation's future to its end. SQLite's [`Exec`] never suspends, so the first
/// poll finishes it; an operation that did suspend is a bug, reported rather than waited for.
fn complete<T>(mut op: Op<'_, T>) -> Result<T> {
    match op.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => Err(backend("a SQLite operation suspended")),
    }
}

impl SqliteConn {
    fn run(&self, sql: &'static str) -> rusqlite::Result<()> {
        self.0.prepare_cached(sql)?.execute([]).map(drop)
    }

    /// Runs `op` between `begin` and `COMMIT` (`ROLLBACK` on an error), statements from the
    /// cache (not re-parsed each time, as `Connection::transaction` would): the transaction
    /// always ends, so a connection never keeps an old snapshot or a lock.
    fn within<T, F>(&mut self, begin: &'static str, op: F) -> Result<T>
    where
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Op<'c, T>,
    {
        self.run(begin).map_err(backend)?;
        let out = complete(op(self));
        let end = if out.is_ok() { "COMMIT" } else { "ROLLBACK" };
        match self.run(end) {
            Ok(()) => out,
            Err(e) => {
                if out.is_ok() {
                    // A failed COMMIT leaves the transaction open: end it.
                    let _ = self.run("ROLLBACK");
                }
                Err(backend(e))
            }
        }
    }
}

impl SqliteStore {
    /// On the calling thread: the hot path of every request (token, caller, record) is a
    /// handful of such reads, each a few microseconds on a warm page cache; handing each to
    /// the blocking pool cost more in thread hand-offs than the read itself (measured:
    /// BENCHMARKS.md, records load). WAL readers never wait for the writer, and only a free
    /// reader connection is taken, so this blocks only for the read.
    async fn point_read<T, F>(&self, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Op<'c, T> + Send + 'static,
    {
        let readers = &self.inner.readers;
        let n = readers.len();
        let start = self.inner.next_reader.fetch_add(1, Ordering::Relaxed);
        for k in 0..n {
            if let Some(Ok(mut conn)) = readers.get((start + k) % n).map(Mutex::try_lock) {
                return complete(op(&mut conn));
            }
        }
        // Every reader is busy (a long scan: an export, a forget): wait for one on the
        // blocking pool, never on this runtime worker, which other requests need meanwhile.
        self.on_reader(op).await
    }
}

impl Backend for SqliteStore {
    type Conn = SqliteConn;

    async fn run<T, F>(&self, access: Access, op: F) -> Result<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConn) -> Op<'c, T> + Send + 'static,
    {
        match access {
            Access::Point => self.point_read(op).await,
            Access::Snapshot => {
                self.point_read(move |c| {
                    let out = c.within("BEGIN", op);
                    Box::pin(std::future::ready(out))
                })
                .await
            }
            Access::Scan => self.on_reader(op).await,
            Access::Consistent => {
                self.on_reader(move |c| {
                    let out = c.within("BEGIN", op);
                    Box::pin(std::future::ready(out))
                })
                .await
            }
            // One writer: a single statement gains nothing by skipping the transaction.
            Access::Write | Access::WriteOne => self.on_writer(op).await,
        }
    }
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        let v = match *self {
            Value::Int(v) => v.map(ValueRef::Integer),
            Value::Bool(v) => v.map(|b| ValueRef::Integer(i64::from(b))),
            Value::Text(v) => v.map(|s| ValueRef::Text(s.as_bytes())),
            Value::Bytes(v) => v.map(ValueRef::Blob),
            Value::Uuid(ref v) => v.as_ref().map(|u| ValueRef::Blob(u.as_bytes())),
        };
        Ok(ToSqlOutput::Borrowed(v.unwrap_or(ValueRef::Null)))
    }
}

struct SqliteRow<'a, 'stmt>(&'a rusqlite::Row<'stmt>);

impl SqliteRow<'_, '_> {
    fn cell(&self, i: usize) -> Result<ValueRef<'_>> {
        self.0.get_ref(i).map_err(backend)
    }
}

fn wrong_type(i: usize, want: &str) -> StoreError {
    StoreError::Backend(format!("column {i} is not {want}"))
}

impl Row for SqliteRow<'_, '_> {
    fn int(&self, i: usize) -> Result<Option<i64>> {
        match self.cell(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            _ => Err(wrong_type(i, "an integer")),
        }
    }

    fn bool(&self, i: usize) -> Result<Option<bool>> {
        Ok(self.int(i)?.map(|v| v != 0))
    }

    fn text(&self, i: usize) -> Result<Option<String>> {
        match self.cell(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => String::from_utf8(t.to_vec())
                .map(Some)
                .map_err(|_| wrong_type(i, "UTF-8 text")),
            _ => Err(wrong_type(i, "text")),
        }
    }

    fn bytes(&self, i: usize) -> Result<Option<Vec<u8>>> {
        match self.cell(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(b) => Ok(Some(b.to_vec())),
            _ => Err(wrong_type(i, "a blob")),
        }
    }

    fn uuid(&self, i: usize) -> Result<Option<Uuid>> {
        match self.cell(i)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(b) => Uuid::from_slice(b)
                .map(Some)
                .map_err(|_| wrong_type(i, "a UUID")),
            _ => Err(wrong_type(i, "a UUID")),
        }
    }
}

impl SqliteConn {
    fn rows<T>(
        &self,
        sql: &'static str,
        args: &[Value<'_>],
        mut f: impl FnMut(&dyn Row) -> Result<T>,
        limit: usize,
    ) -> Result<Vec<T>> {
        let mut st = self.0.prepare_cached(sql).map_err(backend)?;
        let mut rows = st
            .query(rusqlite::params_from_iter(args))
            .map_err(backend)?;
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(r) = rows.next().map_err(backend)? else {
                break;
            };
            out.push(f(&SqliteRow(r))?);
        }
        Ok(out)
    }
}

impl Exec for SqliteConn {
    const DIALECT: Dialect = Dialect::Sqlite;

    async fn execute(&mut self, sql: &'static str, args: &[Value<'_>]) -> Result<u64, DbError> {
        let mut st = self.0.prepare_cached(sql).map_err(|e| db_error(&e))?;
        let n = st
            .execute(rusqlite::params_from_iter(args))
            .map_err(|e| db_error(&e))?;
        Ok(n as u64)
    }

    async fn query<T: Send>(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
        f: impl FnMut(&dyn Row) -> Result<T> + Send,
    ) -> Result<Vec<T>> {
        self.rows(sql, args, f, usize::MAX)
    }

    async fn query_opt<T: Send>(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
        f: impl FnOnce(&dyn Row) -> Result<T> + Send,
    ) -> Result<Option<T>> {
        let mut f = Some(f);
        let row = self.rows(
            sql,
            args,
            |r| {
                f.take()
                    .ok_or_else(|| backend("read twice"))
                    .and_then(|f| f(r))
            },
            1,
        )?;
        Ok(row.into_iter().next())
    }

    async fn lock(&mut self, _sql: &'static str, _args: &[Value<'_>]) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyStore;
    use std::sync::mpsc;
    use strongroom_domain::TenantId;

    /// Migration 0011 gives the administration permit to a tenant that stored its own
    /// policies before administration was a policy decision, and moves the version on.
    #[tokio::test]
    async fn stored_policies_get_administration_on_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        {
            let mut c = Connection::open(&path).unwrap();
            // The row stands alone: no tenant row is needed to show the upgrade.
            c.pragma_update(None, "foreign_keys", "OFF").unwrap();
            let tx = c.transaction().unwrap();
            for m in MIGRATIONS.iter().take(10) {
                tx.execute_batch(m).unwrap();
            }
            tx.pragma_update(None, "user_version", 10).unwrap();
            tx.execute(
                "INSERT INTO tenant_policies VALUES (?1, 'training', 'permit(principal, action, resource);', 3, ?2, 0)",
                rusqlite::params![Uuid::nil(), Uuid::nil()],
            )
            .unwrap();
            tx.commit().unwrap();
        }
        let store = SqliteStore::open(&path).await.unwrap();
        let row = store
            .policies(TenantId::from(Uuid::nil()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.version, 4);
        assert!(
            row.policies
                .starts_with("permit(principal, action, resource);")
        );
        assert!(
            row.policies
                .contains("@id(\"administration-granted-by-upgrade\")")
        );
    }

    /// With every reader taken by a long scan, a point read waits on the blocking pool and
    /// the runtime worker stays free: on a one-thread runtime, another task runs (and here
    /// frees the readers) while the read waits. A read that blocked the worker would wait
    /// for the scan's own time-out instead, and the other task would run only after it.
    #[tokio::test(flavor = "current_thread")]
    async fn a_point_read_never_blocks_the_runtime_when_every_reader_is_busy() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
        let (release, released) = mpsc::channel::<()>();
        let (taken, all_taken) = mpsc::channel::<()>();
        let inner = store.inner.clone();
        let scan = std::thread::spawn(move || {
            let guards: Vec<_> = inner.readers.iter().map(|r| r.lock().unwrap()).collect();
            taken.send(()).unwrap();
            // Bounded so a broken build fails instead of hanging.
            let freed_by_task = released
                .recv_timeout(std::time::Duration::from_secs(5))
                .is_ok();
            drop(guards);
            freed_by_task
        });
        all_taken.recv().unwrap();
        let other = tokio::spawn(async move {
            release.send(()).unwrap();
        });
        let read = store.point(|c| {
            Box::pin(async move { c.query_one("SELECT 1", &[], |r| r.get::<i64>(0)).await })
        });
        assert_eq!(read.await.unwrap(), 1);
        other.await.unwrap();
        assert!(
            scan.join().unwrap(),
            "the read blocked the runtime: the other task could not run until the scan gave up"
        );
    }

    /// An operation that suspends cannot run on SQLite's synchronous connections: it is
    /// refused with a backend error, and its transaction rolls back.
    #[tokio::test]
    async fn an_operation_that_suspends_is_an_error_not_a_hang() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db")).await.unwrap();
        let out = store
            .write(|c| {
                Box::pin(async move {
                    c.execute("UPDATE tenants SET status = 'suspended'", &[])
                        .await?;
                    tokio::task::yield_now().await;
                    Ok(())
                })
            })
            .await;
        assert!(matches!(out, Err(StoreError::Backend(_))), "{out:?}");
        // The writer is usable again: the failed transaction ended.
        store
            .write(|c| Box::pin(async move { Ok(c.execute("DELETE FROM jobs", &[]).await?) }))
            .await
            .unwrap();
    }
}
