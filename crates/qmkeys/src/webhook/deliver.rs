//! One event to the receiver: up to `tries` POSTs with growing pauses, until
//! one is answered 2xx. The URL's path and query carry the receiver's token,
//! so it is logged as scheme, host and port alone ([`WebhookUrl`]'s Display),
//! and a reqwest error only after `without_url()`.

use super::{body, sign, Tuning, WebhookUrl};
use crate::accounts::AccountEvent;
use crate::backoff::Backoff;
use crate::metrics::Metrics;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;

pub const EVENT_HEADER: &str = "X-Qmkeys-Event";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    Failed,
}

pub struct Deliverer {
    http: reqwest::Client,
    url: WebhookUrl,
    secret: Option<SecretString>,
    tuning: Tuning,
    metrics: Option<Arc<Metrics>>,
}

impl Deliverer {
    pub fn new(
        url: WebhookUrl,
        secret: Option<SecretString>,
        tuning: Tuning,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("qmkeys/", env!("CARGO_PKG_VERSION")))
            .timeout(tuning.try_timeout)
            // A redirect would send the notice somewhere the owner did not configure.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(reqwest::Error::without_url)?;
        Ok(Self {
            http,
            url,
            secret,
            tuning,
            metrics: None,
        })
    }

    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    pub fn tuning(&self) -> &Tuning {
        &self.tuning
    }

    /// Tries until delivered or out of tries; the caller decides whether to wait.
    pub async fn deliver(&self, event: &AccountEvent) -> Outcome {
        let name = event.kind.as_str();
        let body = body::build(event);
        let tries = self.tuning.tries.max(1);
        for attempt in 1..=tries {
            match self.try_once(name, &body).await {
                Ok(()) => {
                    self.count(name, "delivered");
                    tracing::info!(event = name, attempt, "webhook delivered");
                    return Outcome::Delivered;
                }
                Err(problem) if attempt < tries => {
                    self.count(name, "retried");
                    tracing::warn!(
                        event = name,
                        attempt,
                        problem = %problem,
                        url = %self.url,
                        "webhook delivery failed; trying again"
                    );
                    tokio::time::sleep(self.pause(attempt)).await;
                }
                Err(problem) => {
                    self.count(name, "failed");
                    tracing::warn!(event = name, attempt, problem = %problem, url = %self.url, "webhook delivery failed; giving up on this event");
                }
            }
        }
        Outcome::Failed
    }

    async fn try_once(&self, name: &str, body: &[u8]) -> Result<(), String> {
        let mut request = self
            .http
            .post(self.url.expose().clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(EVENT_HEADER, name)
            .body(body.to_vec());
        if let Some(secret) = &self.secret {
            request = request.header(
                sign::HEADER,
                sign::signature(secret.expose_secret().as_bytes(), body),
            );
        }
        match request.send().await {
            Ok(answer) if answer.status().is_success() => Ok(()),
            Ok(answer) if answer.status().is_redirection() => Err(format!(
                "redirected with HTTP {} (not followed)",
                answer.status().as_u16()
            )),
            Ok(answer) => Err(format!("answered HTTP {}", answer.status().as_u16())),
            Err(err) if err.is_timeout() => Err("timed out".to_owned()),
            Err(err) => Err(format!("connection failed: {}", causes(&err.without_url()))),
        }
    }

    /// base, 4 x base, 16 x base ..., plus up to a quarter more so that many
    /// instances do not retry in step.
    fn pause(&self, attempt: u32) -> Duration {
        Backoff {
            first: self.tuning.retry_base,
            factor: 4,
            max: Duration::MAX,
            jitter: 0.25,
        }
        .pause(attempt)
    }

    fn count(&self, event: &str, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.webhook_deliveries
                .with_label_values(&[event, outcome])
                .inc();
        }
    }
}

/// An error and its causes on one line. reqwest puts the URL in the outermost
/// error's text only, which `without_url()` has taken out.
fn causes(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_fourfold_with_a_little_jitter() {
        let tuning = Tuning {
            retry_base: Duration::from_secs(1),
            ..Tuning::default()
        };
        let d = Deliverer::new(
            WebhookUrl::parse("http://127.0.0.1:9/").expect("url"),
            None,
            tuning,
        )
        .expect("client");
        for (attempt, secs) in [(1, 1.0), (2, 4.0), (3, 16.0)] {
            let pause = d.pause(attempt).as_secs_f64();
            assert!(pause >= secs && pause < secs * 1.25, "{attempt}: {pause}");
        }
    }
}
