//! The embedded web page (`/`), its assets, the OpenAPI document and the page
//! that renders it (`/docs`). Everything is compiled into the binary: no CDN,
//! no request leaves for the internet.
//!
//! The pages carry a Content-Security-Policy that lets them talk only to their
//! own origin and, for the upload, to the bucket host that `cos_endpoint` names.
//! The index page may show `data:` images: the QR login sends its QR as one.

use super::assets::ASSETS;
use super::cors::OriginList;
use super::error::ApiError;
use super::error::ErrorCode as C;
use super::openapi;
use super::path::{AssetName, Segment};
use super::route::Errors;
use super::AppState;
use crate::config::Settings;
use crate::login::QrKind;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

const INDEX_HTML: &str = include_str!("../../web/index.html");
const DOCS_HTML: &str = include_str!("../../web/docs.html");
const ADMIN_HTML: &str = include_str!("../../web/admin.html");
/// Whether the owner's console is on (`admin_token` is set); off, the page
/// only says how to turn it on.
const ADMIN_ENABLED_PLACEHOLDER: &str = "{{ADMIN_ENABLED}}";
const MAX_UPLOAD_PLACEHOLDER: &str = "{{MAX_UPLOAD_BYTES}}";
/// Whether the login card offers 保存到服务器 (`accounts_allow_save`).
const ALLOW_SAVE_PLACEHOLDER: &str = "{{ALLOW_SAVE}}";
/// The login card's tabs: the registry's QR login kinds.
const LOGIN_KINDS_PLACEHOLDER: &str = "{{LOGIN_KINDS}}";
/// Whether the page asks for a caller key (`require_api_key`).
const REQUIRE_API_KEY_PLACEHOLDER: &str = "{{REQUIRE_API_KEY}}";

/// What [`asset`] can answer besides success: a name that does not decode
/// (40001) or names no asset (40401).
pub const ASSET_ERRORS: Errors = Errors::of(&[&[C::BadParam, C::NotFound]]);

/// What the web routes serve, prepared once from the settings.
pub struct Site {
    /// Who may call the API from another origin.
    pub cors: OriginList,
    index: String,
    index_csp: HeaderValue,
    docs_csp: HeaderValue,
    admin: String,
    admin_csp: HeaderValue,
    openapi: String,
}

impl Site {
    pub fn new(settings: &Settings) -> Self {
        let bucket = bucket_source(&settings.cos.endpoint);
        let index_csp = format!(
            "default-src 'none'; script-src 'self'; style-src 'self'; \
             img-src 'self' blob: data: {bucket}; connect-src 'self' {bucket}; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        );
        let docs_csp = "default-src 'none'; script-src 'self'; style-src 'self'; \
             img-src 'self'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'";
        // The console talks to its own origin only; its QR arrives as a data: image.
        let admin_csp = "default-src 'none'; script-src 'self'; style-src 'self'; \
             img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; \
             frame-ancestors 'none'";
        let document = openapi::document(settings.cos.max_upload_bytes);
        Self {
            cors: settings.http.cors_allowed_origins.clone(),
            index: INDEX_HTML
                .replace(
                    MAX_UPLOAD_PLACEHOLDER,
                    &settings.cos.max_upload_bytes.to_string(),
                )
                .replace(ALLOW_SAVE_PLACEHOLDER, flag(settings.accounts.allow_save))
                .replace(LOGIN_KINDS_PLACEHOLDER, &attribute(&login_kinds()))
                .replace(
                    REQUIRE_API_KEY_PLACEHOLDER,
                    flag(settings.http.require_api_key),
                ),
            // Built from a template with a URL's host in it: always a valid value.
            index_csp: HeaderValue::from_str(&index_csp)
                .unwrap_or_else(|_| HeaderValue::from_static("default-src 'self'")),
            docs_csp: HeaderValue::from_static(docs_csp),
            admin: ADMIN_HTML
                .replace(
                    ADMIN_ENABLED_PLACEHOLDER,
                    flag(settings.http.admin_token.is_some()),
                )
                .replace(LOGIN_KINDS_PLACEHOLDER, &attribute(&login_kinds()))
                .replace(
                    REQUIRE_API_KEY_PLACEHOLDER,
                    flag(settings.http.require_api_key),
                ),
            admin_csp: HeaderValue::from_static(admin_csp),
            openapi: serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".to_owned()),
        }
    }

    /// The OpenAPI document as served.
    pub fn openapi_json(&self) -> &str {
        &self.openapi
    }
}

/// The QR login kinds as the page's tabs read them, the default first:
/// `[{"name":"qq","zh":"QQ","en":"QQ"},…]`.
fn login_kinds() -> String {
    let kinds: Vec<_> = QrKind::all()
        .map(|kind| {
            let info = kind.info();
            serde_json::json!({"name": info.name, "zh": info.label_zh, "en": info.label_en})
        })
        .collect();
    serde_json::Value::Array(kinds).to_string()
}

/// `text` fit for a double-quoted HTML attribute.
fn attribute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// A page's yes/no placeholder as its script reads it.
fn flag(on: bool) -> &'static str {
    if on {
        "true"
    } else {
        "false"
    }
}

