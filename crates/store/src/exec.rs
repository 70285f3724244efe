//! How a statement runs, the one seam between the operations and the two backends.
//!
//! Every store operation is written once, as an `async` block over [`Exec`] (run a statement,
//! read rows, lock rows), and reaches a connection through [`Backend`] (a point read, a scan, a
//! write). The backends implement only these two traits: `sqlite` over rusqlite, `postgres`
//! over sqlx. Parameters are [`Value`]s, rows are read through [`Row`], so an operation never
//! names a driver type.
//!
//! rusqlite is synchronous and sqlx asynchronous. SQLite's [`Exec`] never suspends, so the
//! SQLite backend polls an operation's future once, on the thread it runs on — a blocking-pool
//! thread for scans and writes, the calling thread for point reads (see `sqlite.rs`) — and an
//! operation that did suspend there is a bug reported as a backend error, never a blocked
//! worker. This is garage's `db` crate idea (one transaction trait, the logic over it once),
//! with an `async` interface so PostgreSQL runs it natively.

use crate::{Result, StoreError};
use std::future::Future;
use std::pin::Pin;
use strongroom_domain::{
    ClientId, CollectionId, FamilyId, FileId, GroupId, JobId, JobKind, LoginEventId, NoticeId,
    RecordId, SessionId, SupportRequestId, TenantId, Timestamp, TombstoneReason, UserId,
    from_millis, to_millis,
};
use uuid::Uuid;

/// Which SQL words a statement may need: the few places the backends' SQL differs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// The statement written for this dialect.
    pub fn pick(self, sqlite: &'static str, postgres: &'static str) -> &'static str {
        match self {
            Self::Sqlite => sqlite,
            Self::Postgres => postgres,
        }
    }
}

/// A value bound to a placeholder; `None` is a NULL of the variant's type (PostgreSQL wants
/// the type of a NULL).
#[derive(Clone, Copy)]
pub enum Value<'a> {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<&'a str>),
    Bytes(Option<&'a [u8]>),
    Uuid(Option<Uuid>),
}

macro_rules! value_from {
    ($($t:ty => $variant:ident($conv:expr)),* $(,)?) => {$(
        impl<'a> From<$t> for Value<'a> {
            fn from(v: $t) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Value::$variant(Some(($conv)(v)))
            }
        }
        impl<'a> From<Option<$t>> for Value<'a> {
            fn from(v: Option<$t>) -> Self {
                #[allow(clippy::redundant_closure_call)]
                Value::$variant(v.map($conv))
            }
        }
    )*};
}

value_from! {
    i64 => Int(|v| v),
    i32 => Int(i64::from),
    u32 => Int(i64::from),
    bool => Bool(|v| v),
    &'a str => Text(|v| v),
    &'a String => Text(String::as_str),
    &'a [u8] => Bytes(|v| v),
    &'a Vec<u8> => Bytes(Vec::as_slice),
    Uuid => Uuid(|v| v),
    Timestamp => Int(to_millis),
    TenantId => Uuid(|v: TenantId| v.0),
    UserId => Uuid(|v: UserId| v.0),
    GroupId => Uuid(|v: GroupId| v.0),
    RecordId => Uuid(|v: RecordId| v.0),
    CollectionId => Uuid(|v: CollectionId| v.0),
    SessionId => Uuid(|v: SessionId| v.0),
    FamilyId => Uuid(|v: FamilyId| v.0),
    FileId => Uuid(|v: FileId| v.0),
    LoginEventId => Uuid(|v: LoginEventId| v.0),
    JobId => Uuid(|v: JobId| v.0),
    NoticeId => Uuid(|v: NoticeId| v.0),
    ClientId => Uuid(|v: ClientId| v.0),
    SupportRequestId => Uuid(|v: SupportRequestId| v.0),
    JobKind => Text(JobKind::as_str),
    TombstoneReason => Text(TombstoneReason::as_str),
}

impl<'a, const N: usize> From<&'a [u8; N]> for Value<'a> {
    fn from(v: &'a [u8; N]) -> Self {
        Value::Bytes(Some(&v[..]))
    }
}

impl<'a> From<&'a Option<String>> for Value<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Value::Text(v.as_deref())
    }
}

impl<'a> From<&'a Option<Vec<u8>>> for Value<'a> {
    fn from(v: &'a Option<Vec<u8>>) -> Self {
        Value::Bytes(v.as_deref())
    }
}

/// The parameters of a statement, in placeholder order: `args![tenant, id, now]`.
#[macro_export]
#[doc(hidden)]
macro_rules! args {
    ($($v:expr),* $(,)?) => { &[$($crate::exec::Value::from($v)),*] };
}
pub use args;

/// One row of an answer, read by column index. The methods answer `None` for NULL.
pub trait Row {
    fn int(&self, i: usize) -> Result<Option<i64>>;
    fn bool(&self, i: usize) -> Result<Option<bool>>;
    fn text(&self, i: usize) -> Result<Option<String>>;
    fn bytes(&self, i: usize) -> Result<Option<Vec<u8>>>;
    fn uuid(&self, i: usize) -> Result<Option<Uuid>>;
}

