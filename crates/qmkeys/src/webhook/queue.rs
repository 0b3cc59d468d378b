//! The bounded queue between the pool and the receiver. Taking an event never
//! waits; one background task delivers them in order, so a slow or dead
//! receiver holds up only other notices, never a refresh or a request.

use super::deliver::Deliverer;
use crate::accounts::{AccountEvent, EventSink};
use crate::metrics::Metrics;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;

struct State {
    queue: VecDeque<AccountEvent>,
    /// An event taken from the queue and not yet delivered or given up.
    sending: bool,
}

struct Shared {
    state: Mutex<State>,
    wake: Notify,
    capacity: usize,
    metrics: Option<Arc<Metrics>>,
}

/// The handle the pool holds. The delivering task stops when it is dropped.
pub struct Webhook {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Webhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Webhook {
    /// Starts the delivering task; needs a Tokio runtime.
    pub fn spawn(deliverer: Deliverer, metrics: Option<Arc<Metrics>>) -> Self {
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                sending: false,
            }),
            wake: Notify::new(),
            capacity: deliverer.tuning().queue_capacity.max(1),
            metrics,
        });
        let task = tokio::spawn(drain(shared.clone(), deliverer));
        Self { shared, task }
    }

    /// Waits up to `within` for everything queued to be delivered or given
    /// up; whether it all was.
    pub async fn flush(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let (queued, sending) = {
                let state = self.lock();
                (state.queue.len(), state.sending)
            };
            if queued == 0 && !sending {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(
                    queued,
                    "webhook notices still undelivered at shutdown; they are lost"
                );
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventSink for Webhook {
    fn notify(&self, event: AccountEvent) {
        let dropped = {
            let mut state = self.lock();
            let dropped = if state.queue.len() >= self.shared.capacity {
                state.queue.pop_front()
            } else {
                None
            };
            state.queue.push_back(event);
            dropped
        };
        if let Some(old) = dropped {
            let name = old.kind.as_str();
            tracing::warn!(
                event = name,
                capacity = self.shared.capacity,
                "webhook queue full: dropped its oldest notice"
            );
            if let Some(m) = &self.shared.metrics {
                m.webhook_deliveries
                    .with_label_values(&[name, "dropped"])
                    .inc();
            }
        }
        self.shared.wake.notify_one();
    }
}

async fn drain(shared: Arc<Shared>, deliverer: Deliverer) {
    loop {
        let next = {
            let mut state = shared.state.lock().unwrap_or_else(PoisonError::into_inner);
            let next = state.queue.pop_front();
            state.sending = next.is_some();
            next
        };
        match next {
            Some(event) => {
                deliverer.deliver(&event).await;
            }
            // A notify between the check and here leaves a permit, so none is missed.
            None => shared.wake.notified().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::{EventKind, Health};
    use crate::domain::{AccountKind, Uin};
    use crate::webhook::{Tuning, WebhookUrl};

    fn event(kind: EventKind) -> AccountEvent {
        AccountEvent {
            kind,
            uin: Uin::from(123456789),
            account_kind: AccountKind::Qq,
            health: Health::Healthy,
            expires_at: None,
            at: 0,
            detail: None,
        }
    }

    #[tokio::test]
    async fn a_full_queue_drops_its_oldest_notice_and_counts_it() {
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        // Nothing listens on the discard port, and the pause after the first
        // failure is long: the first notice holds the task for the whole test.
        let deliverer = Deliverer::new(
            WebhookUrl::parse("http://127.0.0.1:9/").expect("url"),
            None,
            Tuning {
                retry_base: Duration::from_secs(600),
                queue_capacity: 2,
                ..Tuning::default()
            },
        )
        .expect("client");
        let webhook = Webhook::spawn(deliverer, Some(metrics.clone()));
        assert!(webhook.flush(Duration::ZERO).await, "nothing to flush");

        webhook.notify(event(EventKind::Added));
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while !webhook.lock().sending {
            assert!(tokio::time::Instant::now() < deadline, "never taken");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for kind in [EventKind::Refreshed, EventKind::Failing, EventKind::Dead] {
            webhook.notify(event(kind));
        }

        let queued: Vec<_> = webhook.lock().queue.iter().map(|e| e.kind).collect();
        assert_eq!(queued, vec![EventKind::Failing, EventKind::Dead]);
        let dropped = |name: &str| {
            metrics
                .webhook_deliveries
                .with_label_values(&[name, "dropped"])
                .get()
        };
        assert_eq!(dropped("account.refreshed"), 1);
        assert_eq!(dropped("account.failing"), 0);
        assert!(
            !webhook.flush(Duration::from_millis(50)).await,
            "a stuck receiver is not waited for past the limit"
        );
    }
}
