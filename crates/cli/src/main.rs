//! `strongroom`: the server and the operator's commands.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use secrecy::ExposeSecret;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use strongroom::config::{Config, Overrides};
use strongroom::startup;
use strongroom_core::SystemClock;
use strongroom_domain::{Email, Region, Slug, TenantName};

/// glibc's malloc and free were ≈ 15 % of the protected read's profile; mimalloc's
/// thread-local free lists take most of that out (BENCHMARKS.md, issue 16).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "strongroom", version, about = "Multi-tenant privacy vault")]
struct Cli {
    /// TOML configuration file (settings may also come from STRONGROOM_* variables).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data folder for the embedded defaults (SQLite, mail outbox). Default ./strongroom-data.
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the key file (root key) under a passphrase from STRONGROOM_PASSPHRASE,
    /// STRONGROOM_PASSPHRASE_FILE or the terminal.
    Init,
    /// Run the server.
    Serve {
        /// Address to listen on. Default 127.0.0.1:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// Also create demo tenants and users and write DIR/demo-credentials.json.
        #[arg(long)]
        demo: bool,
        /// TLS certificate chain, PEM (overrides tls.cert_file).
        #[arg(long, value_name = "FILE", requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        /// TLS private key, PEM (overrides tls.key_file).
        #[arg(long, value_name = "FILE", requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// The vendor's support staff (tenant `operator`): add, list, remove.
    Superuser {
        #[command(subcommand)]
        command: SuperuserCommand,
    },
    /// The vendor's own apps (OAuth public clients: authorization code with PKCE), valid in
    /// every tenant.
    App {
        #[command(subcommand)]
        command: AppCommand,
    },
    /// The operator's own processors (hosting, mail), which every tenant's register lists.
    Processor {
        #[command(subcommand)]
        command: ProcessorCommand,
    },
    /// The breach register: the operator records a breach for a tenant (its administrators
    /// are mailed at once).
    Breach {
        #[command(subcommand)]
        command: BreachCommand,
    },
    /// Disclosure requests from authorities: open, release (after the objection window, or
    /// with a final order), withdraw.
    Disclosure {
        #[command(subcommand)]
        command: DisclosureCommand,
    },
    /// Reports the installation writes about itself.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Support access the operator opens itself.
    Support {
        #[command(subcommand)]
        command: SupportCommand,
    },
    /// Check the privacy log's hash chains.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// Manage the key hierarchy.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
    /// Encrypted, deduplicated snapshots of the store and the files (see `restore`).
    Backup {
        #[command(subcommand)]
        command: BackupCommand,
    },
    /// Restore a snapshot into an empty data folder (or an empty PostgreSQL database).
    Restore {
        /// The target to read (default: `backup.target`).
        #[arg(long, value_name = "URL")]
        from: Option<String>,
        /// A snapshot id, or `latest` (default).
        #[arg(long, value_name = "ID")]
        snapshot: Option<String>,
        /// Restore into this (empty) PostgreSQL database instead of the data folder's SQLite file.
        #[arg(long, value_name = "URL")]
        database_url: Option<String>,
    },
    /// The retention engine (licence expiry: hide, notice, delete recordings).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
}

#[derive(Subcommand)]
enum BackupCommand {
    /// One snapshot of store and files; prints a JSON summary.
    Run {
        /// The target (default: `backup.target`): `file:///abs/path` or `s3://bucket/prefix`.
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        #[arg(long = "tag", value_name = "T")]
        tags: Vec<String>,
    },
    /// The snapshots in the target, newest first (JSON).
    List {
        #[arg(long, value_name = "URL")]
        to: Option<String>,
    },
    /// Remove the snapshots the keep policy (the flags, or `backup.keep`) does not keep, and
    /// the chunks and files no kept snapshot names.
    Prune {
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        #[arg(long, value_name = "N")]
        keep_last: Option<u32>,
        #[arg(long, value_name = "N")]
        keep_hourly: Option<u32>,
        #[arg(long, value_name = "N")]
        keep_daily: Option<u32>,
        #[arg(long, value_name = "N")]
        keep_weekly: Option<u32>,
        #[arg(long, value_name = "N")]
        keep_monthly: Option<u32>,
        /// Say what would be removed; remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Check a snapshot; exit 1 naming the first bad chunk, file or table.
    Verify {
        #[arg(long, value_name = "URL")]
        to: Option<String>,
        /// A snapshot id, or `latest` (default).
        #[arg(long, value_name = "ID")]
        snapshot: Option<String>,
        /// Also read and authenticate every chunk, restore into a scratch store and verify
        /// every privacy-log chain there.
        #[arg(long)]
        read_data: bool,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Plan and run what is due (once); prints one JSON line per step.
    Run {
        /// Act as if it were this time (RFC 3339), e.g. to catch up or to rehearse.
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
        /// Print what is due and what has run, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute every tenant's chain (or one); exit 1 and name the first bad entry if any.
    Verify {
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Rotate the root key (new passphrase from STRONGROOM_NEW_PASSPHRASE or the terminal), or a
    /// tenant's key-encryption key. Resumable; servers keep serving.
    Rotate {
        /// Rotate the root key in the key file.
        #[arg(long, conflicts_with = "tenant", required_unless_present = "tenant")]
        root: bool,
        /// After every server runs with the new key file: remove the old root key.
        #[arg(long, requires = "root")]
        finish: bool,
        /// Rotate this tenant's key-encryption key.
        #[arg(long, value_name = "SLUG")]
        tenant: Option<String>,
    },
    /// Write the key backup (all wrapped tenant and live subject keys), encrypted under
    /// STRONGROOM_KEY_BACKUP_PASSPHRASE, to a new file. Keep it apart from data backups.
    Export {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Subcommand)]
enum SuperuserCommand {
    /// Add a superuser; prints their one-time password. The second factor is enrolled at the
    /// first login. The first one creates the tenant `operator`.
    Add {
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
    },
    /// Every superuser, with their last login and their grants of the last 90 days.
    List,
    /// Remove a superuser: the account stops and their grants end; the name stays readable
    /// in the logs.
    Remove {
        #[arg(long)]
        email: String,
    },
    /// Record the quarterly review: a decision for every superuser (refused if one is left
    /// undecided); those to remove are removed.
    Review {
        #[arg(long)]
        reviewer: String,
        #[arg(long, num_args = 1.., value_name = "EMAIL")]
        keep: Vec<String>,
        #[arg(long, num_args = 1.., value_name = "EMAIL")]
        remove: Vec<String>,
    },
}

#[derive(Subcommand)]
enum DisclosureCommand {
    /// Register a request against a tenant; its administrators are mailed at once.
    Open {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        requester: String,
        #[arg(long)]
        legal_basis: String,
        /// `subject:<user id>` or `collection:<name>`.
        #[arg(long)]
        scope: String,
    },
    /// Release exactly the scope, encrypted to an age recipient, every record logged.
    Release {
        #[arg(long)]
        id: uuid::Uuid,
        /// The recipient's age X25519 public key (`age1…`).
        #[arg(long)]
        recipient: String,
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// Who releases it (named to the persons concerned).
        #[arg(long)]
        operator: String,
        /// A final order: overrides the window and an objection (recorded and mailed).
        #[arg(long)]
        final_order: bool,
    },
    /// End a request unreleased.
    Withdraw {
        #[arg(long)]
        id: uuid::Uuid,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// The technical and organisational measures (GDPR Art. 32, 25), computed: one tenant's,
    /// or every tenant's one after the other.
    Tom {
        #[arg(long)]
        tenant: Option<String>,
        /// `md` (default) or `html`.
        #[arg(long, default_value = "md")]
        format: String,
        /// Write to this file instead of stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BreachCommand {
    /// Record a breach for a tenant; the deadline is --aware-at + 72 hours.
    Open(BreachArgs),
}

#[derive(clap::Args)]
struct BreachArgs {
    #[arg(long)]
    tenant: String,
    #[arg(long)]
    title: String,
    /// When the breach became known (RFC 3339).
    #[arg(long, value_name = "TIME")]
    aware_at: String,
    #[arg(long)]
    nature: String,
    /// A kind of personal data concerned (repeat for more).
    #[arg(long = "data-category", required = true)]
    data_categories: Vec<String>,
    #[arg(long, default_value_t = 0)]
    subjects: u64,
    #[arg(long, default_value_t = 0)]
    records: u64,
    #[arg(long)]
    consequences: String,
    #[arg(long)]
    measures: String,
}

#[derive(Subcommand)]
enum AppCommand {
    /// Register an app: prints its client_id (a public client has no secret).
    Add {
        #[arg(long)]
        name: String,
        /// A redirect URI (repeat for more): https://…, http://127.0.0.1/… (any port at the
        /// authorization, RFC 8252), or a private-use scheme such as com.example.app:/callback.
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
    },
    /// List the registered apps (JSON lines).
    List,
}

#[derive(Subcommand)]
enum ProcessorCommand {
    /// Add an operator-wide processor (every tenant sees it, read-only).
    Add(ProcessorArgs),
}

#[derive(clap::Args)]
struct ProcessorArgs {
    #[arg(long)]
    name: String,
    #[arg(long)]
    purpose: String,
    /// ISO 3166-1 alpha-2 country code, such as DE.
    #[arg(long)]
    location: String,
    /// A kind of personal data it processes (repeat for more).
    #[arg(long = "data-category", required = true)]
    data_categories: Vec<String>,
    #[arg(long)]
    transfer_safeguard: Option<String>,
    /// The day the data-processing agreement was signed (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    dpa_signed_on: Option<String>,
}

#[derive(Subcommand)]
enum SupportCommand {
    /// Open a read grant without the tenant's approval (at most 240 minutes); its
    /// administrators are mailed at once and the grant is marked break-glass. Refused where
    /// the tenant turned break-glass off.
    BreakGlass {
        #[arg(long)]
        tenant: String,
        /// The superuser's e-mail address.
        #[arg(long)]
        superuser: String,
        #[arg(long)]
        reason: String,
        #[arg(long)]
        minutes: u32,
    },
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant and its first administrator; prints the administrator's one-time password.
    Create {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "eu")]
        region: String,
        #[arg(long)]
        admin_email: String,
        /// Roles that must use a second factor before anything else, comma-separated; an
        /// empty value requires it of nobody (the tenant's administrators can change it).
        #[arg(long, value_name = "ROLES", default_value = "administrator")]
        require_totp_roles: String,
    },
    /// Set when the tenant's agreement ends (RFC 3339), or `--open-ended`; 45 days after the
    /// end, retention destroys the tenant with all its data.
    Agreement {
        #[arg(long)]
        slug: String,
        #[arg(
            long,
            value_name = "TIME",
            conflicts_with = "open_ended",
            required_unless_present = "open_ended"
        )]
        ends: Option<String>,
        #[arg(long)]
        open_ended: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(&anyhow::anyhow!("cannot start the async runtime: {e}")),
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn fail(e: &anyhow::Error) -> std::process::ExitCode {
    let _ = writeln!(std::io::stderr(), "strongroom: {e:#}");
    if e.downcast_ref::<strongroom::backup::Refused>().is_some() {
        return std::process::ExitCode::from(2);
    }
    std::process::ExitCode::FAILURE
}

fn init_logging(config: &Config) {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if config.log.format == "pretty" {
        builder.init();
    } else {
        builder.json().flatten_event(true).init();
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let listen = match &cli.command {
        Command::Serve { listen, .. } => *listen,
        _ => None,
    };
    let (tls_cert, tls_key) = match &cli.command {
        Command::Serve {
            tls_cert, tls_key, ..
        } => (tls_cert.clone(), tls_key.clone()),
        _ => (None, None),
    };
    let overrides = Overrides {
        data_dir: cli.data_dir.clone(),
        listen,
        tls_cert,
        tls_key,
    };
    let config = Config::load(cli.config.as_deref(), &overrides).map_err(anyhow::Error::msg)?;
    init_logging(&config);
    match cli.command {
        Command::Init => {
            let path = strongroom::keys::init(&config)?;
            writeln!(
                std::io::stdout(),
                "created the key file {}\nback it up somewhere safe, and keep the passphrase away from this machine's data folder",
                path.display()
            )?;
            Ok(())
        }
        Command::Serve { demo, .. } => serve(&config, demo).await,
        Command::Backup { command } => backup(&config, command).await,
        Command::Restore {
            from,
            snapshot,
            database_url,
        } => print(
            &strongroom::backup::restore(
                &config,
                from.as_deref(),
                snapshot.as_deref(),
                database_url.as_deref(),
            )
            .await?,
        ),
        Command::Keys { command } => keys_command(&config, command).await,
        Command::Audit {
            command: AuditCommand::Verify { tenant },
        } => audit_verify(&config, tenant.as_deref()).await,
        Command::Retention {
            command: RetentionCommand::Run { now, dry_run },
        } => retention_run(&config, now.as_deref(), dry_run).await,
        Command::Tenant { command } => tenant_command(&config, command).await,
        Command::Superuser { command } => superuser_command(&config, command).await,
        Command::App { command } => app_command(&config, command).await,
        Command::Processor {
            command: ProcessorCommand::Add(add),
        } => processor_add(&config, add).await,
        Command::Breach {
            command: BreachCommand::Open(open),
        } => breach_open(&config, open).await,
        Command::Disclosure { command } => disclosure_command(&config, command).await,
        Command::Report {
            command:
                ReportCommand::Tom {
                    tenant,
                    format,
                    out,
                },
        } => report_tom(&config, tenant.as_deref(), &format, out.as_deref()).await,
        Command::Support {
            command:
                SupportCommand::BreakGlass {
                    tenant,
                    superuser,
                    reason,
                    minutes,
                },
        } => break_glass(&config, &tenant, &superuser, &reason, minutes).await,
    }
}

/// `disclosure …`.
async fn disclosure_command(config: &Config, command: DisclosureCommand) -> anyhow::Result<()> {
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let failed = |e: strongroom_core::CoreError| anyhow::anyhow!("{e}");
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    match command {
        DisclosureCommand::Open {
            tenant,
            requester,
            legal_basis,
            scope,
        } => {
            let d = services
                .open_disclosure(&tenant, &requester, &legal_basis, &scope)
                .await
                .map_err(failed)?;
            print(
                &serde_json::json!({"id": d.id, "status": d.status, "objection_until": rfc(d.objection_until)})
                    .to_string(),
            )
        }
        DisclosureCommand::Release {
            id,
            recipient,
            out,
            operator,
            final_order,
        } => {
            let r = services
                .release_disclosure(id, &recipient, &operator, final_order)
                .await
                .map_err(failed)?;
            std::fs::write(&out, &r.sealed)
                .with_context(|| format!("cannot write {}", out.display()))?;
            print(
                &serde_json::json!({"id": id, "status": "released", "records": r.records, "out": out.display().to_string()})
                    .to_string(),
            )
        }
        DisclosureCommand::Withdraw { id } => {
            services.withdraw_disclosure(id).await.map_err(failed)?;
            print(&serde_json::json!({"id": id, "status": "withdrawn"}).to_string())
        }
    }
}

/// `report tom`.
async fn report_tom(
    config: &Config,
    tenant: Option<&str>,
    format: &str,
    out: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    use strongroom_core::reports::ReportFormat;
    let format = match format {
        "md" => ReportFormat::Markdown,
        "html" => ReportFormat::Html,
        other => anyhow::bail!("--format: md or html, not {other:?}"),
    };
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let tenants = match tenant {
        Some(slug) => {
            let slug = Slug::parse(slug).map_err(|e| anyhow::anyhow!("--tenant: {}", e.reason))?;
            vec![
                services
                    .store
                    .tenant_by_slug(&slug)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .with_context(|| format!("no tenant {slug}"))?,
            ]
        }
        None => services
            .store
            .list_tenants()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .into_iter()
            .filter(|t| t.slug.as_str() != strongroom_core::tenancy::OPERATOR_SLUG)
            .collect(),
    };
    let mut text = String::new();
    for t in tenants {
        text.push_str(
            &services
                .tom_report(t.id, format)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    if let Some(path) = out {
        return std::fs::write(path, text)
            .with_context(|| format!("cannot write {}", path.display()));
    }
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(())
}

/// `breach open`.
async fn breach_open(config: &Config, a: BreachArgs) -> anyhow::Result<()> {
    let aware_at =
        time::OffsetDateTime::parse(&a.aware_at, &time::format_description::well_known::Rfc3339)
            .map_err(|_| {
                anyhow::anyhow!("--aware-at: an RFC 3339 time such as 2026-12-01T09:30:00Z")
            })?;
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let v = services
        .record_breach_for(
            &a.tenant,
            strongroom_core::registers::NewBreach {
                title: a.title,
                aware_at,
                nature: a.nature,
                data_categories: a.data_categories,
                subjects_estimate: a.subjects,
                records_estimate: a.records,
                consequences: a.consequences,
                measures: a.measures,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default()
    };
    print(
        &serde_json::json!({
            "id": v.row.id,
            "tenant": a.tenant,
            "status": v.row.status,
            "deadline_at": rfc(v.deadline_at),
        })
        .to_string(),
    )
}

/// `keys rotate`, `keys export`.
async fn keys_command(config: &Config, command: KeysCommand) -> anyhow::Result<()> {
    let summary = match command {
        KeysCommand::Rotate {
            root,
            finish,
            tenant,
        } => match tenant {
            Some(slug) => strongroom::keys::rotate_tenant(config, &slug).await?,
            None => strongroom::keys::rotate_root(config, finish && root).await?,
        },
        KeysCommand::Export { out } => strongroom::keys::export(config, &out).await?,
    };
    writeln!(std::io::stdout(), "{summary}")?;
    Ok(())
}

/// `app add`, `app list`.
async fn app_command(config: &Config, command: AppCommand) -> anyhow::Result<()> {
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    match command {
        AppCommand::Add {
            name,
            redirect_uris,
        } => {
            let app = services
                .register_app(&name, &redirect_uris)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print(
                &serde_json::json!({"id": app.id.0, "client_id": app.client_id, "name": name, "redirect_uris": redirect_uris})
                    .to_string(),
            )
        }
        AppCommand::List => {
            for a in services
                .operator_apps()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
            {
                print(
                    &serde_json::json!({"id": a.id.0, "client_id": a.client_id, "name": a.name, "redirect_uris": a.redirect_uris})
                        .to_string(),
                )?;
            }
            Ok(())
        }
    }
}

/// `processor add`.
async fn processor_add(config: &Config, a: ProcessorArgs) -> anyhow::Result<()> {
    let dpa_signed_on = a
        .dpa_signed_on
        .as_deref()
        .map(|d| {
            time::Date::parse(d, time::macros::format_description!("[year]-[month]-[day]"))
                .map_err(|_| anyhow::anyhow!("--dpa-signed-on: YYYY-MM-DD"))
        })
        .transpose()?;
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let v = services
        .add_operator_processor(&strongroom_core::registers::ProcessorInput {
            name: a.name,
            purpose: a.purpose,
            data_categories: a.data_categories,
            location: a.location,
            transfer_safeguard: a.transfer_safeguard,
            dpa_signed_on,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    print(
        &serde_json::json!({"id": v.id, "name": v.name, "scope": "operator", "location": v.location})
            .to_string(),
    )
}

/// `support break-glass`.
async fn break_glass(
    config: &Config,
    tenant: &str,
    superuser: &str,
    reason: &str,
    minutes: u32,
) -> anyhow::Result<()> {
    let email =
        Email::parse(superuser).map_err(|e| anyhow::anyhow!("--superuser: {}", e.reason))?;
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let grant = services
        .break_glass(tenant, &email, reason, minutes)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let ends_at = grant.ends_at.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    });
    print(
        &serde_json::json!({
            "id": grant.id,
            "tenant": grant.tenant,
            "superuser": grant.superuser,
            "kind": grant.kind.as_str(),
            "ends_at": ends_at,
            "break_glass": grant.break_glass,
        })
        .to_string(),
    )
}

/// `superuser …`.
async fn superuser_command(config: &Config, command: SuperuserCommand) -> anyhow::Result<()> {
    let email = |e: &str| Email::parse(e).map_err(|e| anyhow::anyhow!("--email: {}", e.reason));
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let failed = |e: strongroom_core::CoreError| anyhow::anyhow!("{e}");
    match command {
        SuperuserCommand::Add { email: e, name } => {
            let name = strongroom_domain::PersonName::parse(&name)
                .map_err(|e| anyhow::anyhow!("--name: {}", e.reason))?;
            let (id, password) = services
                .add_superuser(email(&e)?, name)
                .await
                .map_err(failed)?;
            print(
                &serde_json::json!({
                    "superuser_id": id,
                    "initial_password": password.expose_secret(),
                })
                .to_string(),
            )
        }
        SuperuserCommand::List => {
            let rows: Vec<serde_json::Value> = services
                .list_superusers()
                .await
                .map_err(failed)?
                .into_iter()
                .map(|s| {
                    let rfc = |t: Option<time::OffsetDateTime>| {
                        t.and_then(|t| {
                            t.format(&time::format_description::well_known::Rfc3339)
                                .ok()
                        })
                    };
                    serde_json::json!({
                        "email": s.email.as_ref().map(Email::as_str),
                        "name": s.name.as_ref().map(strongroom_domain::PersonName::as_str),
                        "status": s.status.as_str(),
                        "last_login_at": rfc(s.last_login_at),
                        "grants_90d": s.grants_90d,
                        "last_review_at": rfc(s.last_review_at),
                        "review_overdue": s.review_overdue,
                    })
                })
                .collect();
            print(&serde_json::Value::Array(rows).to_string())
        }
        SuperuserCommand::Review {
            reviewer,
            keep,
            remove,
        } => {
            let parse = |list: &[String]| -> anyhow::Result<Vec<Email>> {
                list.iter().map(|e| email(e)).collect()
            };
            let review = services
                .review_superusers(&reviewer, &parse(&keep)?, &parse(&remove)?)
                .await
                .map_err(failed)?;
            print(
                &serde_json::json!({
                    "review_id": review.id,
                    "reviewer": review.reviewer,
                    "kept": keep,
                    "removed": remove,
                })
                .to_string(),
            )
        }
        SuperuserCommand::Remove { email: e } => {
            let id = services
                .remove_superuser(&email(&e)?)
                .await
                .map_err(failed)?;
            print(&serde_json::json!({"removed": id}).to_string())
        }
    }
}

/// `tenant …`.
async fn tenant_command(config: &Config, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Agreement {
            slug,
            ends,
            open_ended: _,
        } => tenant_agreement(config, &slug, ends.as_deref()).await,
        TenantCommand::Create {
            slug,
            name,
            region,
            admin_email,
            require_totp_roles,
        } => {
            tenant_create(
                config,
                &slug,
                &name,
                &region,
                &admin_email,
                &require_totp_roles,
            )
            .await
        }
    }
}

/// `tenant create`: the tenant, and its administrator's one-time password on stdout.
async fn tenant_create(
    config: &Config,
    slug: &str,
    name: &str,
    region: &str,
    admin_email: &str,
    require_totp_roles: &str,
) -> anyhow::Result<()> {
    let require = require_totp_roles
        .split(',')
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .map(|r| {
            strongroom_domain::Role::parse(r)
                .ok_or_else(|| anyhow::anyhow!("--require-totp-roles: unknown role {r:?}"))
        })
        .collect::<anyhow::Result<strongroom_domain::Roles>>()?;
    let slug = Slug::parse(slug).map_err(|e| anyhow::anyhow!("--slug: {}", e.reason))?;
    let name = TenantName::parse(name).map_err(|e| anyhow::anyhow!("--name: {}", e.reason))?;
    let region = Region::parse(region).map_err(|e| anyhow::anyhow!("--region: {}", e.reason))?;
    let email =
        Email::parse(admin_email).map_err(|e| anyhow::anyhow!("--admin-email: {}", e.reason))?;
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let created = services
        .create_tenant(slug, name, region, email, false, require)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let out = serde_json::json!({
        "tenant_id": created.tenant_id,
        "admin_user_id": created.admin_user_id,
        "admin_password": created.admin_password.expose_secret(),
    });
    print(&out.to_string())
}

/// `backup run` and `backup list`: their JSON on stdout.
async fn backup(config: &Config, command: BackupCommand) -> anyhow::Result<()> {
    let out = match command {
        BackupCommand::Run { to, tags } => {
            strongroom::backup::run(config, to.as_deref(), tags).await?
        }
        BackupCommand::List { to } => strongroom::backup::list(config, to.as_deref()).await?,
        BackupCommand::Prune {
            to,
            keep_last,
            keep_hourly,
            keep_daily,
            keep_weekly,
            keep_monthly,
            dry_run,
        } => {
            let flags = [
                keep_last,
                keep_hourly,
                keep_daily,
                keep_weekly,
                keep_monthly,
            ];
            // Flags replace the configured policy as a whole (an unnamed count is 0).
            let keep = if flags.iter().any(Option::is_some) {
                strongroom_core::backup::Keep {
                    last: keep_last.unwrap_or(0),
                    hourly: keep_hourly.unwrap_or(0),
                    daily: keep_daily.unwrap_or(0),
                    weekly: keep_weekly.unwrap_or(0),
                    monthly: keep_monthly.unwrap_or(0),
                }
            } else {
                config.backup.keep
            };
            strongroom::backup::prune(config, to.as_deref(), &keep, dry_run).await?
        }
        BackupCommand::Verify {
            to,
            snapshot,
            read_data,
        } => {
            let (out, ok) =
                strongroom::backup::verify(config, to.as_deref(), snapshot.as_deref(), read_data)
                    .await?;
            print(&out)?;
            if !ok {
                anyhow::bail!("the snapshot does not verify");
            }
            return Ok(());
        }
    };
    print(&out)
}

fn print(out: &str) -> anyhow::Result<()> {
    writeln!(std::io::stdout(), "{out}")?;
    Ok(())
}

/// `audit verify`: every chain (or one tenant's) from its first entry to its head.
async fn audit_verify(config: &Config, tenant: Option<&str>) -> anyhow::Result<()> {
    // Keys first (nothing is touched without them); the trusted public key comes from the
    // key file, never from the database.
    let signing = strongroom::keys::load_existing(config)?
        .audit_signing
        .context("the key file has no audit signing key")?;
    let public_key =
        strongroom_crypto::sign::public_key(&signing).map_err(|e| anyhow::anyhow!("{e}"))?;
    let store = strongroom_store::open(&config.database_url())
        .await
        .map_err(|e| anyhow::anyhow!("cannot open the database: {e}"))?;
    let tenants = match tenant {
        Some(slug) => {
            let slug = Slug::parse(slug).map_err(|e| anyhow::anyhow!("--tenant: {}", e.reason))?;
            vec![
                store
                    .tenant_by_slug(&slug)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .with_context(|| format!("no tenant {slug}"))?,
            ]
        }
        None => store
            .list_tenants()
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let mut broken = 0;
    let mut out = std::io::stdout();
    for t in &tenants {
        match strongroom_core::privacy::verify(&*store, t.id, Some(&public_key))
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
        {
            Ok(n) => writeln!(out, "tenant {}: {n} entries, chain intact", t.slug)?,
            Err(b) => {
                broken += 1;
                writeln!(
                    out,
                    "tenant {}: BROKEN at entry {}: {}",
                    t.slug, b.seq, b.reason
                )?;
            }
        }
    }
    if broken > 0 {
        anyhow::bail!(
            "{broken} of {} privacy-log chains do not verify",
            tenants.len()
        );
    }
    Ok(())
}

/// `strongroom tenant agreement`: when the tenant's agreement ends (or that it does not).
async fn tenant_agreement(config: &Config, slug: &str, ends: Option<&str>) -> anyhow::Result<()> {
    let slug = Slug::parse(slug).map_err(|e| anyhow::anyhow!("--slug: {}", e.reason))?;
    let end = ends
        .map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_err(
                |e| {
                    anyhow::anyhow!(
                        "--ends: give an RFC 3339 time such as 2027-06-30T00:00:00Z ({e})"
                    )
                },
            )
        })
        .transpose()?;
    strongroom::keys::load_existing(config)?;
    let services = startup::services(config, Arc::new(SystemClock)).await?;
    let tenant = services
        .store
        .tenant_by_slug(&slug)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .with_context(|| format!("no tenant {slug}"))?;
    services
        .store
        .set_agreement_end(tenant.id, end)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    match end {
        Some(e) => writeln!(
            std::io::stdout(),
            "tenant {slug}: agreement ends {e}; its data is destroyed 45 days later"
        )?,
        None => writeln!(std::io::stdout(), "tenant {slug}: agreement open-ended")?,
    }
    Ok(())
}

/// `strongroom retention run`: with `--now`, the services run on a clock fixed at that time.
async fn retention_run(config: &Config, now: Option<&str>, dry_run: bool) -> anyhow::Result<()> {
    let now = match now {
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map_err(|e| {
            anyhow::anyhow!("--now: give an RFC 3339 time such as 2026-12-01T00:00:00Z ({e})")
        })?,
        None => time::OffsetDateTime::now_utc(),
    };
    strongroom::keys::load_existing(config)?;
    let clock = Arc::new(strongroom_core::ManualClock::new(now));
    let services = startup::services(config, clock).await?;
    let mut out = std::io::stdout();
    if dry_run {
        for (step, state) in services.retention_preview(now).await? {
            let mut line = serde_json::to_value(&step)?;
            if let Some(m) = line.as_object_mut() {
                m.insert("state".into(), serde_json::Value::String(state));
            }
            writeln!(out, "{line}")?;
        }
    } else {
        for ran in services.run_retention(now).await? {
            writeln!(out, "{}", serde_json::to_string(&ran)?)?;
        }
    }
    Ok(())
}

/// Runs the retention engine every `interval` on the server's clock, until the process ends.
fn spawn_retention(services: strongroom_core::Services, interval: std::time::Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match services.run_retention(services.clock.now()).await {
                Ok(ran) if !ran.is_empty() => tracing::info!(jobs = ran.len(), "retention ran"),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention run failed"),
            }
        }
    });
}

/// Runs the installation's own jobs: a task for the quick ones (the key snapshot's refresh
/// after a forget, replication), at once when something wakes it and every few seconds, and one
/// that plans and takes the scheduled snapshots, so that replication never waits behind one.
fn spawn_installation_worker(services: strongroom_core::Services) {
    use strongroom_store::Queue;
    let tick = std::time::Duration::from_secs(match services.backup.interval_secs {
        0 => 5,
        n => n.min(5),
    });
    let log = |what: &str,
               done: Result<
        Vec<(strongroom_domain::JobKind, String)>,
        strongroom_core::CoreError,
    >| match done {
        Ok(ran) => {
            for (kind, outcome) in ran {
                tracing::info!(%kind, outcome, "installation job ran");
            }
        }
        Err(e) => tracing::error!(error = %e, what, "installation jobs failed"),
    };
    let quick = services.clone();
    tokio::spawn(async move {
        loop {
            let now = quick.clock.now();
            log(
                "quick",
                quick.run_installation_lane(now, Queue::Installation).await,
            );
            tokio::select! {
                () = quick.wake.notified() => {}
                () = tokio::time::sleep(tick) => {}
            }
        }
    });
    tokio::spawn(async move {
        let mut every = tokio::time::interval(tick);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            let now = services.clock.now();
            if let Err(e) = services.plan_installation(now).await {
                tracing::error!(error = %e, "planning backups failed");
            }
            log(
                "snapshots",
                services.run_installation_lane(now, Queue::Snapshots).await,
            );
        }
    });
}

async fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    let app = startup::build(config).await?;
    if config.retention.interval_secs > 0 {
        spawn_retention(
            app.services.clone(),
            std::time::Duration::from_secs(config.retention.interval_secs),
        );
    }
    if app.services.backup.target.is_some() || app.services.replica.is_some() {
        tracing::info!(
            backup_interval_secs = config.backup.interval_secs,
            replica = app.services.replica.is_some(),
            "installation worker started"
        );
        spawn_installation_worker(app.services.clone());
    }
    if demo {
        let file = config.data_dir.join("demo-credentials.json");
        let creds = app
            .services
            .ensure_demo(&file)
            .await
            .map_err(|e| anyhow::anyhow!("demo setup: {e}"))?;
        tracing::warn!(
            file = %file.display(),
            "DEMO MODE: demo accounts exist and their passwords are stored in plaintext in this file; never use --demo with real data"
        );
        let mut out = std::io::stdout();
        writeln!(
            out,
            "demo mode: tenants {} — credentials in {}",
            creds
                .tenants
                .iter()
                .map(|t| t.slug.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            file.display()
        )?;
    }
    let addr = app.addr;
    // Signal handlers first: a SIGTERM that follows the "listening" line must stop us gracefully.
    let shutdown = shutdown_signal()?;
    tracing::info!(%addr, database = %startup::redact_url(&config.database_url()), "server ready");
    let scheme = if app.tls() { "https" } else { "http" };
    let router = app.router();
    writeln!(std::io::stdout(), "listening on {scheme}://{addr}").context("stdout")?;
    app.serve(router, shutdown).await?;
    tracing::info!("server stopped");
    Ok(())
}

/// Registers for Ctrl-C and SIGTERM now; the returned future resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .context("cannot install the SIGTERM handler")?;
    Ok(async move {
        #[cfg(unix)]
        let term = async move {
            term.recv().await;
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            () = term => {},
        }
    })
}
