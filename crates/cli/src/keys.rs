//! The key file on disk and its passphrase: where each comes from, development mode, and
//! `strongroom init`.
//!
//! The passphrase comes from `STRONGROOM_PASSPHRASE`, or the file named by
//! `STRONGROOM_PASSPHRASE_FILE`, or a prompt on a terminal. It is never stored in the data
//! folder, except in development mode: with no key file and no passphrase given, `serve`
//! creates a development key file and keeps its passphrase in `<data_dir>/dev-passphrase`,
//! and says so loudly at every start.

use crate::config::Config;
use anyhow::{Context as _, bail};
use secrecy::{ExposeSecret, SecretString};
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use strongroom_crypto::{KeyFile, KeyFileError};

/// Smallest passphrase `init` accepts.
pub const MIN_PASSPHRASE_CHARS: usize = 12;
/// scrypt work factor (log2 N) of development key files: their passphrase lies beside them,
/// so a slow key derivation would protect nothing.
const DEV_WORK_FACTOR: u8 = 10;

enum Source {
    Env,
    File(PathBuf),
    Dev(PathBuf),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Env => "STRONGROOM_PASSPHRASE".into(),
            Source::File(p) => format!("STRONGROOM_PASSPHRASE_FILE ({})", p.display()),
            Source::Dev(p) => format!("the development passphrase file {}", p.display()),
        }
    }
}

fn dev_passphrase_path(config: &Config) -> PathBuf {
    config.data_dir.join("dev-passphrase")
}

fn given_passphrase(config: &Config) -> anyhow::Result<Option<(SecretString, Source)>> {
    if let Ok(p) = std::env::var("STRONGROOM_PASSPHRASE") {
        return Ok(Some((SecretString::from(p), Source::Env)));
    }
    if let Ok(file) = std::env::var("STRONGROOM_PASSPHRASE_FILE") {
        let path = PathBuf::from(file);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!("cannot read STRONGROOM_PASSPHRASE_FILE {}", path.display())
        })?;
        let p = text.trim_end_matches(['\n', '\r']).to_owned();
        return Ok(Some((SecretString::from(p), Source::File(path))));
    }
    let dev = dev_passphrase_path(config);
    if dev.is_file() {
        let p = std::fs::read_to_string(&dev)
            .with_context(|| format!("cannot read {}", dev.display()))?;
        return Ok(Some((
            SecretString::from(p.trim_end().to_owned()),
            Source::Dev(dev),
        )));
    }
    Ok(None)
}

fn prompt(label: &str) -> anyhow::Result<SecretString> {
    rpassword::prompt_password(label)
        .map(SecretString::from)
        .context("cannot read the passphrase from the terminal")
}

/// Writes a secret file readable by its owner only, atomically (temporary file, then rename).
fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("cannot write {}", tmp.display()))?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// Seals a key file under a passphrase and writes it (owner-only, atomically).
fn save(
    path: &Path,
    file: &KeyFile,
    passphrase: &SecretString,
    work_factor: Option<u8>,
) -> anyhow::Result<()> {
    let sealed = file
        .seal(passphrase, work_factor)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    write_private(path, &sealed)
}

fn open(path: &Path, passphrase: &SecretString, source: &Source) -> anyhow::Result<KeyFile> {
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read the key file {}", path.display()))?;
    KeyFile::open(&bytes, passphrase).map_err(|e| match e {
        KeyFileError::WrongPassphrase => {
            anyhow::anyhow!("the passphrase from {} does not open the key file {}", source.describe(), path.display())
        }
        KeyFileError::Damaged(why) => anyhow::anyhow!(
            "the key file {} is damaged or not a Strongroom key file ({why}); restore it from your key backup",
            path.display()
        ),
    })
}

