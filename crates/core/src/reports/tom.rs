//! The TOM report: one tenant's technical and organisational measures after GDPR Art. 32(1)
//! (a)–(d) and Art. 25. **Every statement is computed** — from a setting, a table or a check run
//! while the report is written (the privacy log's verification) — and names that evidence in
//! brackets. Where a measure is absent or unproven (no backup target, no drill yet, TLS off)
//! the report says so in that place; it never claims what the installation does not do.
//! Written as Markdown; `html` renders the same lines (the report's own small subset of
//! Markdown: headings, list items, paragraphs — converted by hand, no template engine needed
//! for four line kinds).

use crate::mail::when as day;
use crate::{CoreError, Services};
use std::fmt::Write as _;
use strongroom_domain::{JobKind, Role, SupportStatus, TenantId, Timestamp};
use strongroom_store::{KeyPurpose, Tenant};
use time::Duration;

/// How the server is reached, for the report (set at start from the configuration).
#[derive(Clone, Debug, Default)]
pub struct TransportSettings {
    /// With built-in TLS: the lowest version accepted (`"1.3"` or `"1.2"`).
    pub tls_min_version: Option<String>,
    /// A TLS-terminating proxy fronts the server.
    pub behind_proxy: bool,
}

/// The report's formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    Markdown,
    Html,
}

struct Report {
    out: String,
}

impl Report {
    fn heading(&mut self, level: usize, text: &str) {
        let _ = writeln!(self.out, "\n{} {text}\n", "#".repeat(level));
    }
    /// A statement with its evidence.
    fn item(&mut self, text: &str, evidence: &str) {
        let _ = writeln!(self.out, "- {text} [{evidence}]");
    }
}

impl Services {
    /// `GET /reports/tom`: the caller's tenant's report (administrators).
    pub async fn my_tom_report(
        &self,
        p: &crate::Principal,
        format: ReportFormat,
    ) -> Result<String, CoreError> {
        self.authorize(p, crate::access::Action::ManageTenant)
            .await?;
        self.tom_report(p.tenant_id, format).await
    }

    /// The TOM report of one tenant.
    pub async fn tom_report(
        &self,
        tenant: TenantId,
        format: ReportFormat,
    ) -> Result<String, CoreError> {
        let t = self
            .store
            .tenant_by_id(tenant)
            .await?
            .ok_or(CoreError::NotFound("tenant"))?;
        let now = self.clock.now();
        let mut r = Report { out: String::new() };
        let _ = writeln!(
            r.out,
            "# Technical and organisational measures: {} ({})\n\nWritten {} by Strongroom {} from this installation's configuration, its store and checks run while writing. Each statement names its evidence in brackets; where a measure is missing or unproven, it says so.",
            t.name.as_str(),
            t.slug.as_str(),
            day(now),
            env!("CARGO_PKG_VERSION"),
        );
        self.encryption_section(&mut r, &t, now).await?;
        self.confidentiality_section(&mut r, &t, now).await?;
        self.integrity_section(&mut r, &t).await?;
        self.availability_sections(&mut r, now).await?;
        self.by_design_section(&mut r, &t, now).await?;
        self.registers_section(&mut r, &t, now).await?;
        Ok(match format {
            ReportFormat::Markdown => r.out,
            ReportFormat::Html => html(&r.out),
        })
    }

