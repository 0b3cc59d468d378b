//! `GET /openapi.json`: an OpenAPI 3.1 description of every route, generated
//! from the handlers' `#[utoipa::path]` attributes and the types they answer.
//! The error answers are added here: each operation's from the errors its
//! route was registered with (`super::declared_errors`), described from
//! [`ErrorCode`], the one list of codes.

use super::assets::ASSETS;
use super::error::ErrorCode;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "qmkeys",
        description = "QQ 音乐 key 刷新与歌单封面上传签名 / QQ Music key refresh and playlist-cover upload signing."
    ),
    tags(
        (name = "refresh", description = "刷新 music key / refresh a music key"),
        (name = "login", description = "扫码登录与电脑 QQ 快速登录，取得第一个 key / QR login and desktop fast login: get a first key"),
        (name = "upload", description = "歌单封面上传签名 / sign a playlist-cover upload"),
        (name = "admin", description = "管理接口，需要 admin_token / operator routes, need admin_token"),
        (name = "web", description = "网页与本文档 / the web pages and this document"),
        (name = "operations", description = "健康与就绪检查 / liveness and readiness"),
    )
)]
struct ApiDoc;

/// The name of the error envelope's schema in `components.schemas`.
pub const ERROR_SCHEMA: &str = "ErrorEnvelope";

