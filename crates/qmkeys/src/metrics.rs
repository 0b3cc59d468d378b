//! Prometheus metrics. Every label has a small fixed set of values (route
//! templates, status codes, cache names, module.method, outcomes): never a
//! uin, a key or anything a caller chooses.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub request_seconds: HistogramVec,
    pub cache: IntCounterVec,
    pub coalesced: IntCounterVec,
    pub upstream_calls: IntCounterVec,
    pub upstream_seconds: HistogramVec,
    pub accounts: IntGaugeVec,
    /// Records the account store's last load left out, by the field that failed.
    pub store_unreadable: IntGaugeVec,
    pub background_refreshes: IntCounterVec,
    pub lease_takeovers: IntCounterVec,
    pub webhook_deliveries: IntCounterVec,
    /// QR logins open now, by kind (`qq`, `wx`).
    pub login_sessions: IntGaugeVec,
    /// Logins by kind (`qq`, `wx`, `fast`) and outcome.
    pub logins: IntCounterVec,
    /// Polls of the login hosts by kind (`qq`, `wx`).
    pub login_polls: IntCounterVec,
    /// Connections closed as they arrived, past a connection cap.
    pub connections_refused: IntCounter,
    /// Connections the watchdog closed, by reason (`header_timeout`,
    /// `idle_timeout`, `tls_timeout`).
    pub connections_closed: IntCounterVec,
    /// Failed accepts (EMFILE and the like), each followed by a pause.
    pub accept_errors: IntCounter,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

fn counter(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<IntCounterVec> {
    let c = IntCounterVec::new(Opts::new(name, help), labels)?;
    r.register(Box::new(c.clone()))?;
    Ok(c)
}

fn histogram(
    r: &Registry,
    name: &str,
    help: &str,
    labels: &[&str],
) -> prometheus::Result<HistogramVec> {
    let h = HistogramVec::new(HistogramOpts::new(name, help), labels)?;
    r.register(Box::new(h.clone()))?;
    Ok(h)
}

impl Metrics {
    pub fn new() -> prometheus::Result<Self> {
        let r = Registry::new();
        let accounts = IntGaugeVec::new(
            Opts::new("qmkeys_upload_accounts", "Upload accounts by health"),
            &["health"],
        )?;
        r.register(Box::new(accounts.clone()))?;
        let store_unreadable = IntGaugeVec::new(
            Opts::new(
                "qmkeys_store_records_unreadable",
                "Account store records left out at the last load (altered, misplaced or invalid), by the field that failed",
            ),
            &["field"],
        )?;
        r.register(Box::new(store_unreadable.clone()))?;
        let login_sessions = IntGaugeVec::new(
            Opts::new("qmkeys_login_sessions", "QR logins open now, by kind"),
            &["kind"],
        )?;
        r.register(Box::new(login_sessions.clone()))?;
        let connections_refused = IntCounter::new(
            "qmkeys_connections_refused_total",
            "Connections closed on arrival: max_connections or max_connections_per_client reached",
        )?;
        r.register(Box::new(connections_refused.clone()))?;
        let accept_errors = IntCounter::new(
            "qmkeys_accept_errors_total",
            "Failed accepts (such as too many open files), each followed by a pause",
        )?;
        r.register(Box::new(accept_errors.clone()))?;
        Ok(Self {
            connections_refused,
            accept_errors,
            connections_closed: counter(
                &r,
                "qmkeys_connections_closed_total",
                "Connections closed by the server for being slow or idle, by reason",
                &["reason"],
            )?,
            login_sessions,
            logins: counter(
                &r,
                "qmkeys_logins_total",
                "QR and fast logins by kind and outcome",
                &["kind", "outcome"],
            )?,
            login_polls: counter(
                &r,
                "qmkeys_login_polls_total",
                "Polls of the QR login hosts by kind",
                &["kind"],
            )?,
            requests: counter(
                &r,
                "qmkeys_http_requests_total",
                "HTTP requests by route and status",
                &["route", "status"],
            )?,
            request_seconds: histogram(
                &r,
                "qmkeys_http_request_duration_seconds",
                "HTTP request latency by route",
                &["route"],
            )?,
            cache: counter(
                &r,
                "qmkeys_cache_requests_total",
                "Cache lookups by cache and result",
                &["cache", "result"],
            )?,
            coalesced: counter(
                &r,
                "qmkeys_refresh_coalesced_total",
                "Refreshes that waited for an identical one already in flight",
                &["scope"],
            )?,
            upstream_calls: counter(
                &r,
                "qmkeys_upstream_calls_total",
                "Upstream calls by module.method and outcome",
                &["call", "outcome"],
            )?,
            upstream_seconds: histogram(
                &r,
                "qmkeys_upstream_call_duration_seconds",
                "Upstream call latency by module.method",
                &["call"],
            )?,
            background_refreshes: counter(
                &r,
                "qmkeys_background_refreshes_total",
                "Background refreshes of upload accounts by outcome",
                &["outcome"],
            )?,
            lease_takeovers: counter(
                &r,
                "qmkeys_lease_takeovers_total",
                "Leases taken from a holder that let them lapse (it stopped or died), by scope",
                &["scope"],
            )?,
            webhook_deliveries: counter(
                &r,
                "qmkeys_webhook_deliveries_total",
                "Webhook notices by event and outcome (delivered, retried, failed, dropped)",
                &["event", "outcome"],
            )?,
            accounts,
            store_unreadable,
            registry: r,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding gathered families into a Vec cannot fail.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}
