//! The error responses: each operation's, grouped by HTTP status, the
//! error envelope's schema and the description's table of every code.

use super::ERROR_SCHEMA;
use crate::http::error::ErrorCode;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Every code an error envelope can carry (`/readyz` documents its own 503).
pub(super) fn every_error() -> Vec<ErrorCode> {
    ErrorCode::ALL
        .iter()
        .copied()
        .filter(|c| *c != ErrorCode::NotReady)
        .collect()
}

fn describe(code: ErrorCode) -> String {
    format!("`{}` {}", code.get(), code.meaning().trim())
}

/// Error codes grouped by HTTP status, each code once.
pub(super) fn by_status(errors: &[ErrorCode]) -> BTreeMap<u16, BTreeMap<i32, String>> {
    let mut grouped: BTreeMap<u16, BTreeMap<i32, String>> = BTreeMap::new();
    for code in errors {
        grouped
            .entry(code.status().as_u16())
            .or_default()
            .entry(code.get())
            .or_insert_with(|| describe(*code));
    }
    grouped
}

pub(super) fn add_error_responses(operation: &mut Value, errors: &[ErrorCode]) {
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, codes) in by_status(errors) {
        let mut response = Map::new();
        response.insert(
            "description".into(),
            Value::String(codes.values().cloned().collect::<Vec<_>>().join("\n\n")),
        );
        response.insert(
            "content".into(),
            json!({"application/json": {"schema": {"$ref": format!("#/components/schemas/{ERROR_SCHEMA}")}}}),
        );
        if status == 429 {
            response.insert(
                "headers".into(),
                json!({"Retry-After": {
                    "description": "秒数，出现在 42901 / seconds to wait, with 42901",
                    "schema": {"type": "integer", "minimum": 0}
                }}),
            );
        }
        responses.insert(status.to_string(), Value::Object(response));
    }
}

pub(super) fn error_schema(all: &[ErrorCode]) -> Value {
    let codes: Vec<i32> = by_status(all)
        .values()
        .flat_map(|codes| codes.keys().copied())
        .collect();
    json!({
        "type": "object",
        "description": "失败时的信封：data 为 null / the envelope of a failure: data is null",
        "required": ["code", "message", "data", "time", "pid", "tips"],
        "properties": {
            "code": {"type": "integer", "format": "int32", "enum": codes, "description": "稳定的错误码 / the stable error code"},
            "message": {"type": "string", "description": "可以照着处理的中文说明 / what to do, in Chinese"},
            "data": {"type": "null"},
            "time": {"type": "string", "description": "北京时间 / Beijing time, YYYY-MM-DD HH:MM:SS", "example": "2024-08-03 22:05:59"},
            "pid": {"type": "integer", "format": "int32", "minimum": 0},
            "tips": {"type": "string"}
        }
    })
}

pub(super) fn description(all: &[ErrorCode]) -> String {
    let mut text = String::from(
        "QQ 音乐 key 刷新与歌单封面上传签名。每个回答都是同一个信封 `{code, message, data, time, pid, tips}`；\
         失败时 `data` 为 `null`，`code` 是下表中的稳定错误码。\n\n\
         QQ Music key refresh and playlist-cover upload signing. Every answer is the same envelope \
         `{code, message, data, time, pid, tips}`; on failure `data` is `null` and `code` is one of the stable codes below. \
         Unknown paths answer 404 (`40401`) and unsupported methods 405 (`40501`).\n\n\
         | HTTP | code | 含义 / meaning |\n|---|---|---|\n",
    );
    for (status, codes) in by_status(all) {
        for line in codes.values() {
            let (code, meaning) = line.split_once(' ').unwrap_or((line, ""));
            text.push_str(&format!("| {status} | {code} | {meaning} |\n"));
        }
    }
    text
}
