//! What the derived document cannot say by itself: the form body's account
//! kinds as two schemas, and the QR login's events.

use serde_json::{json, Value};

/// A form body is one schema, so it can say what query parameters cannot:
/// a `Q_H_L_` key goes with a 6-11 digit QQ number, a `W_X_` key with a
/// WeChat id of up to 19 digits (`Credential::parse` refuses other pairs).
/// The refresh's and the check's form bodies alike.
pub(super) fn pair_uin_with_key(doc: &mut Value) {
    for (path, schema) in [
        (crate::http::refresh::PATH, "RefreshParams"),
        (crate::http::check::PATH, "CheckParams"),
    ] {
        pair_in(doc, path, schema);
    }
}

fn pair_in(doc: &mut Value, path: &str, schema: &str) {
    let base = doc["components"]["schemas"][schema].clone();
    if !base.is_object() {
        return;
    }
    let variant = |uin: &str, key_prefix: &str, title: &str| {
        let mut v = base.clone();
        v["title"] = json!(title);
        v["properties"]["uin"]["pattern"] = json!(uin);
        let key = v["properties"]["music_key"]["pattern"]
            .as_str()
            .unwrap_or_default()
            .replacen("(Q_H_L_|W_X_)", key_prefix, 1);
        v["properties"]["music_key"]["pattern"] = json!(key);
        v
    };
    let form = &mut doc["paths"][path]["post"]["requestBody"]["content"]
        ["application/x-www-form-urlencoded"]["schema"];
    *form = json!({"oneOf": [
        variant(r"^[1-9][0-9]{5,10}$", "Q_H_L_", "QQ 账号 / a QQ account"),
        variant(r"^[1-9][0-9]{0,18}$", "W_X_", "微信账号 / a WeChat account"),
    ]});
}

/// A QR login's stream, event by event: each has an `id` counting from 1 and
/// `data` that is the QR image (a data URI), a JSON state or result, or the
/// public API's expiry text.
pub(super) fn describe_login_events(doc: &mut Value) {
    let stream = &mut doc["paths"]["/music/tencent/cookie/qrcode"]["get"]["responses"]["200"]
        ["content"]["text/event-stream"];
    if !stream.is_object() {
        return;
    }
    stream["schema"] = json!({
        "type": "object",
        "description": "一个事件 / one event",
        "required": ["id", "data"],
        "properties": {
            "id": {"type": "string", "pattern": "^[1-9][0-9]*$", "description": "1 为二维码图片，之后依次加一 / 1 for the image, then counting up"},
            "event": {"type": "string", "description": "总是默认的 message / always the default, message"},
            "data": {
                "type": "string",
                "anyOf": [
                    {"pattern": "^data:image/(png|jpeg);base64,[A-Za-z0-9+/=]+$", "description": "id 1：二维码图片 / id 1: the QR image"},
                    {"pattern": "^\\{\"status\":\"(waiting|scanned|refused)\",\"message\":", "description": "状态变化；refused 为最后一个事件 / a state change; refused is the last event"},
                    {"pattern": "^\\{\"cookie\":\\{", "description": "最后一个事件：与刷新接口的 data 相同的 {cookie, info} / the last event: a refresh's data, {cookie, info}"},
                    {"pattern": "^\\{\"code\":[0-9]{5},\"message\":", "description": "最后一个事件：信封的错误码 / the last event: an envelope error code"},
                    {"const": crate::http::login::EXPIRED_TEXT, "description": "最后一个事件：二维码已失效 / the last event: the QR expired"}
                ]
            }
        }
    });
}