/// Opens the key file for `serve` and the operator commands (creating a development one if
/// nothing is configured).
pub fn load(config: &Config) -> anyhow::Result<KeyFile> {
    let path = config.key_file();
    let given = given_passphrase(config)?;
    match (path.is_file(), given) {
        (true, Some((p, source))) => {
            if let Source::Dev(dev) = &source {
                warn_dev(&path, dev);
            }
            with_added_keys(config, &path, open(&path, &p, &source)?, &p)
        }
        (true, None) if std::io::stdin().is_terminal() => {
            let p = prompt(&format!("Passphrase of {}: ", path.display()))?;
            with_added_keys(config, &path, open(&path, &p, &Source::Env)?, &p)
        }
        (true, None) => bail!(
            "the key file {} needs its passphrase: set STRONGROOM_PASSPHRASE or STRONGROOM_PASSPHRASE_FILE",
            path.display()
        ),
        (false, Some((_, Source::Dev(dev)))) => bail!(
            "{} exists but the key file {} does not: restore the key file, or remove both to start a new development store",
            dev.display(),
            path.display()
        ),
        (false, Some(_)) => bail!(
            "there is no key file at {}: create one with `strongroom init`",
            path.display()
        ),
        (false, None) => create_dev(config, &path),
    }
}

/// Key files written before privacy-log checkpoints (or backups) existed get their audit
/// signing key (or backup key) now.
fn with_added_keys(
    config: &Config,
    path: &Path,
    mut file: KeyFile,
    passphrase: &SecretString,
) -> anyhow::Result<KeyFile> {
    let mut added = Vec::new();
    for (slot, what) in [
        (&mut file.audit_signing, "an audit signing key"),
        (&mut file.backup, "a backup key"),
    ] {
        if slot.is_none() {
            *slot = Some(strongroom_crypto::Key32::generate());
            added.push(what);
        }
    }
    if !added.is_empty() {
        save(path, &file, passphrase, work_factor(config))?;
        for what in added {
            tracing::info!(key_file = %path.display(), "added {what} to the key file");
        }
    }
    Ok(file)
}

/// Opens the existing key file for operator commands (rotation, export, audit), which must
/// never create keys: no key file is an error, not a reason for development mode.
pub fn load_existing(config: &Config) -> anyhow::Result<KeyFile> {
    let path = config.key_file();
    if !path.is_file() {
        bail!(
            "there is no key file at {}: this command needs the key file the server uses",
            path.display()
        );
    }
    load(config)
}

fn warn_dev(key_file: &Path, passphrase_file: &Path) {
    tracing::warn!(
        key_file = %key_file.display(),
        passphrase_file = %passphrase_file.display(),
        "DEVELOPMENT KEY FILE: its passphrase lies beside it in the data folder, so anyone who can read the folder can read all personal data. For production, run `strongroom init` with STRONGROOM_PASSPHRASE and keep the passphrase elsewhere."
    );
}

fn create_dev(config: &Config, path: &Path) -> anyhow::Result<KeyFile> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data_dir {}", config.data_dir.display()))?;
    let passphrase = strongroom_crypto::random_password();
    let dev = dev_passphrase_path(config);
    write_private(&dev, format!("{}\n", passphrase.expose_secret()).as_bytes())?;
    let file = KeyFile::generate();
    save(path, &file, &passphrase, Some(DEV_WORK_FACTOR))?;
    warn_dev(path, &dev);
    Ok(file)
}

/// `strongroom init`: creates the production key file under a passphrase from the
/// environment or typed twice at a terminal. Refuses to overwrite an existing key file.
pub fn init(config: &Config) -> anyhow::Result<PathBuf> {
    let path = config.key_file();
    if path.exists() {
        bail!(
            "{} exists already; Strongroom never overwrites a key file (move it away first if you mean it)",
            path.display()
        );
    }
    let passphrase = match given_passphrase(config)? {
        Some((_, Source::Dev(dev))) => bail!(
            "{} is a development passphrase; give the production one in STRONGROOM_PASSPHRASE",
            dev.display()
        ),
        Some((p, _)) => p,
        None if std::io::stdin().is_terminal() => {
            let a = prompt("New key-file passphrase: ")?;
            let b = prompt("Once more: ")?;
            if a.expose_secret() != b.expose_secret() {
                bail!("the two passphrases differ");
            }
            a
        }
        None => bail!(
            "give the passphrase in STRONGROOM_PASSPHRASE or STRONGROOM_PASSPHRASE_FILE (or run init at a terminal)"
        ),
    };
    if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        bail!("the passphrase must have at least {MIN_PASSPHRASE_CHARS} characters");
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let file = KeyFile::generate();
    save(&path, &file, &passphrase, None)?;
    Ok(path)
}