/// The CSP source for the bucket URLs the sign endpoint hands out: the
/// endpoint's scheme, host and port, with a label holding `{bucket}` or
/// `{region}` widened to `*` (CSP allows a wildcard only as the leftmost label).
pub fn bucket_source(template: &str) -> String {
    let template = template.trim();
    let Some((scheme, rest)) = template.split_once("://") else {
        return "'none'".to_owned();
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if !authority.contains('{') {
        return format!("{scheme}://{authority}");
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains('{') && !port.contains(']') => {
            (host, format!(":{port}"))
        }
        Some((host, _)) if !host.contains('[') => (host, ":*".to_owned()),
        _ => (authority, String::new()),
    };
    let labels: Vec<&str> = host.split('.').collect();
    let fixed = labels
        .iter()
        .rposition(|l| l.contains('{'))
        .map_or(0, |i| i + 1);
    let suffix = labels[fixed..].join(".");
    if suffix.is_empty() || !suffix.contains('.') {
        // Too little of the host is fixed to name it: any host of the scheme.
        format!("{scheme}:")
    } else {
        format!("{scheme}://*.{suffix}{port}")
    }
}

fn page(html: &str, csp: &HeaderValue) -> Response {
    (
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (CONTENT_SECURITY_POLICY, csp.clone()),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
            (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
            (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ],
        html.to_owned(),
    )
        .into_response()
}

/// The web page: refresh a key, log in with a QR code, upload a playlist
/// cover (Chinese, with an English switch).
#[utoipa::path(
    get,
    path = "/",
    tag = "web",
    operation_id = "webPage",
    responses((status = 200, description = "网页 / the web page", body = String, content_type = "text/html")),
)]
pub async fn index(State(state): State<AppState>) -> Response {
    page(&state.site.index, &state.site.index_csp)
}

/// This document, rendered for people.
#[utoipa::path(
    get,
    path = "/docs",
    tag = "web",
    operation_id = "docsPage",
    responses((status = 200, description = "接口文档页面 / the API documentation page", body = String, content_type = "text/html")),
)]
pub async fn docs(State(state): State<AppState>) -> Response {
    page(DOCS_HTML, &state.site.docs_csp)
}

/// The owner's console: the kept accounts, their actions and timeline.
///
/// Asks for the admin token once and keeps it in the tab's sessionStorage;
/// every call it makes carries `Authorization: Bearer`. Without `admin_token`
/// on the server it only says how to set it.
#[utoipa::path(
    get,
    path = "/admin",
    tag = "web",
    operation_id = "adminPage",
    responses((status = 200, description = "管理页 / the owner's console", body = String, content_type = "text/html")),
)]
pub async fn admin(State(state): State<AppState>) -> Response {
    page(&state.site.admin, &state.site.admin_csp)
}

/// A script, style sheet or icon of the pages.
#[utoipa::path(
    get,
    path = "/assets/{file}",
    tag = "web",
    operation_id = "webAsset",
    params(("file" = String, Path, description = "文件名 / the asset's name")),
    responses((status = 200, description = "文件内容：脚本、样式表或图标 / the asset: a script, style sheet or icon",
               content((String = "text/javascript"), (String = "text/css"), (String = "image/svg+xml")))),
)]
pub async fn asset(Segment(AssetName(file)): Segment<AssetName>) -> Response {
    match ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, body)) => (
            StatusCode::OK,
            [
                (CONTENT_TYPE, HeaderValue::from_static(content_type)),
                (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
                (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            ],
            *body,
        )
            .into_response(),
        None => ApiError::NotFound.into_response(),
    }
}

