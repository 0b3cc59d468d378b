//! Notices to the owner's webhook when something happens to a kept account
//! (see `docs/operations.md`). At-least-once: each event is POSTed until a
//! 2xx answer or out of tries; a receiver should treat repeats as harmless.

pub mod body;
pub mod deliver;
mod queue;
pub mod sign;

/// The URL is a setting; its type lives with the settings.
pub use crate::config::WebhookUrl;
pub use deliver::{Deliverer, Outcome, EVENT_HEADER};
pub use queue::Webhook;

use crate::accounts::AccountEvent;
use crate::metrics::Metrics;
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// Delivery limits. Not settings: only tests change them, to run fast.
#[derive(Debug, Clone)]
pub struct Tuning {
    pub tries: u32,
    /// The pause after the first failed try; each later one is four times longer.
    pub retry_base: Duration,
    pub try_timeout: Duration,
    /// Notices waiting at once; past it the oldest is dropped.
    pub queue_capacity: usize,
}

impl Default for Tuning {
    fn default() -> Self {
        Self {
            tries: 3,
            retry_base: Duration::from_secs(1),
            try_timeout: Duration::from_secs(5),
            queue_capacity: 1_000,
        }
    }
}

/// What the notifier is built from; `startup` makes it from the settings
/// when `webhook_url` is set.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    pub url: WebhookUrl,
    /// Signs each notice when set.
    pub secret: Option<SecretString>,
    pub tuning: Tuning,
}

/// The server's notifier.
pub fn from_settings(
    settings: WebhookSettings,
    metrics: Arc<Metrics>,
) -> Result<Webhook, reqwest::Error> {
    let url = settings.url;
    let signed = settings.secret.is_some();
    let deliverer = Deliverer::new(url.clone(), settings.secret, settings.tuning)?
        .with_metrics(metrics.clone());
    tracing::info!(url = %url, signed, "account notices go to a webhook");
    Ok(Webhook::spawn(deliverer, Some(metrics)))
}

/// Delivers one notice now, retries included, for one-shot commands that
/// have no background task to hand it to.
pub async fn send_now(settings: &WebhookSettings, event: &AccountEvent) -> Outcome {
    match Deliverer::new(
        settings.url.clone(),
        settings.secret.clone(),
        settings.tuning.clone(),
    ) {
        Ok(deliverer) => deliverer.deliver(event).await,
        Err(_) => Outcome::Failed,
    }
}
