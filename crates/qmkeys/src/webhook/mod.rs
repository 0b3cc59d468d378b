//! Notices to the owner's webhook when something happens to a kept account
//! (see `docs/operations.md`). At-least-once: each event is POSTed until a
//! 2xx answer or out of tries; a receiver should treat repeats as harmless.

pub mod body;
pub mod deliver;
mod queue;
pub mod sign;
mod url;

pub use deliver::{Deliverer, Outcome, EVENT_HEADER};
pub use queue::Webhook;
pub use url::WebhookUrl;

use crate::accounts::AccountEvent;
use crate::config::Settings;
use crate::metrics::Metrics;
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

/// The server's notifier, when `webhook_url` is set.
pub fn from_settings(
    settings: &Settings,
    metrics: Arc<Metrics>,
) -> Result<Option<Webhook>, reqwest::Error> {
    let Some(url) = &settings.webhook_url else {
        return Ok(None);
    };
    let deliverer = Deliverer::new(
        url.clone(),
        settings.webhook_secret.clone(),
        settings.webhook_tuning.clone(),
    )?
    .with_metrics(metrics.clone());
    tracing::info!(url = %url, signed = settings.webhook_secret.is_some(), "account notices go to a webhook");
    Ok(Some(Webhook::spawn(deliverer, Some(metrics))))
}

/// Delivers one notice now, retries included, for one-shot commands that
/// have no background task to hand it to. `None` without `webhook_url`.
pub async fn send_now(settings: &Settings, event: &AccountEvent) -> Option<Outcome> {
    let url = settings.webhook_url.as_ref()?;
    match Deliverer::new(
        url.clone(),
        settings.webhook_secret.clone(),
        settings.webhook_tuning.clone(),
    ) {
        Ok(deliverer) => Some(deliverer.deliver(event).await),
        Err(_) => Some(Outcome::Failed),
    }
}
