//! `GET /openapi.json`: an OpenAPI 3.1 description of every route, generated
//! from the handlers' `#[utoipa::path]` attributes and the types they answer.
//! The error answers are added here: each operation's from the errors its
//! route was registered with (`super::declared_errors`), described from
//! `ErrorCode`, the one list of codes (`errors.rs`); `refine.rs` says what
//! the derive cannot.

mod errors;
mod refine;
#[cfg(test)]
mod tests;

use super::assets::ASSETS;
use errors::{add_error_responses, description, error_schema, every_error};
use refine::{describe_login_events, pair_uin_with_key};
use serde_json::{json, Value};
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
    api.merge(crate::http::declared_api());
    let mut doc = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
    let all = every_error();
    doc["info"]["description"] = Value::String(description(&all));
    doc["components"]["schemas"][ERROR_SCHEMA] = error_schema(&all);
    doc["components"]["securitySchemes"]["admin_token"] = json!({
        "type": "http",
        "scheme": "bearer",
        "description": "`Authorization: Bearer <admin_token>`"
    });
    // Wanted only when the server sets require_api_key.
    doc["components"]["securitySchemes"]["api_key"] = json!({
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
        "description": "调用者密钥，仅当服务器开启 require_api_key 时需要（缺少 40106，未知或已吊销 40107）/ a caller key, needed only when the server sets require_api_key (missing 40106, unknown or revoked 40107)"
    });
    doc["components"]["securitySchemes"]["api_key_query"] = json!({
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "同 X-Api-Key，供无法设置请求头的工具和 EventSource 使用 / the same as X-Api-Key, for tools that cannot set headers and for EventSource"
    });
    pair_uin_with_key(&mut doc);
    describe_login_events(&mut doc);
    // Each route's errors, as it was registered with them (`super::groups`).
    let declared = crate::http::declared_errors();
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
