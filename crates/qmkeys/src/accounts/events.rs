//! What happens to a kept account, told to whoever listens (the webhook) and
//! kept, the newest `accounts_events_keep`, in the store as the owner's
//! timeline. The pool only describes events; delivering them is not its concern.

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
    /// Its key was checked (not rotated): in the timeline only, when the
    /// answer changed or the owner asked; never sent to the webhook, which
    /// would hear from every account every hour.
    Checked,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::Added,
        EventKind::Refreshed,
        EventKind::Failing,
        EventKind::Dead,
        EventKind::Removed,
        EventKind::Checked,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Added => "account.added",
            EventKind::Refreshed => "account.refreshed",
            EventKind::Failing => "account.failing",
            EventKind::Dead => "account.dead",
            EventKind::Removed => "account.removed",
            EventKind::Checked => "account.checked",
        }
    }

    /// Whether the webhook is told (every kind but `Checked`).
    pub fn is_notice(self) -> bool {
        self != EventKind::Checked
    }

    /// The kind whose name is `text`, exactly.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
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

/// An event as the timeline keeps it (`AccountStore::append_event`): JSON
/// with the same names the webhook's body uses, read back as strictly as an
/// upstream answer, since whoever can write the store could plant anything.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Stored {
    event: String,
    uin: String,
    kind: String,
    health: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at: Option<i64>,
    at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    detail: Option<String>,
}

/// The longest `detail` kept: outcome names are short.
const MAX_DETAIL: usize = 200;

impl AccountEvent {
    pub fn to_stored(&self) -> String {
        let stored = Stored {
            event: self.kind.as_str().to_owned(),
            uin: self.uin.to_string(),
            kind: self.account_kind.as_str().to_owned(),
            health: self.health.as_str().to_owned(),
            expires_at: self.expires_at,
            at: self.at,
            detail: self.detail.clone(),
        };
        // Strings and numbers only: serializing cannot fail.
        serde_json::to_string(&stored).unwrap_or_default()
    }

    /// `None` for anything that is not an event this server could have written.
    pub fn from_stored(text: &str) -> Option<Self> {
        let stored: Stored = serde_json::from_str(text).ok()?;
        let account_kind = match stored.kind.as_str() {
            "qq" => AccountKind::Qq,
            "wx" => AccountKind::WeChat,
            _ => return None,
        };
        let detail = match stored.detail {
            Some(d) if d.len() > MAX_DETAIL || d.chars().any(char::is_control) => return None,
            d => d,
        };
        Some(Self {
            kind: EventKind::parse(&stored.event)?,
            uin: Uin::parse(&stored.uin).ok()?,
            account_kind,
            health: Health::parse(&stored.health)?,
            expires_at: stored.expires_at.filter(|t| *t >= 0),
            at: Some(stored.at).filter(|t| *t >= 0)?,
            detail,
        })
    }
}

/// Takes events without waiting: a slow listener must never hold up a refresh.
pub trait EventSink: Send + Sync {
    fn notify(&self, event: AccountEvent);
}

pub type SharedSink = Arc<dyn EventSink>;

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AccountEvent {
        AccountEvent {
            kind: EventKind::Dead,
            uin: Uin::from(1569097443),
            account_kind: AccountKind::Qq,
            health: Health::Unhealthy,
            expires_at: Some(1_722_693_959),
            at: 1_722_600_000,
            detail: Some("upstream code 1000".into()),
        }
    }

    #[test]
    fn a_stored_event_reads_back_as_it_was_and_holds_no_more() {
        let text = event().to_stored();
        assert_eq!(AccountEvent::from_stored(&text), Some(event()));
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["event"], "account.dead");
        assert_eq!(value["uin"], "1569097443");
        assert_eq!(value.as_object().map(|o| o.len()), Some(7));
    }

    #[test]
    fn every_kind_but_a_check_is_a_notice_and_every_name_reads_back() {
        for kind in EventKind::ALL {
            assert_eq!(kind.is_notice(), kind != EventKind::Checked, "{kind:?}");
            assert_eq!(EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(EventKind::parse("account.Checked"), None);
    }

    #[test]
    fn a_planted_or_damaged_event_is_not_read() {
        let good: serde_json::Value = serde_json::from_str(&event().to_stored()).expect("json");
        let planted = |field: &str, value: serde_json::Value| {
            let mut v = good.clone();
            v[field] = value;
            AccountEvent::from_stored(&v.to_string())
        };
        assert_eq!(planted("event", "account.hacked".into()), None);
        assert_eq!(planted("uin", "0".into()), None);
        assert_eq!(
            planted("uin", 1569097443.into()),
            None,
            "a string, as written"
        );
        assert_eq!(planted("kind", "app".into()), None);
        assert_eq!(planted("health", "great".into()), None);
        assert_eq!(planted("at", (-1).into()), None);
        assert_eq!(planted("detail", "x".repeat(201).into()), None);
        assert_eq!(planted("detail", "one\nforged line".into()), None);
        assert_eq!(
            planted("musickey", "Q_H_L_x".into()),
            None,
            "no other field"
        );
        assert_eq!(AccountEvent::from_stored("not json"), None);
    }
}
