//! Reading the client key on the desktop (docs/protocol.md section 9.5):
//! xlogin, then desktop QQ's local service, walked over HTTP the way the
//! public API's helper does, and the key it hands out taken by `/jump`.

use reqwest::header::{COOKIE, REFERER, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::common::Harness;

const XLOGIN_QUERY: &str = "appid=716027609&daid=383&style=33&login_text=%E7%99%BB%E5%BD%95&hide_title_bar=1&hide_border=1&target=self&s_url=https%3A%2F%2Fgraph.qq.com%2Foauth2.0%2Flogin_jump&pt_3rd_aid=100497308&pt_feedback_link=https%3A%2F%2Fsupport.qq.com%2Fproducts%2F77942%3FcustomInfo%3D.appid100497308&theme=2&verify_theme=";

fn referer() -> String {
    format!("https://xui.ptlogin2.qq.com/cgi-bin/xlogin?{XLOGIN_QUERY}")
}

/// The cookies an answer sets, name to value.
fn set_cookies(resp: &reqwest::Response) -> Vec<(String, String)> {
    resp.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next()?.split_once('='))
        .map(|(n, v)| (n.to_owned(), v.to_owned()))
        .collect()
}

fn cookie<'a>(cookies: &'a [(String, String)], name: &str) -> Option<&'a str> {
    cookies
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

async fn xlogin(h: &Harness, query: &str) -> reqwest::Response {
    h.http
        .get(format!("{}?{query}", h.url("/cgi-bin/xlogin")))
        .send()
        .await
        .expect("xlogin answers")
}

async fn local_token(h: &Harness) -> String {
    let resp = xlogin(h, XLOGIN_QUERY).await;
    assert_eq!(resp.status(), StatusCode::OK);
    let cookies = set_cookies(&resp);
    cookie(&cookies, "pt_local_token")
        .expect("a pt_local_token")
        .to_owned()
}

/// A local route with `tk` in the query, `cookie` as pt_local_token and a
/// Referer when given.
async fn local(
    h: &Harness,
    path_and_query: &str,
    tk: &str,
    cookie: &str,
    referer: Option<&str>,
) -> reqwest::Response {
    let mut req = h
        .http
        .get(format!("{}&pt_local_tk={tk}", h.url(path_and_query)))
        .header(COOKIE, format!("pt_local_token={cookie}"));
    if let Some(r) = referer {
        req = req.header(REFERER, r);
    }
    req.send().await.expect("the local service answers")
}

/// The list `pt_get_uins` answers, read as a client must read it.
async fn uins(h: &Harness, tk: &str) -> Vec<Value> {
    let resp = local(
        h,
        "/pt_get_uins?callback=ptui_getuins_CB&r=0.5",
        tk,
        tk,
        Some(&referer()),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.expect("text");
    let list = body
        .strip_prefix("var var_sso_uin_list=")
        .and_then(|rest| rest.strip_suffix(";ptui_getuins_CB(var_sso_uin_list);"))
        .unwrap_or_else(|| panic!("the real shape: {body}"));
    serde_json::from_str(list).expect("a JSON array")
}

async fn get_st(h: &Harness, uin: u64, tk: &str) -> (StatusCode, Vec<(String, String)>) {
    let path = format!("/pt_get_st?clientuin={uin}&r=0.25&callback=__jp0");
    let resp = local(h, &path, tk, tk, Some(&referer())).await;
    (resp.status(), set_cookies(&resp))
}

async fn jump(h: &Harness, uin: u64, key: &str) -> String {
    let url = format!(
        "{}?clientuin={uin}&keyindex=9&pt_aid=716027609&daid=383&u1={}&pt_3rd_aid=100497308&ptopt=1&style=40",
        h.url("/jump"),
        "https%3A%2F%2Fgraph.qq.com%2Foauth2.0%2Flogin_jump"
    );
    let resp = h
        .http
        .get(url)
        .header(COOKIE, format!("clientuin={uin}; clientkey={key}"))
        .send()
        .await
        .expect("jump answers");
    resp.text().await.expect("text")
}

#[tokio::test]
async fn the_local_service_lists_the_desktops_accounts_and_hands_a_key_jump_accepts() {
    let h = Harness::new().await;
    let known = h.qq().await;
    let set = h
        .sim
        .set_desktop(&[(Some(known.uin), None), (None, Some("小明 \"Q\"".into()))])
        .expect("two accounts logged in");
    let other = set[1].0;
    let tk = local_token(&h).await;
    assert!(h.sim.issued_secrets().contains(&tk));

    let list = uins(&h, &tk).await;
    assert_eq!(list.len(), 2, "{list:?}");
    assert_eq!(list[0]["uin"], known.uin);
    assert_eq!(list[0]["nickname"], format!("sim-{}", known.uin));
    assert_eq!(list[1]["uin"], other);
    assert_eq!(list[1]["nickname"], "小明 \"Q\"");
    assert_eq!(list[1]["account"], other.to_string());

    let (status, cookies) = get_st(&h, other, &tk).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        cookie(&cookies, "clientuin"),
        Some(other.to_string().as_str())
    );
    let key = cookie(&cookies, "clientkey")
        .expect("a clientkey")
        .to_owned();
    assert!(h.sim.issued_secrets().contains(&key));
    let answer = jump(&h, other, &key).await;
    assert!(answer.starts_with("ptui_qlogin_CB('0', 'http"), "{answer}");

    // An account not logged in on this desktop: the same answer, no key.
    let (status, cookies) = get_st(&h, 123_456_789, &tk).await;
    assert_eq!(status, StatusCode::OK);
    assert!(cookies.is_empty(), "{cookies:?}");
    let stats = h.get("/_sim/stats").await;
    assert_eq!(stats["xlogin"], 1);
    assert_eq!(stats["local.pt_get_uins"], 1);
    assert_eq!(stats["local.pt_get_st"], 2);
}