impl dyn Row + '_ {
    /// Column `i` as `T`; a NULL where `T` is not an `Option` is an unreadable row.
    pub fn get<T: Column>(&self, i: usize) -> Result<T> {
        T::read(self, i)
    }
}

/// A Rust type a column reads into.
pub trait Column: Sized {
    fn read(row: &dyn Row, i: usize) -> Result<Self>;
}

fn null(i: usize) -> StoreError {
    StoreError::Backend(format!("unexpected NULL in column {i}"))
}

macro_rules! column {
    ($($t:ty => $m:ident),* $(,)?) => {$(
        impl Column for Option<$t> {
            fn read(row: &dyn Row, i: usize) -> Result<Self> {
                row.$m(i)
            }
        }
        impl Column for $t {
            fn read(row: &dyn Row, i: usize) -> Result<Self> {
                row.$m(i)?.ok_or_else(|| null(i))
            }
        }
    )*};
}

column! {
    i64 => int,
    bool => bool,
    String => text,
    Vec<u8> => bytes,
    Uuid => uuid,
}

macro_rules! id_column {
    ($($t:ty),* $(,)?) => {$(
        impl Column for $t {
            fn read(row: &dyn Row, i: usize) -> Result<Self> {
                Uuid::read(row, i).map(<$t>::from)
            }
        }
        impl Column for Option<$t> {
            fn read(row: &dyn Row, i: usize) -> Result<Self> {
                Ok(row.uuid(i)?.map(<$t>::from))
            }
        }
    )*};
}

id_column!(
    TenantId,
    UserId,
    GroupId,
    RecordId,
    CollectionId,
    SessionId,
    FamilyId,
    FileId,
    LoginEventId,
    JobId,
    NoticeId,
    ClientId,
    SupportRequestId,
);

impl Column for Timestamp {
    fn read(row: &dyn Row, i: usize) -> Result<Self> {
        i64::read(row, i).map(from_millis)
    }
}

impl Column for Option<Timestamp> {
    fn read(row: &dyn Row, i: usize) -> Result<Self> {
        Ok(row.int(i)?.map(from_millis))
    }
}

macro_rules! unsigned_column {
    ($($t:ty),*) => {$(
        impl Column for $t {
            fn read(row: &dyn Row, i: usize) -> Result<Self> {
                <$t>::try_from(i64::read(row, i)?)
                    .map_err(|_| StoreError::Backend(format!("column {i} is out of range")))
            }
        }
    )*};
}

unsigned_column!(u32, u64);

impl<const N: usize> Column for [u8; N] {
    fn read(row: &dyn Row, i: usize) -> Result<Self> {
        row.bytes(i)?
            .ok_or_else(|| null(i))?
            .try_into()
            .map_err(|_| StoreError::Backend(format!("column {i} is not {N} bytes")))
    }
}

impl<const N: usize> Column for Option<[u8; N]> {
    fn read(row: &dyn Row, i: usize) -> Result<Self> {
        row.bytes(i)?
            .map(|b| {
                b.try_into()
                    .map_err(|_| StoreError::Backend(format!("column {i} is not {N} bytes")))
            })
            .transpose()
    }
}

/// What a column holds, for reading and writing whole tables (backups) without knowing them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Int,
    Bool,
    Text,
    Bytes,
    Uuid,
}

/// Which part of a backup a table belongs to: the data, or the keys (kept apart, so a data
/// snapshot never holds a usable subject key).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Part {
    Data,
    Keys,
}

/// One table as a backup sees it (`sql::BACKUP_TABLES`).
#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub part: Part,
    pub columns: &'static [(&'static str, Kind)],
}

/// One stored value, owned and typed, the same whichever store it came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Cell {
    Int(Option<i64>),
    Bool(Option<bool>),
    Text(Option<String>),
    Bytes(Option<Vec<u8>>),
    Uuid(Option<Uuid>),
}

impl Cell {
    /// Reads column `i` of `row` as `kind`.
    pub fn read(row: &dyn Row, i: usize, kind: Kind) -> Result<Self> {
        Ok(match kind {
            Kind::Int => Cell::Int(row.int(i)?),
            Kind::Bool => Cell::Bool(row.bool(i)?),
            Kind::Text => Cell::Text(row.text(i)?),
            Kind::Bytes => Cell::Bytes(row.bytes(i)?),
            Kind::Uuid => Cell::Uuid(row.uuid(i)?),
        })
    }

    pub fn kind(&self) -> Kind {
        match self {
            Cell::Int(_) => Kind::Int,
            Cell::Bool(_) => Kind::Bool,
            Cell::Text(_) => Kind::Text,
            Cell::Bytes(_) => Kind::Bytes,
            Cell::Uuid(_) => Kind::Uuid,
        }
    }

