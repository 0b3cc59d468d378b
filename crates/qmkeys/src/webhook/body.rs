//! The JSON a receiver gets. Built from an [`AccountEvent`], which holds no
//! key or token, so no secret can reach it.

use crate::accounts::{AccountEvent, EventKind};
use crate::beijing;
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Body<'a> {
    event: &'static str,
    /// A string: WeChat ids exceed what a JavaScript number holds exactly.
    uin: String,
    kind: &'static str,
    health: &'static str,
    expires_timestamp: i64,
    expires_time: String,
    time: String,
    message: &'a str,
}

/// The raw body bytes; the signature covers exactly these.
pub fn build(event: &AccountEvent) -> Vec<u8> {
    let message = message(event);
    let body = Body {
        event: event.kind.as_str(),
        uin: event.uin.to_string(),
        kind: event.account_kind.as_str(),
        health: event.health.as_str(),
        expires_timestamp: event.expires_at.unwrap_or(0),
        expires_time: event
            .expires_at
            .map(beijing::format_unix)
            .unwrap_or_default(),
        time: beijing::format_unix(event.at),
        message: &message,
    };
    // A struct of strings and integers always serialises.
    serde_json::to_vec(&body).unwrap_or_default()
}

/// What happened and what to do, in a sentence an owner reads on a phone.
fn message(event: &AccountEvent) -> String {
    let why = event
        .detail
        .as_deref()
        .map(|d| format!("（{d}）"))
        .unwrap_or_default();
    match event.kind {
        EventKind::Added => "账号已加入 qmkeys，之后会自动刷新、保持登录，无需操作。".to_owned(),
        EventKind::Refreshed => "账号的 musickey 已自动刷新，无需操作。".to_owned(),
        EventKind::Failing => format!(
            "账号刷新暂时失败{why}，qmkeys 会稍后自动重试；若一直失败，请检查与 QQ 音乐的网络连接。"
        ),
        EventKind::Dead => format!(
            "账号已失效{why}，无法再刷新：请重新登录（扫码登录或 qmkeys accounts add）后再保存。"
        ),
        EventKind::Removed => "账号已从 qmkeys 移除，不再自动刷新。".to_owned(),
        // Not sent (EventKind::is_notice); worded all the same.
        EventKind::Checked => format!(
            "账号的 key 已检查（未轮换）：{}。",
            event.detail.as_deref().unwrap_or("-")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::Health;
    use crate::domain::{AccountKind, Uin};
    use serde_json::{json, Value};

    fn event(kind: EventKind) -> AccountEvent {
        AccountEvent {
            kind,
            uin: Uin::from(9_999_999_999_999_999_999),
            account_kind: AccountKind::WeChat,
            health: Health::Unhealthy,
            expires_at: Some(1722693959),
            at: 0,
            detail: Some("upstream code 1000".into()),
        }
    }

    #[test]
    fn the_body_has_exactly_the_documented_fields_and_types() {
        let body: Value = serde_json::from_slice(&build(&event(EventKind::Dead))).expect("json");
        let message = body["message"].as_str().expect("message").to_owned();
        assert!(message.contains("重新登录") && message.contains("upstream code 1000"));
        assert_eq!(
            body,
            json!({
                "event": "account.dead",
                "uin": "9999999999999999999",
                "kind": "wx",
                "health": "unhealthy",
                "expiresTimestamp": 1722693959,
                "expiresTime": "2024-08-03 22:05:59",
                "time": "1970-01-01 08:00:00",
                "message": message,
            })
        );
    }

    #[test]
    fn an_unknown_expiry_is_zero_and_blank_and_every_event_has_a_message() {
        for kind in EventKind::ALL {
            let mut e = event(kind);
            e.expires_at = None;
            e.detail = None;
            let body: Value = serde_json::from_slice(&build(&e)).expect("json");
            assert_eq!(body["event"], kind.as_str());
            assert_eq!(body["expiresTimestamp"], 0);
            assert_eq!(body["expiresTime"], "");
            assert!(body["message"]
                .as_str()
                .is_some_and(|m| m.chars().count() > 8));
        }
    }
}