fn new_passphrase(config: &Config) -> anyhow::Result<SecretString> {
    if dev_passphrase_path(config).is_file() && std::env::var("STRONGROOM_PASSPHRASE").is_err() {
        // A development key file keeps its development passphrase.
        return given_passphrase(config)?
            .map(|(p, _)| p)
            .context("development passphrase unreadable");
    }
    let p = match std::env::var("STRONGROOM_NEW_PASSPHRASE") {
        Ok(p) => SecretString::from(p),
        Err(_) if std::io::stdin().is_terminal() => {
            let a = prompt("New key-file passphrase: ")?;
            let b = prompt("Once more: ")?;
            if a.expose_secret() != b.expose_secret() {
                bail!("the two passphrases differ");
            }
            a
        }
        Err(_) => {
            bail!("give the new passphrase in STRONGROOM_NEW_PASSPHRASE (or run at a terminal)")
        }
    };
    if p.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        bail!("the new passphrase must have at least {MIN_PASSPHRASE_CHARS} characters");
    }
    Ok(p)
}

fn progress(label: &'static str) -> impl FnMut(usize, usize) {
    let mut last = std::time::Instant::now();
    move |done, total| {
        if done == total || last.elapsed() >= std::time::Duration::from_secs(1) {
            last = std::time::Instant::now();
            let _ = writeln!(std::io::stderr(), "{label}: {done}/{total}");
        }
    }
}

/// `keys rotate --root`: a new root key under a new passphrase; every tenant key gets a
/// wrapping under it. Resumable (run it again after an interruption, with the new passphrase).
/// `--finish`, once every server runs with the new key file, removes the old root.
pub async fn rotate_root(config: &Config, finish: bool) -> anyhow::Result<String> {
    let path = config.key_file();
    let mut file = load_existing(config)?;
    let store = strongroom_store::open(&config.database_url())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let passphrase = if file.roots.len() == 1 {
        if finish {
            bail!("no root rotation is under way (the key file holds one root key)");
        }
        // Start: the new root becomes current, the old one stays for unwrapping.
        let new = strongroom_crypto::keyfile::RootKey {
            id: strongroom_crypto::random_bytes::<16>(),
            key: strongroom_crypto::Key32::generate(),
        };
        file.current = new.id;
        file.roots.insert(0, new);
        let passphrase = new_passphrase(config)?;
        save(&path, &file, &passphrase, work_factor(config))?;
        passphrase
    } else {
        given_passphrase(config)?
            .map(|(p, _)| p)
            .context("give the (new) passphrase in STRONGROOM_PASSPHRASE")?
    };
    let keyring = strongroom_core::keys::Keyring::new(file.clone());
    let now = time::OffsetDateTime::now_utc();
    let report = keyring
        .wrap_all_under_current_root(&*store, now, &mut progress("tenants"))
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if !finish {
        return Ok(format!(
            "root key {} is current; {} tenant key wrappings added over {} tenants.\nRestart every server with the new key file and passphrase, then run `strongroom keys rotate --root --finish`.",
            KeyFile::id_hex(&file.current),
            report.rewrapped,
            report.tenants
        ));
    }
    let removed = keyring
        .drop_other_root_wrappings(&*store)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    file.roots.retain(|r| r.id == file.current);
    save(&path, &file, &passphrase, work_factor(config))?;
    Ok(format!(
        "root rotation finished: the old root key is gone from the key file and {removed} wrappings under it were removed"
    ))
}

/// Development key files keep their fast work factor; production ones get age's default.
fn work_factor(config: &Config) -> Option<u8> {
    dev_passphrase_path(config)
        .is_file()
        .then_some(DEV_WORK_FACTOR)
}

