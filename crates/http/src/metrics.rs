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

impl AppState {
    pub fn metrics_text(&self) -> String {
        self.metrics.render()
    }
}
