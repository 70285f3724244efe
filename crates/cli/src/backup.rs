//! `strongroom backup run|list` and `strongroom restore`: the operator's side of
//! `strongroom_core::backup` — which target, which store, which key file.

use crate::config::Config;
use anyhow::Context as _;
use strongroom_blobs::Blobs;
use strongroom_core::backup::Outcome;
use strongroom_crypto::backup::BackupKeys;

/// A refusal that changed nothing (a restore into a place that holds data): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn target(config: &Config, url: Option<&str>) -> anyhow::Result<Blobs> {
    let url = url
        .map(str::to_owned)
        .or_else(|| config.backup.target.clone())
        .context(
            "no backup target: give --to / --from, or set backup.target (STRONGROOM_BACKUP_TARGET)",
        )?;
    open_target(config, &url)
}

/// A backup target, with `backup.s3_*` (else `blobs.s3_*`) for `s3://`.
pub fn open_target(config: &Config, url: &str) -> anyhow::Result<Blobs> {
    let s3 = config.backup_s3_settings().map_err(anyhow::Error::msg)?;
    Blobs::open(url, &s3).map_err(|e| anyhow::anyhow!("cannot open the backup target: {e}"))
}

fn backup_keys(config: &Config) -> anyhow::Result<BackupKeys> {
    keys_of(&crate::keys::load_existing(config)?)
}

fn keys_of(file: &strongroom_crypto::KeyFile) -> anyhow::Result<BackupKeys> {
    let key = file
        .backup
        .as_ref()
        .context("the key file has no backup key (start the server once to add one)")?;
    Ok(BackupKeys::derive(key))
}

fn blobs(config: &Config) -> anyhow::Result<Blobs> {
    let s3 = config.s3_settings().map_err(anyhow::Error::msg)?;
    Blobs::open(&config.blob_url(), &s3)
        .map_err(|e| anyhow::anyhow!("cannot open the blob store: {e}"))
}

/// Progress on stderr, and only on a terminal (`\r`, one line rewritten).
struct Terminal {
    on: bool,
}

impl Terminal {
    fn new() -> Self {
        use std::io::IsTerminal as _;
        Self {
            on: std::io::stderr().is_terminal(),
        }
    }

    fn show(&self, msg: &str) {
        if self.on {
            eprint!("\r\x1b[K{msg}");
        }
    }

    fn done(&self) {
        if self.on {
            eprintln!();
        }
    }
}

/// The live store, to record a backup step in; not created where there is none (a verify
/// on another machine than the installation's).
async fn live_store(config: &Config) -> Option<std::sync::Arc<dyn strongroom_store::Store>> {
    let url = config.database_url();
    if let Some(path) = url.strip_prefix("sqlite://")
        && !std::path::Path::new(path).exists()
    {
        return None;
    }
    match strongroom_store::open(&url).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::warn!(error = %e, "the live store is not reachable: this step is not recorded");
            None
        }
    }
}

/// Records a step (see `strongroom_core::backup::record`); a failure to record is a warning.
async fn record(store: Option<&dyn strongroom_store::Store>, o: &Outcome<'_>) {
    if let Some(store) = store
        && let Err(e) = strongroom_core::backup::record(store, o).await
    {
        tracing::warn!(error = %e, "recording a backup step");
    }
}

fn outcome<'a, T>(
    kind: &'static str,
    at: time::OffsetDateTime,
    started: std::time::Instant,
    result: &'a Result<T, strongroom_core::CoreError>,
    problem: &'a str,
) -> Outcome<'a> {
    Outcome {
        kind,
        at,
        snapshot: None,
        bytes: 0,
        seconds: started.elapsed().as_secs_f64(),
        problem: result.is_err().then_some(problem),
    }
}

/// `backup run`: the JSON summary.
pub async fn run(config: &Config, to: Option<&str>, tags: Vec<String>) -> anyhow::Result<String> {
    let keys = backup_keys(config)?;
    let target = target(config, to)?;
    let store = strongroom_store::open(&config.database_url())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let now = time::OffsetDateTime::now_utc();
    let started = std::time::Instant::now();
    let term = Terminal::new();
    let done = strongroom_core::backup::run(
        &*store,
        &blobs(config)?,
        &keys,
        &target,
        now,
        tags,
        &|m: &str| term.show(m),
    )
    .await;
    term.done();
    let problem = done
        .as_ref()
        .err()
        .map(ToString::to_string)
        .unwrap_or_default();
    let mut o = outcome("backup", now, started, &done, &problem);
    if let Ok(s) = &done {
        o.snapshot = Some(&s.snapshot);
        o.bytes = s.bytes_new;
    }
    record(Some(&*store), &o).await;
    let summary = done.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_json::to_string(&summary)?)
}

/// `backup list`: the snapshots, newest first, as JSON.
pub async fn list(config: &Config, to: Option<&str>) -> anyhow::Result<String> {
    let keys = backup_keys(config)?;
    let list = strongroom_core::backup::list(&keys, &target(config, to)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_json::to_string(&list)?)
}

/// What a data folder may hold before a restore: the key file, the development passphrase,
/// and empty folders; the first other entry, if any.
fn unexpected_entry(dir: &std::path::Path, key_file: &std::path::Path) -> Option<String> {
    let entries = std::fs::read_dir(dir).ok()?;
    for e in entries.flatten() {
        let path = e.path();
        let empty_dir =
            path.is_dir() && std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none());
        if path != key_file && e.file_name() != "dev-passphrase" && !empty_dir {
            return Some(e.file_name().to_string_lossy().into_owned());
        }
    }
    None
}