/// This OpenAPI 3.1 document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "web",
    operation_id = "openapiDocument",
    responses((status = 200, description = "OpenAPI 3.1 文档 / the OpenAPI 3.1 document", body = Object, content_type = "application/json")),
)]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(CONTENT_TYPE, HeaderValue::from_static("application/json"))],
        state.site.openapi.clone(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_source_keeps_what_the_endpoint_fixes_and_widens_placeholders() {
        for (template, source) in [
            (
                "https://{bucket}.cos.{region}.myqcloud.com",
                "https://*.myqcloud.com",
            ),
            (
                "http://127.0.0.1:9000/cos/{bucket}",
                "http://127.0.0.1:9000",
            ),
            (
                "https://cos.example.com/{bucket}/",
                "https://cos.example.com",
            ),
            (
                "https://{bucket}.example.com:8443",
                "https://*.example.com:8443",
            ),
            ("https://{bucket}", "https:"),
            ("https://{bucket}.com", "https:"),
        ] {
            assert_eq!(bucket_source(template), source, "{template}");
        }
    }

    #[test]
    fn the_page_states_the_configured_upload_limit() {
        let mut settings = Settings::default();
        settings.cos.max_upload_bytes = 12_345;
        let site = Site::new(&settings);
        assert!(site.index.contains("content=\"12345\""));
        assert!(!site.index.contains(MAX_UPLOAD_PLACEHOLDER));
        let csp = site.index_csp.to_str().expect("ascii");
        assert!(
            csp.contains("connect-src 'self' https://*.myqcloud.com;"),
            "{csp}"
        );
        // The QR login's image arrives as a data: URI.
        assert!(
            csp.contains("img-src 'self' blob: data: https://*.myqcloud.com;"),
            "{csp}"
        );
    }

    #[test]
    fn the_page_offers_saving_only_when_the_server_allows_it() {
        for (allowed, content) in [(true, "true"), (false, "false")] {
            let mut settings = Settings::default();
            settings.accounts.allow_save = allowed;
            let site = Site::new(&settings);
            assert!(
                site.index.contains(&format!(
                    "<meta name=\"qmkeys-allow-save\" content=\"{content}\">"
                )),
                "{allowed}"
            );
            assert!(!site.index.contains(ALLOW_SAVE_PLACEHOLDER));
            assert!(!site.index.contains(REQUIRE_API_KEY_PLACEHOLDER));
        }
    }

    #[test]
    fn the_page_lists_the_registrys_login_kinds_for_its_tabs() {
        let site = Site::new(&Settings::default());
        assert!(!site.index.contains(LOGIN_KINDS_PLACEHOLDER));
        let start = "<meta name=\"qmkeys-login-kinds\" content=\"";
        let at = site.index.find(start).expect("the kinds' meta") + start.len();
        let content = &site.index[at..];
        let content = &content[..content.find('"').expect("a closed attribute")];
        let unescaped = content.replace("&quot;", "\"").replace("&amp;", "&");
        let kinds: serde_json::Value = serde_json::from_str(&unescaped).expect("JSON");
        let names: Vec<&str> = kinds
            .as_array()
            .expect("a list")
            .iter()
            .filter_map(|k| k["name"].as_str())
            .collect();
        assert_eq!(names, QrKind::names());
        assert_eq!(kinds[1]["zh"], "微信");
        assert_eq!(kinds[1]["en"], "WeChat");
        assert_eq!(
            attribute("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn the_console_knows_whether_the_admin_token_is_set_and_talks_to_its_origin_only() {
        for (token, content) in [(Some("t0ken-for-the-test"), "true"), (None, "false")] {
            let mut settings = Settings::default();
            settings.http.admin_token = token.map(secrecy::SecretString::from);
            let site = Site::new(&settings);
            assert!(
                site.admin.contains(&format!(
                    "<meta name=\"qmkeys-admin\" content=\"{content}\">"
                )),
                "{content}"
            );
            assert!(!site.admin.contains("{{"), "every placeholder filled");
            if let Some(token) = token {
                assert!(
                    !site.admin.contains(token),
                    "the page never holds the token"
                );
            }
        }
        for required in [true, false] {
            let mut settings = Settings::default();
            settings.http.require_api_key = required;
            assert!(Site::new(&settings).admin.contains(&format!(
                "<meta name=\"qmkeys-require-api-key\" content=\"{required}\">"
            )));
        }
        let csp = Site::new(&Settings::default()).admin_csp;
        let csp = csp.to_str().expect("ascii");
        assert!(csp.contains("connect-src 'self';"), "{csp}");
        assert!(csp.starts_with("default-src 'none';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
    }

    #[test]
    fn pages_load_nothing_from_another_host() {
        for html in [INDEX_HTML, DOCS_HTML, ADMIN_HTML] {
            for attr in ["src=\"", "href=\""] {
                for (i, _) in html.match_indices(attr) {
                    let value = &html[i + attr.len()..];
                    assert!(
                        value.starts_with('/') || value.starts_with('#'),
                        "{}",
                        &value[..value.len().min(60)]
                    );
                }
            }
        }
        for (name, _, body) in ASSETS {
            assert!(
                !body.contains("//cdn") && !body.contains("googleapis"),
                "{name}"
            );
        }
    }
}
