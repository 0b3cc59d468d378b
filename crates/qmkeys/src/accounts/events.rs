//! What happens to a kept account, told to whoever listens (the webhook).
//! The pool only describes events; delivering them is not its concern.

use super::{Health, StoredAccount};
use crate::domain::{AccountKind, Uin};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    /// An account entered the store (config seeding, `save=true`, the CLI).
    Added,
    /// Its key was rotated and the rotation committed.
    Refreshed,
    /// A refresh failed for now and will be tried again.
    Failing,
    /// Upstream says it is finished: a new login is needed.
    Dead,
    /// It left the store.
    Removed,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [
        EventKind::Added,
        EventKind::Refreshed,
        EventKind::Failing,
        EventKind::Dead,
        EventKind::Removed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "account.added",
            EventKind::Refreshed => "account.refreshed",
            EventKind::Failing => "account.failing",
            EventKind::Dead => "account.dead",
            EventKind::Removed => "account.removed",
        }
    }
}

/// One event. Holds no key or token, so it may be queued, logged and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountEvent {
    pub kind: EventKind,
    pub uin: Uin,
    pub account_kind: AccountKind,
    pub health: Health,
    /// Unix seconds when the current key expires, if known.
    pub expires_at: Option<i64>,
    /// Unix seconds when it happened.
    pub at: i64,
    /// Why, for failing and dead: an outcome name such as `upstream code 1000`.
    pub detail: Option<String>,
}

impl AccountEvent {
    pub fn of(kind: EventKind, record: &StoredAccount, at: i64) -> Self {
        Self {
            kind,
            uin: record.uin(),
            account_kind: record.cred.kind(),
            health: record.health,
            expires_at: record.expires_at,
            at,
            detail: None,
        }
    }

    pub fn with_detail(mut self, detail: &str) -> Self {
        self.detail = Some(detail.to_owned());
        self
    }
}

/// Takes events without waiting: a slow listener must never hold up a refresh.
pub trait EventSink: Send + Sync {
    fn notify(&self, event: AccountEvent);
}

pub type SharedSink = Arc<dyn EventSink>;