    async fn encryption_section(
        &self,
        r: &mut Report,
        t: &Tenant,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        r.heading(2, "1. Pseudonymisation and encryption (Art. 32(1)(a))");
        r.item(
            "Personal record fields, users' e-mail addresses and names, client addresses in the logs and every file are encrypted with AES-256-GCM under a key per person; those keys are wrapped by the tenant's key-encryption key (KEK), which is wrapped by the installation's root key, kept in an age-encrypted key file outside the database",
            "the key hierarchy in effect: table subject_keys, table tenant_keys",
        );
        let keys = self.store.tenant_keys(t.id).await?;
        let kek = keys
            .iter()
            .filter(|k| k.purpose == KeyPurpose::Kek)
            .max_by_key(|k| k.version);
        match kek {
            Some(k) => {
                let age = (now - k.created_at).whole_days();
                let rotation = if k.version > 1 {
                    format!("last rotated {} (version {})", day(k.created_at), k.version)
                } else {
                    "never rotated since the tenant was created".to_owned()
                };
                r.item(
                    &format!("The tenant's KEK is {age} days old; {rotation}"),
                    "table tenant_keys",
                );
            }
            None => r.item(
                "NO KEY-ENCRYPTION KEY is stored for this tenant: its data cannot be read",
                "table tenant_keys",
            ),
        }
        r.item(
            "Searchable values and e-mail addresses are found through keyed HMAC-SHA-256 blind indexes, never stored in clear",
            "table tenant_keys (blind-index key)",
        );
        r.item(
            "Passwords are stored as Argon2id hashes; tokens as SHA-256 digests of 256 random bits",
            "users.password_hash, sessions",
        );
        match (&self.transport.tls_min_version, self.transport.behind_proxy) {
            (Some(v), _) => r.item(
                &format!(
                    "In transit: built-in TLS, version {v} and newer only, HTTP/2 and HTTP/1.1, with HSTS on every answer"
                ),
                "setting tls.min_version",
            ),
            (None, true) => r.item(
                "In transit: this server speaks plain HTTP behind a proxy that is configured to terminate TLS; the proxy's TLS is NOT evidenced by this report",
                "setting behind_proxy",
            ),
            (None, false) => r.item(
                "In transit: TLS IS OFF; the server answers plain HTTP on a loopback address only, not reachable from the network",
                "settings tls.*, listen",
            ),
        }
        Ok(())
    }

    async fn confidentiality_section(
        &self,
        r: &mut Report,
        t: &Tenant,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        r.heading(2, "2. Confidentiality (Art. 32(1)(b))");
        r.item(
            &format!(
                "An account is blocked after {} wrong passwords in a row; only a password reset reopens it. Unknown addresses are counted and answered alike",
                t.lockout_threshold
            ),
            "setting lockout_threshold of this tenant",
        );
        r.item(
            &format!(
                "Passwords are {} to {} characters and refused when among the 10,000 most common",
                crate::auth::MIN_CHARS,
                crate::auth::MAX_CHARS
            ),
            "password policy",
        );
        if t.require_totp_roles.0.is_empty() {
            r.item(
                "No role is required to use a second factor (TOTP); users may enrol one",
                "setting require_totp_roles of this tenant",
            );
        } else {
            r.item(
                &format!(
                    "A second factor (TOTP) is required before anything else of: {}",
                    t.require_totp_roles.to_stored().replace(',', ", ")
                ),
                "setting require_totp_roles of this tenant",
            );
        }
        let policies = self.store.policies(t.id).await?;
        r.item(
            &match &policies {
                Some(p) => format!(
                    "Every request passes an access check on four levels (tenant, role, object, file) through Cedar policies: the tenant's own, version {}, based on the template {:?}, under a base layer no tenant policy can lift",
                    p.version, p.template
                ),
                None => format!(
                    "Every request passes an access check on four levels (tenant, role, object, file) through Cedar policies: the shipped template {:?}, under a base layer no tenant policy can lift",
                    crate::access::DEFAULT_TEMPLATE
                ),
            },
            "table tenant_policies",
        );
        let clients = self.store.list_clients(t.id, None, 500).await?;
        r.item(
            &format!(
                "{} integration client(s) hold scoped OAuth credentials; a client acts only within its scopes",
                clients.len()
            ),
            "table clients",
        );
        self.support_statements(r, t, now).await
    }

