//! Upload accounts: the server's own QQ Music logins. They live in a store,
//! are used in turn for InitUpload, and are kept alive by refreshing each key
//! before it expires (see [`keeper`]).

mod check;
pub mod events;
pub mod keeper;
mod keys;
mod logout;
mod pool;
mod record;
pub mod redis_store;
mod rotate;
mod schedule;
pub mod sqlite;
pub mod store;
mod timeline;

pub use check::check_text;
pub use events::{AccountEvent, EventKind, EventSink, SharedSink};
pub use keys::ApiKeyRecord;
pub use logout::{logout_then_remove, LogoutError, Removal};
pub use pool::{Account, AccountPool, NextAction, PoolSettings};
pub use rotate::{is_fatal, RefreshFailure};
pub use store::{AccountStore, Health, Loaded, Problem, StoreError, StoredAccount, Unreadable};

use crate::domain::Uin;

/// A uin as logs and admin views show it: enough to tell accounts apart.
pub fn mask(uin: Uin) -> String {
    mask_text(&uin.to_string())
}

pub(crate) fn mask_text(s: &str) -> String {
    match (s.get(..2), s.get(s.len().saturating_sub(2)..)) {
        (Some(head), Some(tail)) if s.len() >= 6 => format!("{head}***{tail}"),
        _ => "***".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masked_uins_show_only_the_ends() {
        assert_eq!(mask(Uin::from(1569097443)), "15***43");
        assert_eq!(mask(Uin::from(12345)), "***");
    }
}
