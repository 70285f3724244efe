//! The HTTP API of Strongroom (axum): routes under `/api/v1`, problem+json errors, OpenAPI at
//! `/openapi.json`, health at `/healthz`, Prometheus metrics at `/metrics`.
//!
//! Only this crate knows about HTTP and JSON. Handlers parse input into domain types, call one
//! service of `strongroom-core`, and shape the answer; they hold no rules of their own.

pub use axum::Router;

pub mod console;
pub mod extract;
pub mod metrics;
pub mod openapi;
pub mod problem;
mod routes;

use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use std::net::SocketAddr;
use std::sync::Arc;
use strongroom_core::Services;
use tokio::net::TcpListener;
use tower_http::trace::TraceLayer;

/// The largest JSON body accepted, in bytes.
pub const JSON_BODY_LIMIT: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub services: Services,
    /// Trust the last `X-Forwarded-For` entry as the client address.
    pub behind_proxy: bool,
    metrics: Arc<metrics::Metrics>,
}

impl AppState {
    pub fn new(services: Services, behind_proxy: bool) -> Self {
        Self {
            services,
            behind_proxy,
            metrics: metrics::Metrics::global(),
        }
    }
}

/// Builds the whole application.
pub fn router(state: AppState) -> Router {
    let api = routes::api();
    Router::new()
        .nest("/api/v1", api)
        .merge(routes::system())
        .merge(console::router(state.clone()))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(JSON_BODY_LIMIT))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(axum::middleware::map_response(
            |mut r: axum::response::Response| async move {
                let h = r.headers_mut();
                h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                h.insert(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                r
            },
        ))
        .layer(
            // Spans name the route template, never the raw URI: query strings may carry personal data.
            TraceLayer::new_for_http()
                .make_span_with(|req: &axum::http::Request<_>| {
                    let route = req
                        .extensions()
                        .get::<axum::extract::MatchedPath>()
                        .map_or("<unmatched>", axum::extract::MatchedPath::as_str);
                    tracing::info_span!("http", method = %req.method(), route)
                })
                .on_request(())
                .on_response(
                    tower_http::trace::DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(tower_http::LatencyUnit::Micros),
                ),
        )
        .with_state(state)
}

/// Serves until `shutdown` completes, then finishes in-flight requests.
/// Serves over TLS (`axum-server` with rustls: HTTP/2 or HTTP/1.1 by ALPN) until `shutdown`
/// resolves; in-flight requests get 30 s to finish.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    tls: axum_server::tls_rustls::RustlsConfig,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let handle = axum_server::Handle::new();
    let stopping = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        stopping.graceful_shutdown(Some(std::time::Duration::from_secs(30)));
    });
    // TCP_NODELAY as axum::serve sets it: without it a TLS record that follows a small one
    // waits for the peer's delayed ACK (tens of milliseconds at p99).
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(tls)
        .acceptor(axum_server::accept::NoDelayAcceptor::new());
    axum_server::from_tcp(listener.into_std()?)?
        .acceptor(acceptor)
        .handle(handle)
        .serve(app.into_make_service_with_connect_info::<SocketAddr>())
        .await
}

/// Every answer over TLS tells the browser to use nothing else (a year, subdomains too).
/// Requests are marked [`OverTls`], so the handlers that print their own URL say `https`.
pub fn with_hsts(router: Router) -> Router {
    router
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ))
        .layer(axum::Extension(OverTls))
}

/// The mark of a request that came over this server's own TLS.
#[derive(Clone, Copy, Debug)]
pub struct OverTls;

pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}
