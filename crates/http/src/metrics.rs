//! Prometheus metrics: request counts and latencies by route template and status.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

pub struct Metrics {
    handle: Option<PrometheusHandle>,
}

static GLOBAL: OnceLock<Arc<Metrics>> = OnceLock::new();

impl Metrics {
    /// The process-wide recorder (metrics are global; several servers in one test process share it).
    pub fn global() -> Arc<Metrics> {
        GLOBAL
            .get_or_init(|| {
                let handle = PrometheusBuilder::new()
                    .set_buckets_for_metric(
                        Matcher::Full("strongroom_http_request_duration_seconds".into()),
                        &[
                            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                            2.5,
                        ],
                    )
                    .and_then(PrometheusBuilder::install_recorder)
                    .map_err(|e| tracing::warn!(error = %e, "metrics recorder not installed"))
                    .ok();
                Arc::new(Metrics { handle })
            })
            .clone()
    }

    pub fn render(&self) -> String {
        self.handle
            .as_ref()
            .map(PrometheusHandle::render)
            .unwrap_or_default()
    }
}

pub async fn track(State(_state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "<unmatched>".to_owned(), |m| m.as_str().to_owned());
    let method = req.method().to_string();
    let start = Instant::now();
    let resp = next.run(req).await;
    let status = resp.status().as_u16().to_string();
    let labels = [("method", method), ("route", route), ("status", status)];
    metrics::counter!("strongroom_http_requests_total", &labels).increment(1);
    metrics::histogram!("strongroom_http_request_duration_seconds", &labels)
        .record(start.elapsed().as_secs_f64());
    resp
}

/// The backup figures, from the live store's record of runs (whichever process ran them) and
/// the job queue: appended to the recorder's text as gauges and a counter.
pub fn backup_lines(out: &mut String, b: &strongroom_core::backup::BackupStatus) {
    use std::fmt::Write as _;
    let ts = |t: Option<time::OffsetDateTime>| {
        t.map_or(0.0, |t| {
            (t - time::OffsetDateTime::UNIX_EPOCH).as_seconds_f64()
        })
    };
    let gauges = [
        (
            "strongroom_backup_last_success_timestamp_seconds",
            "When the last backup succeeded (0: never).",
            ts(b.last_backup),
        ),
        (
            "strongroom_backup_last_failure_timestamp_seconds",
            "When the last backup failed (0: never).",
            ts(b.last_backup_failure),
        ),
        (
            "strongroom_backup_drill_last_success_timestamp_seconds",
            "When the last restore drill (backup verify --read-data) succeeded (0: never).",
            ts(b.last_drill),
        ),
        (
            "strongroom_backup_drill_last_failure_timestamp_seconds",
            "When the last restore drill failed (0: never).",
            ts(b.last_drill_failure),
        ),
        (
            "strongroom_backup_overdue",
            "1 when backup.interval_secs is set and no backup succeeded within two intervals.",
            f64::from(u8::from(b.overdue)),
        ),
        (
            "strongroom_backup_keys_lag_seconds",
            "How long the oldest forget not yet carried into the backup target's key snapshot has waited.",
            b.keys_lag_seconds,
        ),
        (
            "strongroom_replication_lag_seconds",
            "How long the oldest file change not yet replicated to blobs.replica_url has waited.",
            b.replication_lag_seconds,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    let name = "strongroom_backup_runs_total";
    let _ = writeln!(
        out,
        "# HELP {name} Backups, drills, verifies, prunes and restores recorded, by outcome.\n# TYPE {name} counter"
    );
    for (kind, ok, n) in &b.runs {
        let outcome = if *ok { "ok" } else { "failed" };
        let _ = writeln!(out, "{name}{{kind=\"{kind}\",outcome=\"{outcome}\"}} {n}");
    }
}

impl AppState {
    pub fn metrics_text(&self) -> String {
        self.metrics.render()
    }
}