/// `keys rotate --tenant S`: a new key-encryption key for the tenant; every subject key is
/// re-wrapped under it (no data rewritten), then the old one is retired. Resumable.
pub async fn rotate_tenant(config: &Config, slug: &str) -> anyhow::Result<String> {
    let slug = strongroom_domain::Slug::parse(slug)
        .map_err(|e| anyhow::anyhow!("--tenant: {}", e.reason))?;
    let file = load_existing(config)?;
    let store = strongroom_store::open(&config.database_url())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let tenant = store
        .tenant_by_slug(&slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_context(|| format!("no tenant {slug}"))?;
    let keyring = strongroom_core::keys::Keyring::new(file);
    let report = keyring
        .rotate_kek(
            &*store,
            tenant.id,
            time::OffsetDateTime::now_utc(),
            &mut progress("subject keys"),
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(format!(
        "tenant {slug}: key-encryption key version {} is current; {} subject keys re-wrapped",
        report.kek_version, report.rewrapped
    ))
}

/// `keys export --out FILE`: the key backup (see `strongroom_core::keys::backup`), encrypted in
/// the age format under `STRONGROOM_KEY_BACKUP_PASSPHRASE` (or one typed at the terminal).
pub async fn export(config: &Config, out: &Path) -> anyhow::Result<String> {
    // The key file must open: a backup of keys nobody can unwrap would be worthless.
    load_existing(config)?;
    if out.exists() {
        bail!(
            "{} exists already; choose a new file for each key backup",
            out.display()
        );
    }
    let passphrase = match std::env::var("STRONGROOM_KEY_BACKUP_PASSPHRASE") {
        Ok(p) => SecretString::from(p),
        Err(_) if std::io::stdin().is_terminal() => prompt("Key backup passphrase: ")?,
        Err(_) => bail!(
            "give the key backup's passphrase in STRONGROOM_KEY_BACKUP_PASSPHRASE (or run at a terminal)"
        ),
    };
    if passphrase.expose_secret().chars().count() < MIN_PASSPHRASE_CHARS {
        bail!("the key backup passphrase must have at least {MIN_PASSPHRASE_CHARS} characters");
    }
    let store = strongroom_store::open(&config.database_url())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let backup = strongroom_core::keys::backup::export(
        &*store,
        time::OffsetDateTime::now_utc(),
        &mut progress("tenants"),
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let json = zeroize::Zeroizing::new(serde_json::to_vec(&backup)?);
    let sealed =
        strongroom_crypto::keyfile::seal_with_passphrase(&json, &passphrase, work_factor(config))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    write_private(out, &sealed)?;
    let subjects: usize = backup.tenants.iter().map(|t| t.subject_keys.len()).sum();
    Ok(format!(
        "key backup of {} tenants and {subjects} subject keys written to {}",
        backup.tenants.len(),
        out.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key file from before checkpoints and backups gets an audit signing key and a backup
    /// key on its next load, written back under the same passphrase; the roots stay as they were.
    #[test]
    fn an_old_key_file_gets_the_keys_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config {
            data_dir: dir.path().to_owned(),
            ..Config::default()
        };
        let path = config.key_file();
        let passphrase = SecretString::from("an old passphrase".to_owned());
        let old = KeyFile {
            audit_signing: None,
            backup: None,
            ..KeyFile::generate()
        };
        save(&path, &old, &passphrase, Some(4)).unwrap();
        let loaded = with_added_keys(
            &config,
            &path,
            open(&path, &passphrase, &Source::Env).unwrap(),
            &passphrase,
        )
        .unwrap();
        assert!(loaded.audit_signing.is_some() && loaded.backup.is_some());
        assert_eq!(
            loaded.current_root().unwrap().key,
            old.current_root().unwrap().key
        );
        let again = open(&path, &passphrase, &Source::Env).unwrap();
        assert_eq!(
            again.backup, loaded.backup,
            "the added key was written back"
        );
        assert_eq!(again.audit_signing, loaded.audit_signing);
    }
}
