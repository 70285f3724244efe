//! The store's side of backups: every table read at one point in time into a dump that means
//! the same whichever store wrote it, and a dump loaded into an empty store of either kind —
//! the way a SQLite installation moves to PostgreSQL. What a dump holds is
//! `sql::BACKUP_TABLES`; the tables of [`Part::Keys`] (wrapped tenant and subject keys) are
//! kept apart so the backup can store them as the key snapshot, never in a data snapshot.

use crate::exec::{Access, Backend, Cell, Exec, Part, args};
use crate::{BackupRun, Result, StoreError, rows, sql};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// How many migrations the schema has had (both backends run the same number, checked by a
/// test): a dump can be loaded only into a store of the same version.
pub const SCHEMA_VERSION: u32 = 17;

/// One table's rows, each a cell per column of its `TableSpec`, in its order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableDump {
    pub table: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Every table of the store at one point in time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dump {
    pub schema_version: u32,
    pub tables: Vec<TableDump>,
}

impl Dump {
    /// The tables of one part (data or keys), in restore order.
    pub fn part(&self, part: Part) -> impl Iterator<Item = &TableDump> {
        self.tables.iter().filter(move |t| {
            sql::BACKUP_TABLES
                .iter()
                .any(|s| s.name == t.table && s.part == part)
        })
    }

    /// Rows per table, for a manifest and for checking a restore.
    pub fn counts(&self) -> Vec<(String, u64)> {
        self.tables
            .iter()
            .map(|t| (t.table.clone(), t.rows.len() as u64))
            .collect()
    }
}

#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Every table, read in one transaction at one point in time (changes committed meanwhile
    /// are not in it, and nothing waits for it).
    async fn dump(&self) -> Result<Dump>;
    /// Whether the store holds no row at all (the only place a restore may write).
    async fn is_empty(&self) -> Result<bool>;
    /// Loads a dump into an empty store, every table in one transaction: all of it, or (on
    /// any error, a non-empty store included) nothing.
    async fn load(&self, dump: &Dump) -> Result<()>;

    /// Records a backup, drill, verify, prune or restore (whichever process ran it).
    async fn record_backup_run(&self, run: &BackupRun) -> Result<()>;
    /// The newest run of `kind` that succeeded (`ok`) or failed.
    async fn last_backup_run(&self, kind: &str, ok: bool) -> Result<Option<BackupRun>>;
    /// How many runs there were, per kind and outcome.
    async fn count_backup_runs(&self) -> Result<Vec<(String, bool, u64)>>;
}

#[async_trait]
impl<B: Backend> BackupStore for B {
    async fn dump(&self) -> Result<Dump> {
        self.consistent(|c| {
            Box::pin(async move {
                let mut tables = Vec::with_capacity(sql::BACKUP_TABLES.len());
                for (spec, st) in sql::BACKUP_TABLES.iter().zip(sql::BACKUP_STATEMENTS.iter()) {
                    let rows = c
                        .query(st.select.as_str(), &[], |r| {
                            spec.columns
                                .iter()
                                .enumerate()
                                .map(|(i, (_, kind))| Cell::read(r, i, *kind))
                                .collect::<Result<Vec<_>>>()
                        })
                        .await?;
                    tables.push(TableDump {
                        table: spec.name.to_owned(),
                        columns: spec.columns.iter().map(|(c, _)| (*c).to_owned()).collect(),
                        rows,
                    });
                }
                Ok(Dump {
                    schema_version: SCHEMA_VERSION,
                    tables,
                })
            })
        })
        .await
    }

    async fn is_empty(&self) -> Result<bool> {
        self.consistent(|c| Box::pin(async move { empty(c).await }))
            .await
    }

    async fn load(&self, dump: &Dump) -> Result<()> {
        check(dump)?;
        let dump = dump.clone();
        self.write(move |c| {
            Box::pin(async move {
                if !empty(c).await? {
                    return Err(StoreError::Conflict("data in the store"));
                }
                for (spec, st) in sql::BACKUP_TABLES.iter().zip(sql::BACKUP_STATEMENTS.iter()) {
                    let Some(t) = dump.tables.iter().find(|t| t.table == spec.name) else {
                        continue;
                    };
                    for row in &t.rows {
                        let args: Vec<_> = row.iter().map(Cell::value).collect();
                        c.execute(st.insert.as_str(), &args).await?;
                    }
                }
                Ok(())
            })
        })
        .await
    }

    async fn record_backup_run(&self, run: &BackupRun) -> Result<()> {
        let r = run.clone();
        self.write_one(move |c| {
            Box::pin(async move {
                let bytes = i64::try_from(r.bytes).unwrap_or(i64::MAX);
                let millis = i64::try_from(r.millis).unwrap_or(i64::MAX);
                c.execute(
                    sql::INSERT_BACKUP_RUN,
                    args![
                        r.id,
                        r.kind.as_str(),
                        r.at,
                        &r.snapshot,
                        bytes,
                        millis,
                        r.ok,
                        &r.detail
                    ],
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    async fn last_backup_run(&self, kind: &str, ok: bool) -> Result<Option<BackupRun>> {
        let kind = kind.to_owned();
        self.run(Access::Point, move |c| {
            Box::pin(async move {
                c.query_opt(
                    sql::LAST_BACKUP_RUN,
                    args![kind.as_str(), ok],
                    rows::backup_run,
                )
                .await
            })
        })
        .await
    }

    async fn count_backup_runs(&self) -> Result<Vec<(String, bool, u64)>> {
        self.run(Access::Scan, move |c| {
            Box::pin(async move {
                c.query(sql::COUNT_BACKUP_RUNS, &[], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .await
            })
        })
        .await
    }
}

async fn empty<E: Exec>(c: &mut E) -> Result<bool> {
    for st in sql::BACKUP_STATEMENTS.iter() {
        if c.query_opt(st.any.as_str(), &[], |_| Ok(()))
            .await?
            .is_some()
        {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A dump of this schema version, every table known, every row of the right columns and
/// kinds: checked before anything is written.
fn check(dump: &Dump) -> Result<()> {
    let bad = |what: String| Err(StoreError::Backend(format!("not a loadable dump: {what}")));
    if dump.schema_version != SCHEMA_VERSION {
        return bad(format!(
            "schema version {} (this store: {SCHEMA_VERSION})",
            dump.schema_version
        ));
    }
    for t in &dump.tables {
        let Some(spec) = sql::BACKUP_TABLES.iter().find(|s| s.name == t.table) else {
            return bad(format!("unknown table {}", t.table));
        };
        let names: Vec<&str> = spec.columns.iter().map(|(c, _)| *c).collect();
        if t.columns != names {
            return bad(format!("the columns of {}", t.table));
        }
        for row in &t.rows {
            if row.len() != names.len()
                || row
                    .iter()
                    .zip(spec.columns)
                    .any(|(cell, (_, kind))| cell.kind() != *kind)
            {
                return bad(format!("a row of {}", t.table));
            }
        }
    }
    Ok(())
}
