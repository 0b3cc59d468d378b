//! Places for open connections: a total, and a share per client.

use crate::domain::ClientId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::Notify;

#[derive(Debug)]
pub struct Slots {
    max_total: usize,
    max_per_client: usize,
    held: Mutex<Held>,
    emptied: Notify,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    /// Only clients holding a place: the map never outgrows `max_total`.
    per_client: HashMap<ClientId, usize>,
}

/// One open connection's place; given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    /// `None` for a trusted proxy, whose connections count only in the total.
    client: Option<ClientId>,
}

impl Slots {
    pub fn new(max_total: usize, max_per_client: usize) -> Self {
        Self {
            max_total,
            max_per_client,
            held: Mutex::new(Held::default()),
            emptied: Notify::new(),
        }
    }

    fn held(&self) -> std::sync::MutexGuard<'_, Held> {
        // The counts stay consistent under every early exit, so a panic
        // elsewhere while holding the lock leaves nothing to repair.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A place for a connection of `client`, or `None` past either cap.
    pub fn take(self: &Arc<Self>, client: ClientId, exempt: bool) -> Option<Slot> {
        let mut held = self.held();
        if held.total >= self.max_total {
            return None;
        }
        if !exempt {
            let mine = held.per_client.entry(client).or_insert(0);
            if *mine >= self.max_per_client {
                return None;
            }
            *mine += 1;
        }
        held.total += 1;
        Some(Slot {
            slots: self.clone(),
            client: (!exempt).then_some(client),
        })
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.held().total
    }

    /// Clients with a connection open now (what the per-client map holds).
    #[cfg(test)]
    fn clients(&self) -> usize {
        self.held().per_client.len()
    }

    /// Returns once no connection is open.
    pub async fn wait_empty(&self) {
        loop {
            let emptied = self.emptied.notified();
            if self.open() == 0 {
                return;
            }
            emptied.await;
        }
    }

    fn give_back(&self, client: Option<ClientId>) {
        let mut held = self.held();
        held.total = held.total.saturating_sub(1);
        if let Some(client) = client {
            if let Some(mine) = held.per_client.get_mut(&client) {
                *mine = mine.saturating_sub(1);
                if *mine == 0 {
                    held.per_client.remove(&client);
                }
            }
        }
        if held.total == 0 {
            self.emptied.notify_waiters();
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.slots.give_back(self.client);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::IpAddr;

    fn id(s: &str) -> ClientId {
        ClientId::of(s.parse::<IpAddr>().expect("ip"), 64)
    }

    #[test]
    fn each_client_gets_its_share_and_all_together_the_total() {
        let slots = Arc::new(Slots::new(5, 2));
        let a1 = slots.take(id("192.0.2.1"), false).expect("first");
        let _a2 = slots.take(id("192.0.2.1"), false).expect("second");
        assert!(slots.take(id("192.0.2.1"), false).is_none(), "per client");
        assert!(
            slots.take(id("2001:db8::1"), false).is_some_and(|_| true),
            "another client"
        );
        let _b = slots.take(id("192.0.2.2"), false).expect("b");
        let _p1 = slots.take(id("10.0.0.1"), true).expect("proxy");
        let _p2 = slots.take(id("10.0.0.1"), true).expect("a proxy is exempt");
        assert_eq!(slots.open(), 5);
        assert!(slots.take(id("192.0.2.3"), false).is_none(), "total");
        assert!(
            slots.take(id("10.0.0.1"), true).is_none(),
            "total binds proxies"
        );
        drop(a1);
        assert!(slots.take(id("192.0.2.1"), false).is_some(), "given back");
    }

    #[test]
    fn the_client_map_forgets_clients_that_left() {
        let slots = Arc::new(Slots::new(100, 100));
        let held: Vec<_> = (0..50)
            .filter_map(|i| slots.take(id(&format!("198.51.100.{i}")), false))
            .collect();
        assert_eq!(slots.clients(), 50);
        drop(held);
        assert_eq!((slots.open(), slots.clients()), (0, 0));
    }

    #[tokio::test]
    async fn waiting_for_empty_returns_when_the_last_connection_goes() {
        let slots = Arc::new(Slots::new(4, 4));
        let slot = slots.take(id("192.0.2.1"), false).expect("slot");
        let waiter = tokio::spawn({
            let slots = slots.clone();
            async move { slots.wait_empty().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        drop(slot);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("returns")
            .expect("joins");
    }
}