    pub fn value(&self) -> Value<'_> {
        match self {
            Cell::Int(v) => Value::Int(*v),
            Cell::Bool(v) => Value::Bool(*v),
            Cell::Text(v) => Value::Text(v.as_deref()),
            Cell::Bytes(v) => Value::Bytes(v.as_deref()),
            Cell::Uuid(v) => Value::Uuid(*v),
        }
    }
}

/// Why a statement failed, as far as an operation cares.
#[derive(Debug)]
pub enum DbError {
    /// A unique or primary-key constraint.
    Unique,
    /// A foreign-key constraint: a referenced row is missing.
    ForeignKey,
    Other(String),
}

impl From<DbError> for StoreError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unique => StoreError::Backend("unique constraint failed".to_owned()),
            DbError::ForeignKey => StoreError::Backend("foreign key constraint failed".to_owned()),
            DbError::Other(s) => StoreError::Backend(s),
        }
    }
}

/// Names a constraint failure in the caller's vocabulary (`Conflict("user")`, `NotFound("group")`).
pub fn named(what: &'static str) -> impl Fn(DbError) -> StoreError {
    move |e| match e {
        DbError::Unique => StoreError::Conflict(what),
        DbError::ForeignKey => StoreError::NotFound(what),
        DbError::Other(s) => StoreError::Backend(s),
    }
}

/// Runs statements on one connection (inside a transaction where the [`Backend`] opened one).
pub trait Exec: Send {
    const DIALECT: Dialect;

    /// Runs a statement; the number of rows it changed.
    fn execute(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
    ) -> impl Future<Output = Result<u64, DbError>> + Send;

    /// Every row of an answer, each read by `f`.
    fn query<T: Send>(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
        f: impl FnMut(&dyn Row) -> Result<T> + Send,
    ) -> impl Future<Output = Result<Vec<T>>> + Send;

    /// The first row of an answer, if there is one.
    fn query_opt<T: Send>(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
        f: impl FnOnce(&dyn Row) -> Result<T> + Send,
    ) -> impl Future<Output = Result<Option<T>>> + Send;

    /// Takes row locks for the rest of the transaction (`SELECT … FOR UPDATE` or `FOR SHARE`
    /// on PostgreSQL). SQLite's write transaction is exclusive already: nothing to do there.
    fn lock(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
    ) -> impl Future<Output = Result<()>> + Send;

    /// The one row of an answer; none is a backend error.
    fn query_one<T: Send>(
        &mut self,
        sql: &'static str,
        args: &[Value<'_>],
        f: impl FnOnce(&dyn Row) -> Result<T> + Send,
    ) -> impl Future<Output = Result<T>> + Send {
        async move {
            self.query_opt(sql, args, f)
                .await?
                .ok_or_else(|| StoreError::Backend("a statement returned no row".to_owned()))
        }
    }
}

/// An operation over a connection: what the closures handed to a [`Backend`] return.
pub type Op<'c, T> = Pin<Box<dyn Future<Output = Result<T>> + Send + 'c>>;

/// How an operation reaches a connection.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    /// A read of many statements at one point in time, however long it takes (a backup):
    /// SQLite, one read transaction on a reader; PostgreSQL, `REPEATABLE READ READ ONLY`.
    Consistent,
    /// A read by primary key or unique index: the hot path of every request.
    Point,
    /// A point read of several statements at one snapshot (one read transaction).
    Snapshot,
    /// A read that may scan many rows.
    Scan,
    /// A change in one transaction: all of it commits, or (on an error) none of it.
    Write,
    /// A change of one statement, atomic by itself (PostgreSQL skips the transaction).
    WriteOne,
}

/// Where an operation runs. Every store trait is implemented once for every `Backend`
/// (in the capability folders), so a backend is a way to reach a connection and nothing more:
/// it implements [`Backend::run`]; the others name the [`Access`].
pub trait Backend: Send + Sync + 'static {
    type Conn: Exec;

    fn run<T, F>(&self, access: Access, op: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Op<'c, T> + Send + 'static;

    fn consistent<T, F>(&self, op: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Op<'c, T> + Send + 'static,
    {
        self.run(Access::Consistent, op)
    }

    fn point<T, F>(&self, op: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Op<'c, T> + Send + 'static,
    {
        self.run(Access::Point, op)
    }

    fn snapshot<T, F>(&self, op: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Op<'c, T> + Send + 'static,
    {
        self.run(Access::Snapshot, op)
    }

    fn scan<T, F>(&self, op: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Op<'c, T> + Send + 'static,
    {
        self.run(Access::Scan, op)
    }

    fn write<T, F>(&self, op: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Op<'c, T> + Send + 'static,
    {
        self.run(Access::Write, op)
    }

    fn write_one<T, F>(&self, op: F) -> impl Future<Output = Result<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> Op<'c, T> + Send + 'static,
    {
        self.run(Access::WriteOne, op)
    }
}
