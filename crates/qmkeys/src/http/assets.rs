//! The files the web pages load, compiled into the binary. `web.rs` serves
//! them at `/assets/{file}` and `openapi/` lists their names as `file`'s
//! enum; both read them here, so neither depends on the other for them.

const JS: &str = "text/javascript; charset=utf-8";

/// Every asset the pages load: name, content type, bytes.
pub const ASSETS: &[(&str, &str, &str)] = &[
    ("app.js", JS, include_str!("../../web/app.js")),
    ("admin.js", JS, include_str!("../../web/admin.js")),
    ("md5.js", JS, include_str!("../../web/md5.js")),
    ("sse.js", JS, include_str!("../../web/sse.js")),
    ("docs.js", JS, include_str!("../../web/docs.js")),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../web/style.css"),
    ),
    (
        "icon.svg",
        "image/svg+xml",
        include_str!("../../web/icon.svg"),
    ),
];