    /// Part of confidentiality: who outside the tenant reached its data, and the reviews.
    async fn support_statements(
        &self,
        r: &mut Report,
        t: &Tenant,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        let requests = self
            .store
            .support_requests_of_tenant(t.id, None, crate::support::MAX_LISTED)
            .await?;
        let since = now - Duration::days(90);
        let grants: Vec<_> = requests
            .iter()
            .filter(|q| q.starts_at.is_some_and(|s| s >= since))
            .collect();
        r.item(
            &format!(
                "Vendor support reached this tenant's data under {} grant(s) in the last 90 days, each approved by an administrator or opened as break-glass; every access is in the privacy log",
                grants.len()
            ),
            "table support_requests",
        );
        let glass: Vec<_> = grants.iter().filter(|q| q.break_glass).collect();
        if glass.is_empty() {
            r.item(
                "No break-glass access in the last 90 days",
                "table support_requests",
            );
        }
        for q in glass {
            let name = self.superuser_name(q.superuser_id).await?;
            let state = q.status_at(now);
            r.item(
                &format!(
                    "BREAK-GLASS {}: {name}, {} minutes, read only ({}), reason: {}",
                    q.starts_at.map(day).unwrap_or_default(),
                    q.minutes,
                    if state == SupportStatus::Approved {
                        "active"
                    } else {
                        state.as_str()
                    },
                    q.reason
                ),
                "table support_requests",
            );
        }
        r.item(
            if t.break_glass {
                "The operator may open break-glass access (read only, at most 240 minutes, the administrators mailed at once)"
            } else {
                "This tenant refuses break-glass access"
            },
            "setting break_glass of this tenant",
        );
        match self.operator_tenant().await? {
            Some(op) => {
                let last = self.last_superuser_review(op.id).await?;
                r.item(
                    &match last {
                        Some(at) => format!(
                            "The vendor's superusers were last reviewed {}{}",
                            day(at),
                            if self.review_overdue(Some(at), at) {
                                ": REVIEW OVERDUE"
                            } else {
                                ""
                            }
                        ),
                        None => "The vendor's superusers have NEVER BEEN REVIEWED".to_owned(),
                    },
                    "table access_reviews (operator)",
                );
            }
            None => r.item("The vendor has no superusers", "tenant operator absent"),
        }
        let reviews = self.store.access_reviews(t.id, 1).await?;
        let admins = self
            .store
            .list_users(t.id)
            .await?
            .into_iter()
            .filter(|u| u.roles.contains(Role::Administrator))
            .count();
        r.item(
            &match reviews.first() {
                Some(rv) => format!(
                    "The tenant's {admins} administrator(s) were last reviewed {}{}",
                    day(rv.at),
                    if self.review_overdue(Some(rv.at), rv.at) {
                        ": REVIEW OVERDUE"
                    } else {
                        ""
                    }
                ),
                None => {
                    format!("The tenant's {admins} administrator(s) have not been reviewed yet")
                }
            },
            "table access_reviews",
        );
        Ok(())
    }

    async fn integrity_section(&self, r: &mut Report, t: &Tenant) -> Result<(), CoreError> {
        r.heading(2, "3. Integrity (Art. 32(1)(b))");
        r.item(
            "Every read, change and refusal of personal data is an entry of the privacy log, hash-chained per tenant and signed at checkpoints with a key outside the database; the person concerned reads their own",
            "table privacy_log",
        );
        let public = self
            .keyring
            .audit_signing_key()
            .and_then(|k| strongroom_crypto::sign::public_key(k).ok());
        match crate::privacy::verify(&*self.store, t.id, public.as_deref()).await? {
            Ok(n) => r.item(
                &format!(
                    "Verified while writing this report: {n} entries, the chain and every signed checkpoint hold{}",
                    if public.is_none() { " (signatures not checked: no audit key loaded)" } else { "" }
                ),
                "check run at report time",
            ),
            Err(b) => r.item(
                &format!(
                    "VERIFICATION FAILED while writing this report: entry {} does not hold ({})",
                    b.seq, b.reason
                ),
                "check run at report time",
            ),
        }
        Ok(())
    }