/// `restore`: into the data folder's store (or `database_url`) and blob store, only if both
/// are empty — and, for the data folder's SQLite file, only into a data folder that holds at
/// most the key file.
pub async fn restore(
    config: &Config,
    from: Option<&str>,
    snapshot: Option<&str>,
    database_url: Option<&str>,
) -> anyhow::Result<String> {
    let keys = backup_keys(config)?;
    let target = target(config, from)?;
    let url = database_url.map_or_else(|| config.database_url(), str::to_owned);
    let sqlite = url.strip_prefix("sqlite://").map(std::path::PathBuf::from);
    if let Some(db) = &sqlite {
        if db.starts_with(&config.data_dir)
            && let Some(entry) = unexpected_entry(&config.data_dir, &config.key_file())
        {
            return Err(Refused(format!(
                "the data folder {} holds {entry}: a restore writes only into an empty place, a data folder that holds at most the key file",
                config.data_dir.display()
            ))
            .into());
        }
        if db.exists() {
            return Err(Refused(format!(
                "{} exists: a restore never writes into a store",
                db.display()
            ))
            .into());
        }
        if let Some(dir) = db.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
    }
    let store = strongroom_store::open(&url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let snapshot = snapshot.filter(|s| *s != "latest");
    let term = Terminal::new();
    let now = time::OffsetDateTime::now_utc();
    let done = strongroom_core::backup::restore(
        &keys,
        &target,
        snapshot,
        &*store,
        &blobs(config)?,
        &|m: &str| term.show(m),
    )
    .await;
    term.done();
    let mut summary = match done {
        Ok(s) => s,
        Err(e) => {
            drop(store);
            // The store file this restore created goes again: the place is as it was.
            if let Some(db) = &sqlite {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
                }
            }
            return Err(match e {
                strongroom_core::CoreError::Conflict(why) => anyhow::Error::new(Refused(why)),
                other => anyhow::anyhow!("{other}"),
            });
        }
    };
    drop(store);
    // Before anyone is served: everyone forgotten since the snapshot is forgotten again.
    let restored = Config {
        database_url: Some(url),
        ..config.clone()
    };
    let services =
        crate::startup::services(&restored, std::sync::Arc::new(strongroom_core::SystemClock))
            .await?;
    services
        .reapply_erasures(&mut summary)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    record(
        Some(&*services.store),
        &Outcome {
            kind: "restore",
            at: now,
            snapshot: Some(&summary.snapshot),
            bytes: 0,
            seconds: summary.seconds,
            problem: None,
        },
    )
    .await;
    Ok(serde_json::to_string(&summary)?)
}

/// `backup verify`: the JSON summary, and whether the snapshot holds (exit 1 if not).
pub async fn verify(
    config: &Config,
    to: Option<&str>,
    snapshot: Option<&str>,
    read_data: bool,
) -> anyhow::Result<(String, bool)> {
    let file = crate::keys::load_existing(config)?;
    let keys = keys_of(&file)?;
    let public = file
        .audit_signing
        .as_ref()
        .map(strongroom_crypto::sign::public_key)
        .transpose()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let target = target(config, to)?;
    // The drill restores into a scratch SQLite store, whatever the live store is.
    let scratch_dir = tempfile::tempdir().context("cannot create a scratch folder")?;
    let scratch = if read_data {
        let url = format!(
            "sqlite://{}",
            scratch_dir.path().join("scratch.db").display()
        );
        Some(
            strongroom_store::open(&url)
                .await
                .map_err(|e| anyhow::anyhow!("cannot open the scratch store: {e}"))?,
        )
    } else {
        None
    };
    let snapshot = snapshot.filter(|s| *s != "latest");
    let now = time::OffsetDateTime::now_utc();
    let done = strongroom_core::backup::verify(
        &keys,
        &target,
        snapshot,
        scratch.as_deref(),
        public.as_deref(),
    )
    .await;
    let problem = match &done {
        Ok(s) => s.problem.clone(),
        Err(e) => Some(e.to_string()),
    };
    let live = live_store(config).await;
    record(
        live.as_deref(),
        &Outcome {
            kind: if read_data { "drill" } else { "verify" },
            at: now,
            snapshot: done.as_ref().ok().map(|s| s.snapshot.as_str()),
            bytes: 0,
            seconds: done.as_ref().map_or(0.0, |s| s.seconds),
            problem: problem.as_deref(),
        },
    )
    .await;
    let summary = done.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok((serde_json::to_string(&summary)?, summary.ok))
}

/// `backup prune`: the JSON summary.
pub async fn prune(
    config: &Config,
    to: Option<&str>,
    keep: &strongroom_core::backup::Keep,
    dry_run: bool,
) -> anyhow::Result<String> {
    let keys = backup_keys(config)?;
    let now = time::OffsetDateTime::now_utc();
    let started = std::time::Instant::now();
    let done = strongroom_core::backup::prune(&keys, &target(config, to)?, keep, dry_run).await;
    if !dry_run {
        let problem = done
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default();
        let live = live_store(config).await;
        record(
            live.as_deref(),
            &outcome("prune", now, started, &done, &problem),
        )
        .await;
    }
    let summary = done.map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_json::to_string(&summary)?)
}
