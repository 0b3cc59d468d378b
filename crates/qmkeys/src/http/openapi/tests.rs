//! The document: valid OpenAPI 3.1, every route and error code in it, its
//! constraints agreeing with the parsers.

use super::*;
use crate::domain::{Credential, UploadFile};
use crate::http::assets::ASSETS;
use crate::http::error::ErrorCode;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::collections::BTreeSet;

fn doc() -> Value {
    document(20 * 1024 * 1024)
}

fn validity_problems(doc: &Value) -> Vec<String> {
    let schema: Value =
        serde_json::from_str(include_str!("../../../testdata/openapi-3.1.schema.json"))
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
    swagger_2_parameter["paths"]["/tool/cos/sign"]["get"]["parameters"][0]["in"] = json!("body");
    assert!(!validity_problems(&swagger_2_parameter).is_empty());

    let mut untitled = doc();
    untitled["info"]
        .as_object_mut()
        .expect("info")
        .remove("title");
    assert!(!validity_problems(&untitled).is_empty());

    let mut dangling = doc();
    dangling["paths"]["/tool/cos/sign"]["get"]["responses"]["200"]["content"]["application/json"]
        ["schema"] = json!({"$ref": "#/components/schemas/Nowhere"});
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
            "/admin/accounts/{uin}",
            "/admin/accounts/{uin}/check",
            "/admin/accounts/{uin}/cookie",
            "/admin/accounts/{uin}/refresh",
            "/admin/events",
            "/admin/keys",
            "/admin/keys/{id}",
            "/music/tencent/cookie/check",
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
    let rate_limited = &doc["paths"]["/music/tencent/cookie/refresh"]["post"]["responses"]["429"];
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
            regex::Regex::new(props["music_key"]["pattern"].as_str().expect("key")).expect("re"),
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