    async fn availability_sections(&self, r: &mut Report, now: Timestamp) -> Result<(), CoreError> {
        r.heading(2, "4. Availability and resilience (Art. 32(1)(b), (c))");
        let b = &self.backup;
        if b.target.is_none() {
            r.item(
                "Backups are NOT CONFIGURED (no backup.target): this installation makes no backups of its own",
                "setting backup.target",
            );
        } else {
            {
                r.item(
                    "Encrypted, deduplicated backups of the store and the files go to the configured target",
                    "setting backup.target",
                );
                r.item(
                    &format!(
                        "Snapshots kept: last {}, hourly {}, daily {}, weekly {}, monthly {} (restic's rules)",
                        b.keep.last, b.keep.hourly, b.keep.daily, b.keep.weekly, b.keep.monthly
                    ),
                    "setting backup.keep",
                );
                r.item(
                    &if b.interval_secs > 0 {
                        format!(
                            "A snapshot is taken every {} seconds: at most that much is lost (RPO)",
                            b.interval_secs
                        )
                    } else {
                        "NO SCHEDULE (backup.interval_secs = 0): snapshots are taken only when the operator runs them".to_owned()
                    },
                    "setting backup.interval_secs",
                );
            }
        }
        match self.store.last_backup_run("backup", true).await? {
            Some(run) => r.item(
                &format!(
                    "Last snapshot: {}, {} bytes, {:.1} s",
                    day(run.at),
                    run.bytes,
                    millis(run.millis)
                ),
                "table backup_runs",
            ),
            None => r.item("No snapshot has been taken yet", "table backup_runs"),
        }
        if let Some(fail) = self.store.last_backup_run("backup", false).await? {
            r.item(
                &format!("Last failed backup: {}", day(fail.at)),
                "table backup_runs",
            );
        }
        r.item(
            if self.replica.is_some() {
                "Every file is replicated to a second object store as it is written or deleted"
            } else {
                "Files are not replicated to a second store (no blobs.replica_url)"
            },
            "setting blobs.replica_url",
        );
        r.heading(2, "5. Restoration (Art. 32(1)(c))");
        match self.store.last_backup_run("drill", true).await? {
            Some(run) => r.item(
                &format!(
                    "Last restore drill: {} ({} days ago), a snapshot restored and every chain verified in {:.1} seconds (measured RTO)",
                    day(run.at),
                    (now - run.at).whole_days(),
                    millis(run.millis)
                ),
                "table backup_runs (drill)",
            ),
            None => r.item(
                "NO RESTORE DRILL has run yet (strongroom backup verify --read-data): restoration is unproven",
                "table backup_runs",
            ),
        }
        r.heading(2, "6. Testing and evaluation (Art. 32(1)(d))");
        r.item(
            "This report verified the privacy log while it was written (section 3)",
            "check run at report time",
        );
        match self.store.last_backup_run("verify", true).await? {
            Some(run) => r.item(
                &format!("Last backup verification: {}", day(run.at)),
                "table backup_runs (verify)",
            ),
            None => r.item("No backup verification has run yet", "table backup_runs"),
        }
        Ok(())
    }

