//! `strongroom backup run|list` and `strongroom restore`: the operator's side of
//! `strongroom_core::backup` — which target, which store, which key file.

use crate::config::Config;
use anyhow::Context as _;
use strongroom_blobs::Blobs;
use strongroom_crypto::backup::BackupKeys;

/// A refusal that changed nothing (a restore into a place that holds data): exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn target(config: &Config, url: Option<&str>) -> anyhow::Result<Blobs> {
    let url = url
        .map(str::to_owned)
        .or_else(|| config.backup.target.clone())
        .context("no backup target: give --to / --from, or set backup.target")?;
    let s3 = config.s3_settings().map_err(anyhow::Error::msg)?;
    Blobs::open(&url, &s3).map_err(|e| anyhow::anyhow!("cannot open the backup target: {e}"))
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

/// `backup run`: the JSON summary.
pub async fn run(config: &Config, to: Option<&str>, tags: Vec<String>) -> anyhow::Result<String> {
    let keys = backup_keys(config)?;
    let target = target(config, to)?;
    let store = strongroom_store::open(&config.database_url())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let now = time::OffsetDateTime::now_utc();
    let summary = strongroom_core::backup::run(&*store, &blobs(config)?, &keys, &target, now, tags)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
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

/// `restore`: into the data folder's store (or `database_url`) and blob store, only if both
/// are empty.
pub async fn restore(
    config: &Config,
    from: Option<&str>,
    snapshot: Option<&str>,
    database_url: Option<&str>,
) -> anyhow::Result<String> {
    let keys = backup_keys(config)?;
    let target = target(config, from)?;
    let url = database_url.map_or_else(|| config.database_url(), str::to_owned);
    if let Some(dir) = url
        .strip_prefix("sqlite://")
        .and_then(|p| std::path::Path::new(p).parent())
    {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let store = strongroom_store::open(&url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let snapshot = snapshot.filter(|s| *s != "latest");
    let mut summary =
        strongroom_core::backup::restore(&keys, &target, snapshot, &*store, &blobs(config)?)
            .await
            .map_err(|e| match e {
                strongroom_core::CoreError::Conflict(why) => anyhow::Error::new(Refused(why)),
                other => anyhow::anyhow!("{other}"),
            })?;
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
    let summary = strongroom_core::backup::verify(
        &keys,
        &target,
        snapshot,
        scratch.as_deref(),
        public.as_deref(),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
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
    let summary = strongroom_core::backup::prune(&keys, &target(config, to)?, keep, dry_run)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(serde_json::to_string(&summary)?)
}