/// The document as served, with `size`'s maximum set to the server's
/// `cos_max_upload_bytes`.
pub fn document(max_upload_bytes: u64) -> Value {
    let mut api = ApiDoc::openapi();
    api.merge(super::declared_api());
    let mut doc = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
    let all = every_error();
    doc["info"]["description"] = Value::String(description(&all));
    doc["components"]["schemas"][ERROR_SCHEMA] = error_schema(&all);
    doc["components"]["securitySchemes"]["admin_token"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <admin_token>`"
    });
    pair_uin_with_key(&mut doc);
    describe_login_events(&mut doc);
    // Each route's errors, as it was registered with them (`super::groups`).
    let declared = super::declared_errors();
    if let Some(paths) = doc["paths"].as_object_mut() {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for operation in item.values_mut() {
                let id = operation["operationId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                add_error_responses(operation, declared.get(&id).map_or(&[], Vec::as_slice));
                let parameters = operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut);
                for parameter in parameters.into_iter().flatten() {
                    match (id.as_str(), parameter["name"].as_str()) {
                        ("cosSign", Some("size")) => {
                            parameter["schema"]["maximum"] = json!(max_upload_bytes);
                        }
                        ("webAsset", Some("file")) => {
                            let names: Vec<&str> = ASSETS.iter().map(|a| a.0).collect();
                            parameter["schema"]["enum"] = json!(names);
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    doc
}

/// A form body is one schema, so it can say what query parameters cannot:
/// a `Q_H_L_` key goes with a 6-11 digit QQ number, a `W_X_` key with a
/// WeChat id of up to 19 digits (`Credential::parse` refuses other pairs).
fn pair_uin_with_key(doc: &mut Value) {
    let base = doc["components"]["schemas"]["RefreshParams"].clone();
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
    let form = &mut doc["paths"][super::refresh::PATH]["post"]["requestBody"]["content"]
        ["application/x-www-form-urlencoded"]["schema"];
    *form = json!({"oneOf": [
        variant(r"^[1-9][0-9]{5,10}$", "Q_H_L_", "QQ 账号 / a QQ account"),
        variant(r"^[1-9][0-9]{0,18}$", "W_X_", "微信账号 / a WeChat account"),
    ]});
}

/// A QR login's stream, event by event: each has an `id` counting from 1 and
/// `data` that is the QR image (a data URI), a JSON state or result, or the
/// public API's expiry text.
fn describe_login_events(doc: &mut Value) {
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
                    {"const": super::login::EXPIRED_TEXT, "description": "最后一个事件：二维码已失效 / the last event: the QR expired"}
                ]
            }
        }
    });
}

/// Every code an error envelope can carry (`/readyz` documents its own 503).
fn every_error() -> Vec<ErrorCode> {
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
fn by_status(errors: &[ErrorCode]) -> BTreeMap<u16, BTreeMap<i32, String>> {
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

fn add_error_responses(operation: &mut Value, errors: &[ErrorCode]) {
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

fn error_schema(all: &[ErrorCode]) -> Value {
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

fn description(all: &[ErrorCode]) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Credential, UploadFile};
    use std::collections::BTreeSet;

    fn doc() -> Value {
        document(20 * 1024 * 1024)
    }

    fn validity_problems(doc: &Value) -> Vec<String> {
        let schema: Value =
            serde_json::from_str(include_str!("../../testdata/openapi-3.1.schema.json"))
                .expect("the OpenAPI 3.1 schema parses");
        let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
        let mut problems: Vec<String> = validator
            .iter_errors(doc)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        // The schema cannot see whether references resolve; walk them.
        let mut stack = vec![doc];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if let Some(Value::String(target)) = map.get("$ref") {
                        let pointer = target.trim_start_matches('#');
                        if !target.starts_with("#/") || doc.pointer(pointer).is_none() {
                            problems.push(format!("dangling $ref {target}"));
                        }
                    }
                    stack.extend(map.values());
                }
                Value::Array(items) => stack.extend(items),
                _ => {}
            }
        }
        problems
    }

    #[test]
    fn the_document_is_valid_openapi_3_1() {
        let doc = doc();
        assert_eq!(doc["openapi"], "3.1.0");
        let problems = validity_problems(&doc);
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn the_validity_check_refuses_a_broken_document() {
        let mut swagger_2_parameter = doc();
        swagger_2_parameter["paths"]["/tool/cos/sign"]["get"]["parameters"][0]["in"] =
            json!("body");
        assert!(!validity_problems(&swagger_2_parameter).is_empty());

        let mut untitled = doc();
        untitled["info"]
            .as_object_mut()
            .expect("info")
            .remove("title");
        assert!(!validity_problems(&untitled).is_empty());

        let mut dangling = doc();
        dangling["paths"]["/tool/cos/sign"]["get"]["responses"]["200"]["content"]
            ["application/json"]["schema"] = json!({"$ref": "#/components/schemas/Nowhere"});
        assert!(validity_problems(&dangling)
            .iter()
            .any(|p| p.contains("Nowhere")));
    }

    fn documented_operations(doc: &Value) -> BTreeSet<(String, String)> {
        let mut ops = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for method in item.as_object().expect("path item").keys() {
                ops.insert((path.clone(), method.clone()));
            }
        }
        ops
    }

    #[test]
    fn the_login_stream_schema_admits_every_kind_of_event_the_server_sends() {
        let doc = doc();
        let schema = &doc["paths"]["/music/tencent/cookie/qrcode"]["get"]["responses"]["200"]
            ["content"]["text/event-stream"]["schema"];
        let validator = jsonschema::validator_for(schema).expect("a schema");
        let event = |data: &str| json!({"id": "2", "event": "message", "data": data});
        let samples = [
            "data:image/png;base64,iVBORw0KGgo=".to_owned(),
            "data:image/jpeg;base64,/9j/4AAQ".to_owned(),
            r#"{"status":"waiting","message":"等待扫码"}"#.to_owned(),
            r#"{"status":"refused","message":"已拒绝"}"#.to_owned(),
            r#"{"code":50307,"message":"x"}"#.to_owned(),
            crate::http::login::EXPIRED_TEXT.to_owned(),
            r#"{"cookie":{"uin":1},"info":null}"#.to_owned(),
        ];
        for data in &samples {
            assert!(validator.is_valid(&event(data)), "{data}");
        }
        for data in ["hello", "{\"status\":\"gone\"}", "data:text/html;base64,AA"] {
            assert!(!validator.is_valid(&event(data)), "{data}");
        }
    }

    #[test]
    fn the_rate_limit_covers_the_api_and_admin_routes_only() {
        let limited = crate::http::limited_routes();
        let mut listed: Vec<&str> = limited.iter().map(String::as_str).collect();
        listed.sort_unstable();
        assert_eq!(
            listed,
            [
                "/admin/accounts",
                "/admin/accounts/{uin}/cookie",
                "/music/tencent/cookie/fastlogin",
                "/music/tencent/cookie/qrcode",
                "/music/tencent/cookie/refresh",
                "/tool/cos/sign"
            ]
        );
        let documented = documented_operations(&doc());
        assert!(
            limited
                .iter()
                .all(|p| documented.iter().any(|(path, _)| path == p)),
            "every limited route is documented"
        );
    }

    #[test]
    fn every_error_code_the_api_can_answer_is_documented_with_its_status() {
        let doc = doc();
        let codes: BTreeSet<i64> = doc["components"]["schemas"][ERROR_SCHEMA]["properties"]["code"]
            ["enum"]
            .as_array()
            .expect("code enum")
            .iter()
            .filter_map(Value::as_i64)
            .collect();
        let text = doc.to_string();
        for code in ErrorCode::ALL.iter().filter(|c| **c != ErrorCode::NotReady) {
            assert!(
                codes.contains(&i64::from(code.get())),
                "code {code:?} is not in the enum"
            );
            assert!(
                text.contains(&format!(
                    "| {} | `{}` |",
                    code.status().as_u16(),
                    code.get()
                )),
                "code {code:?} is not in the description's table"
            );
        }
        assert_eq!(codes.len(), ErrorCode::ALL.len() - 1, "and nothing else");
        let sign_errors = doc["paths"]["/tool/cos/sign"]["get"]["responses"]
            .as_object()
            .expect("responses");
        for status in ["400", "401", "403", "429", "500", "502", "503", "504"] {
            assert!(sign_errors.contains_key(status), "sign lacks {status}");
        }
        let rate_limited =
            &doc["paths"]["/music/tencent/cookie/refresh"]["post"]["responses"]["429"];
        assert!(rate_limited["headers"]["Retry-After"].is_object());
        assert!(rate_limited["description"]
            .as_str()
            .is_some_and(|d| d.contains("`42901`")));
    }

    /// The codes an operation's error responses name, by HTTP status.
    fn documented_errors(operation: &Value) -> BTreeMap<String, BTreeSet<i32>> {
        let mut by_status = BTreeMap::new();
        for (status, response) in operation["responses"].as_object().expect("responses") {
            if status.starts_with('2') {
                continue;
            }
            let text = response["description"].as_str().unwrap_or_default();
            let codes = text
                .split('`')
                .skip(1)
                .step_by(2)
                .filter_map(|c| c.parse().ok())
                .collect();
            by_status.insert(status.clone(), codes);
        }
        by_status
    }

    #[test]
    fn every_operation_documents_exactly_the_errors_its_route_declares() {
        let doc = doc();
        let declared = crate::http::declared_errors();
        let mut seen = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, operation) in item.as_object().expect("path item") {
                let id = operation["operationId"].as_str().expect("an operation id");
                let codes = declared
                    .get(id)
                    .unwrap_or_else(|| panic!("{method} {path} ({id}) has no declared errors"));
                let mut want: BTreeMap<String, BTreeSet<i32>> = BTreeMap::new();
                for code in codes {
                    want.entry(code.status().as_u16().to_string())
                        .or_default()
                        .insert(code.get());
                }
                assert_eq!(documented_errors(operation), want, "{method} {path} ({id})");
                seen.insert(id.to_owned());
            }
        }
        let registered: BTreeSet<String> = declared.into_keys().collect();
        assert_eq!(seen, registered, "every registered operation is documented");
    }

    #[test]
    fn every_route_declares_the_front_middlewares_errors_and_limited_ones_42901() {
        let declared = crate::http::declared_errors();
        let doc = doc();
        let limited = crate::http::limited_routes();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for operation in item.as_object().expect("path item").values() {
                let id = operation["operationId"].as_str().expect("id");
                let codes = &declared[id];
                assert!(codes.contains(&ErrorCode::UrlTooLong), "{id}");
                assert!(codes.contains(&ErrorCode::RequestTimeout), "{id}");
                assert_eq!(
                    codes.contains(&ErrorCode::ClientRateLimited),
                    limited.contains(path),
                    "{id}"
                );
            }
        }
    }

    fn param(doc: &Value, path: &str, method: &str, name: &str) -> Value {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .expect("parameters")
            .iter()
            .find(|p| p["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{method} {path} lacks {name}"))
    }

    #[test]
    fn constraints_carry_the_configured_size_limit_and_the_enums() {
        let doc = document(12_345);
        let size = param(&doc, "/tool/cos/sign", "get", "size");
        assert_eq!(size["schema"]["maximum"], 12_345);
        assert_eq!(size["schema"]["minimum"], 1);
        assert_eq!(size["required"], true);
        let ext = param(&doc, "/tool/cos/sign", "get", "ext");
        assert_eq!(ext["required"], false);
        assert_eq!(
            ext["schema"]["enum"],
            json!(["png", "jpg", "jpeg", "gif", "webp", "bmp", "svg"])
        );
        let file = param(&doc, "/assets/{file}", "get", "file");
        assert!(file["schema"]["enum"]
            .as_array()
            .is_some_and(|names| names.contains(&json!("md5.js"))));
        let form = &doc["paths"]["/music/tencent/cookie/refresh"]["post"]["requestBody"]["content"]
            ["application/x-www-form-urlencoded"];
        let kinds = form["schema"]["oneOf"]
            .as_array()
            .expect("one schema per account kind");
        let pair = |i: usize| {
            let props = &kinds[i]["properties"];
            (
                regex::Regex::new(props["uin"]["pattern"].as_str().expect("uin")).expect("re"),
                regex::Regex::new(props["music_key"]["pattern"].as_str().expect("key"))
                    .expect("re"),
            )
        };
        let ((qq_uin, qq_key), (wx_uin, wx_key)) = (pair(0), pair(1));
        let eighteen = "100000000000000000";
        assert!(qq_key.is_match("Q_H_L_k") && !qq_key.is_match("W_X_k"));
        assert!(qq_uin.is_match("1569097443") && !qq_uin.is_match(eighteen));
        assert!(wx_key.is_match("W_X_k") && !wx_key.is_match("Q_H_L_k"));
        assert!(wx_uin.is_match(eighteen));
        let get_uin = param(&doc, "/music/tencent/cookie/refresh", "get", "uin");
        assert!(
            get_uin["description"]
                .as_str()
                .is_some_and(|d| d.contains("40001")),
            "GET says in words which pairs are refused: {get_uin}"
        );
        let asset = &doc["paths"]["/assets/{file}"]["get"]["responses"]["200"]["content"];
        for (name, content_type, _) in ASSETS {
            let media = content_type.split(';').next().unwrap_or_default();
            assert!(asset.get(media).is_some(), "{name}: {media} is documented");
        }
        for operation in [
            "/tool/cos/sign",
            "/healthz",
            "/music/tencent/cookie/refresh",
        ] {
            let responses = &doc["paths"][operation]["get"]["responses"];
            assert!(responses.get("414").is_some(), "{operation} documents 414");
        }
    }

    fn pattern(doc: &Value, path: &str, name: &str) -> regex::Regex {
        let p = param(doc, path, "get", name);
        let text = p["schema"]["pattern"].as_str().expect("pattern");
        regex::Regex::new(text).expect("pattern compiles")
    }

    #[test]
    fn documented_patterns_accept_what_the_parsers_accept() {
        let doc = doc();
        let uin = pattern(&doc, "/music/tencent/cookie/refresh", "uin");
        let key = pattern(&doc, "/music/tencent/cookie/refresh", "music_key");
        for (u, k) in [
            ("1569097443", "Q_H_L_abc-DEF_123"),
            ("123456", "Q_H_L_x"),
            ("9999999999999999999", "W_X_a+b/c="),
            ("1569097443", "Q_H_L_a;b"),
            ("1569097443", "Q_H_L_a,b"),
            ("1569097443", "Q_H_L_a\"b"),
            ("1569097443", "Q_H_L_a\\b"),
            ("1569097443", "Q_H_L_a b"),
            ("1569097443", "Q_H_L_"),
            ("1569097443", "X_abc"),
            ("0123456", "W_X_a"),
            ("12a456", "W_X_a"),
            ("12345678901234567890", "W_X_a"),
        ] {
            let parser = Credential::parse(Some(u), Some(k), None, None);
            let documented = uin.is_match(u) && key.is_match(k);
            // The parser also ties QQ uins to 6-11 digits, which one pattern cannot say.
            if parser.is_ok() || documented {
                assert_eq!(
                    parser.is_ok(),
                    documented,
                    "uin {u:?} key {k:?}: {parser:?}"
                );
            }
        }
        let sha1 = pattern(&doc, "/tool/cos/sign", "sha1");
        let md5 = pattern(&doc, "/tool/cos/sign", "md5");
        let good_sha1 = "4FBFBC28bbc4a67850fa90823fcea389fcfcd48d";
        let good_md5 = "f853b39f8d7c2e617dbde77dca66d413";
        for (s, m) in [
            (good_sha1, good_md5),
            (&good_sha1[1..], good_md5),
            (good_sha1, &good_md5[1..]),
            ("4fbfbc28bbc4a67850fa90823fcea389fcfcd48g", good_md5),
        ] {
            let parser = UploadFile::parse(Some(s), Some(m), Some("1"), None, 10);
            assert_eq!(
                parser.is_ok(),
                sha1.is_match(s) && md5.is_match(m),
                "{s} {m}"
            );
        }
    }
}