    async fn by_design_section(
        &self,
        r: &mut Report,
        t: &Tenant,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        r.heading(2, "7. Data protection by design and by default (Art. 25)");
        let rules = self.rules_of(t.id).await?;
        let json =
            serde_json::to_value(rules).map_err(|e| CoreError::internal("retention rules", e))?;
        let rules_text = json
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", ");
        r.item(
            &format!("Retention runs by itself with these rules: {rules_text}"),
            "table retention_rules (or the defaults)",
        );
        let since = now - Duration::days(30);
        let mut done = Vec::new();
        for kind in [
            JobKind::Hide,
            JobKind::Notice,
            JobKind::DeleteRecordings,
            JobKind::Unhide,
            JobKind::Purge,
        ] {
            let n = self
                .store
                .jobs_of_kind(t.id, kind)
                .await?
                .into_iter()
                .filter(|j| j.status == strongroom_domain::JobStatus::Done && j.job.run_at >= since)
                .count();
            done.push(format!("{kind}: {n}"));
        }
        r.item(
            &format!(
                "The retention engine's steps done in the last 30 days: {}",
                done.join(", ")
            ),
            "table jobs",
        );
        r.item(
            &format!(
                "The tenant's data is kept in the region {:?}",
                t.region.as_str()
            ),
            "setting region of this tenant",
        );
        Ok(())
    }

    async fn registers_section(
        &self,
        r: &mut Report,
        t: &Tenant,
        now: Timestamp,
    ) -> Result<(), CoreError> {
        r.heading(
            2,
            "8. Processors, disclosures and breaches (Art. 28, 30, 33)",
        );
        let own = self.store.processors(t.id, None, 500).await?;
        if own.is_empty() && self.processor_settings.configured.is_empty() {
            r.item("No processor is registered", "table processors");
        }
        for p in &own {
            r.item(
                &format!(
                    "Processor {} ({}), in {}{}",
                    p.name,
                    p.purpose,
                    p.location,
                    if p.tenant_id == TenantId::INSTALLATION {
                        ", the operator's"
                    } else {
                        ""
                    }
                ),
                "table processors",
            );
        }
        for c in &self.processor_settings.configured {
            let country = self
                .processor_settings
                .locations
                .get(&c.host)
                .map_or("an unknown country", String::as_str);
            r.item(
                &format!(
                    "Processor {} at {} ({}), in {country}",
                    c.name, c.host, c.purpose
                ),
                "configuration",
            );
        }
        let disclosures = self.store.disclosures(t.id, None, 500).await?;
        let released = disclosures
            .iter()
            .filter(|d| d.status == "released")
            .count();
        let ordered = disclosures
            .iter()
            .filter(|d| d.status == "released" && d.final_order)
            .count();
        r.item(
            &format!(
                "{} disclosure request(s) from authorities, {released} released ({ordered} under a final order), each after the tenant's objection window and logged record by record",
                disclosures.len()
            ),
            "table disclosures",
        );
        let breaches = self.store.breaches(t.id, None, 500).await?;
        let open = breaches.iter().filter(|b| b.status == "open").count();
        let overdue = breaches
            .iter()
            .filter(|b| crate::registers::breach_overdue(b, now))
            .count();
        r.item(
            &format!(
                "{} breach(es) recorded, {open} not yet notified, {overdue} past the 72-hour deadline",
                breaches.len()
            ),
            "table breaches",
        );
        Ok(())
    }
}

#[allow(clippy::cast_precision_loss)] // milliseconds of a backup run: far below 2^52
fn millis(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The report's Markdown (headings, list items, paragraphs) as a standalone HTML page,
/// every text escaped.
fn html(md: &str) -> String {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let mut out = String::from(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Technical and organisational measures</title></head><body>\n",
    );
    let mut in_list = false;
    for line in md.lines() {
        let item = line.strip_prefix("- ");
        if in_list && item.is_none() {
            out.push_str("</ul>\n");
            in_list = false;
        }
        if let Some(item) = item {
            if !in_list {
                out.push_str("<ul>\n");
                in_list = true;
            }
            let _ = writeln!(out, "<li>{}</li>", esc(item));
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(out, "<h2>{}</h2>", esc(h));
        } else if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(out, "<h1>{}</h1>", esc(h));
        } else if !line.trim().is_empty() {
            let _ = writeln!(out, "<p>{}</p>", esc(line));
        }
    }
    if in_list {
        out.push_str("</ul>\n");
    }
    out.push_str("</body></html>\n");
    out
}