#[tokio::test]
async fn the_local_service_wants_xlogins_token_in_both_places_and_the_xlogin_referer() {
    let h = Harness::new().await;
    h.sim.set_desktop(&[(None, None)]).expect("one account");
    let tk = local_token(&h).await;
    let uins_path = "/pt_get_uins?callback=ptui_getuins_CB&r=0.5";
    let referer = referer();
    let refused = [
        ("-1", "-1", Some(referer.as_str())),
        (tk.as_str(), "-1", Some(referer.as_str())),
        ("", "", Some(referer.as_str())),
        (tk.as_str(), tk.as_str(), None),
        (
            tk.as_str(),
            tk.as_str(),
            Some("https://evil.example/cgi-bin/xlogin?"),
        ),
    ];
    for (q, c, r) in refused {
        let resp = local(&h, uins_path, q, c, r).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{q} {c} {r:?}");
        let body = resp.text().await.expect("text");
        assert!(body.starts_with("pt_get_uins: "), "{body}");
    }
    let resp = local(
        &h,
        "/pt_get_uins?callback=x&r=0.5",
        &tk,
        &tk,
        Some(&referer),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = local(
        &h,
        "/pt_get_st?clientuin=1&r=2&callback=__jp0",
        &tk,
        &tk,
        Some(&referer),
    )
    .await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(resp.text().await.expect("text").contains("field r"));
    assert_eq!(
        uins(&h, &tk).await.len(),
        1,
        "the right request still works"
    );
}

#[tokio::test]
async fn xlogin_checks_its_fields_and_sets_a_new_local_token_each_time() {
    let h = Harness::new().await;
    let resp = xlogin(&h, XLOGIN_QUERY).await;
    let cookies = set_cookies(&resp);
    assert!(cookie(&cookies, "pt_login_sig").is_some(), "{cookies:?}");
    let first = cookie(&cookies, "pt_local_token")
        .expect("token")
        .to_owned();
    assert_ne!(local_token(&h).await, first);
    let wrong = XLOGIN_QUERY.replace("style=33", "style=40");
    let resp = xlogin(&h, &wrong).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookies(&resp).is_empty());
    assert!(resp.text().await.expect("text").contains("field style"));
}

#[tokio::test]
async fn the_desktop_control_route_sets_none_one_or_several_accounts() {
    let h = Harness::new().await;
    assert_eq!(h.get("/_sim/desktop").await, json!({ "accounts": [] }));
    let (status, v) = h
        .admin(
            "/_sim/desktop",
            json!({ "accounts": [{}, {"nickname": "甲"}] }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!(v["accounts"].as_array().map(Vec::len), Some(2));
    assert_eq!(v["accounts"][1]["nickname"], "甲");
    assert_eq!(h.get("/_sim/desktop").await, v);
    let tk = local_token(&h).await;
    assert_eq!(uins(&h, &tk).await.len(), 2);

    let (status, v) = h.admin("/_sim/desktop", json!({ "accounts": [] })).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert!(uins(&h, &tk).await.is_empty());

    let wx = h.wx().await;
    let cases = [
        (json!({ "accounts": [{"uin": 42}] }), StatusCode::NOT_FOUND),
        (
            json!({ "accounts": [{"uin": wx.uin}] }),
            StatusCode::BAD_REQUEST,
        ),
        (json!({ "uins": [] }), StatusCode::BAD_REQUEST),
    ];
    for (body, want) in cases {
        let (status, v) = h.admin("/_sim/desktop", body.clone()).await;
        assert_eq!(status, want, "{body} {v}");
        assert!(v["error"].is_string(), "{v}");
    }
    let known = h.qq().await;
    let twice = json!({ "accounts": [{"uin": known.uin}, {"uin": known.uin}] });
    let (status, _) = h.admin("/_sim/desktop", twice).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
}
