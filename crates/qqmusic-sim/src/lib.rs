//! A faithful, stateful, in-memory stand-in for the QQ Music gateway, its
//! COS upload bucket (`docs/protocol.md` sections 1-7) and the login
//! hosts that hand out a first key (section 9 of the protocol,
//! `docs/protocol.md`), for testing qmkeys over real HTTP on loopback.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use qqmusic_sim::{SimConfig, Simulator};
//! let config = SimConfig {
//!     upload_credential_lifetime: Duration::from_secs(600),
//!     ..Default::default()
//! };
//! let sim = Simulator::spawn("127.0.0.1:0", config).await?;
//! let upstream = sim.base_url(); // "http://127.0.0.1:PORT"
//! let cos_endpoint = format!("{upstream}/cos/music-file-1258344705");
//! # let _ = cos_endpoint; Ok(()) }
//! ```
//!
//! # Gateway
//!
//! `POST /cgi-bin/musicu.fcg` (unsigned) and `POST /cgi-bin/musics.fcg?sign=S`
//! (zzc sign over the exact body bytes; missing or wrong: every sub-request
//! answers 2000). Handled: `music.login.LoginServer.Login` (a refresh, or
//! with a WeChat code: see [Login hosts](#login-hosts)),
//! `QQConnectLogin.LoginServer.QQLogin` (see there too),
//! `VipLogin.VipLoginInter.vip_login_base`,
//! `music.filesys.FileSystem.InitUpload` and `.FinishUpload`. Any other
//! `module.method` answers code 404 with `data {}`; a sub-request without
//! string `module`/`method` answers 500001; a body that is not a JSON object
//! gets top-level code 500001 (HTTP 200). A keyed call (Login,
//! vip_login_base, InitUpload, FinishUpload) is logged in only when it
//! carries both the `uin` and `qqmusic_key` cookies (docs/protocol.md
//! section 1); `qm_keyst`, `comm.uin` or `comm.authst` alone do not count.
//! A present `comm.g_tk` must be hash33 of the key in play or the call is not
//! logged in. Login takes the key it refreshes from `param.musickey`, and
//! answers 1000 without those cookies (after the 20261 shape check).
//!
//! Login-required calls (InitUpload, FinishUpload) answer 1000 unless that
//! key is known, unexpired on the sim clock, belongs to the uin named (if
//! any), passes the g_tk rule and its account is not logged out; 20277 when
//! the account is banned (as Login answers). A refused call's `data` is its
//! success shape emptied.
//!
//! ## InitUpload
//!
//! Served on musics.fcg only: on musicu.fcg it answers 2000, as a missing
//! sign does (section 5 says "signed"). Checks, first failure answers:
//! sign (2000), login (1000 / 20277), param shape (500001). Param:
//! `{"BusID":"songlist","Files":[{"FileSha1","FileName","FileSize"}]}` with
//! 1-20 files, FileSha1 40 hex chars (either case), FileSize a positive JSON
//! integer, FileName at most 255 bytes ending in `.ext`, ext 1-16 ASCII
//! alphanumerics; extra keys are ignored. Success:
//!
//! ```text
//! {"AuthInfo":{"SecretID":"AKID<36 of [A-Za-z0-9_-]>","SecretKey":"<32 alnum>",
//!              "Token":"<always holds - _ + / =>","StartTime":now,
//!              "ExpiredTime":now + upload_credential_lifetime},
//!  "Files":[{"FileSha1":"<lower>","ObjectKey":"songlist/p/<shard>/<sha1>_<size hex>.<ext>",
//!            "Buckets":[{"Bucket":{"Name":"music-file-1258344705","Region":"ap-guangzhou"},
//!                        "UploadStatus":0|1}]}]}
//! ```
//!
//! one entry per file, in order; everything in the ObjectKey lower-case;
//! shard = first 5 hex chars of SHA1(sha1 text), stable per file and opaque.
//! UploadStatus 1 when the bucket already holds that key. Every call issues
//! a new credential (times on the sim clock), which may PUT only the keys
//! of that call. The newest 50,000 credentials are remembered.
//!
//! ## FinishUpload
//!
//! Either route. Login (1000 / 20277), then shape (500001):
//! `{"BusID":"songlist","Results":[{"Storage":{"Bucket":{"Name","Region"},"ObjectKey"},"UploadResult":<int>}]}`,
//! 1-20 results, strings non-empty. Success, in order:
//! `{"Results":[{"ObjectKey":k,"URL":"https://music-file.y.qq.com/"+k,"Exists":bool}]}`,
//! Exists true when Name and Region are this bucket's and it holds k.
//!
//! # COS bucket
//!
//! `/cos/{bucket}/{key}` on the simulator's address; a client's endpoint is
//! `http://<sim>/cos/music-file-1258344705`, so the path it signs is the full
//! path (`/cos/music-file-1258344705/songlist/p/...`) and Host is
//! `127.0.0.1:PORT`. Only `music-file-1258344705` exists. Errors are COS XML
//! (`<?xml version='1.0' encoding='utf-8' ?><Error><Code/><Message/><Resource/><RequestId/></Error>`,
//! `Content-Type: application/xml`); every answer has `x-cos-request-id`.
//!
//! PUT stores an object and answers 200 with `ETag: "<md5 hex>"`. Checks,
//! first failure answers:
//!
//! | # | check | status, code |
//! |---|---|---|
//! | 1 | bucket exists | 404 NoSuchBucket |
//! | 2 | key non-empty | 400 InvalidURI |
//! | 3 | Content-Length, then bytes read, at most 64 MiB | 400 EntityTooLarge |
//! | 4 | body arrives whole | 400 IncompleteBody |
//! | 5 | Authorization present and parses ([`cos_auth::parse_authorization`]) | 403 AccessDenied |
//! | 6 | q-ak is an issued SecretID | 403 InvalidAccessKeyId |
//! | 7 | `x-cos-security-token` is that credential's Token | 403 InvalidToken |
//! | 8 | credential unexpired (ExpiredTime > now) | 403 ExpiredToken |
//! | 9 | q-sign-time equals q-key-time | 403 AccessDenied |
//! | 10 | both windows cover now, inclusive | 403 RequestTimeTooSkewed |
//! | 11 | q-header-list has host, content-length, content-md5, x-cos-security-token | 403 AccessDenied |
//! | 12 | signature over the request as received (listed header or param missing: fails) | 403 SignatureDoesNotMatch |
//! | 13 | key time ends by ExpiredTime (section 6 step 1) | 403 AccessDenied |
//! | 14 | key is one the credential was issued for | 403 AccessDenied |
//! | 15 | Content-Length equals the body length | 400 IncompleteBody |
//! | 16 | base64-decoded content-md5 equals MD5(body) | 400 InvalidDigest |
//!
//! Signature before digest: a content-md5 changed after signing is
//! SignatureDoesNotMatch; a signed one that misdescribes the body is
//! InvalidDigest. The SignatureDoesNotMatch message quotes the HttpString
//! and StringToSign the bucket computed.
//!
//! GET and HEAD are public-read: the object with its ETag, Content-Length and
//! a Content-Type from the key's extension; else 404 NoSuchKey. Other
//! methods but OPTIONS: 405 MethodNotAllowed.
//!
//! CORS, as one rule (origin `*`, methods PUT GET HEAD POST, headers `*`,
//! expose ETag, max age 600): `OPTIONS` with an Origin and an allowed
//! Access-Control-Request-Method answers 200 with Access-Control-Allow-Origin
//! (the Origin), -Allow-Methods `PUT,GET,HEAD,POST`, -Allow-Headers (the
//! requested ones), -Max-Age 600; otherwise 403 AccessDenied. Every answer
//! to a request with an Origin, errors included, carries
//! Access-Control-Allow-Origin (the Origin), Access-Control-Expose-Headers
//! `ETag` and `Vary: Origin`.
//!
//! # Admin API
//!
//! Every answer is JSON; errors are `{"error": "..."}`.
//!
//! | route | body | answer |
//! |---|---|---|
//! | `POST /_sim/accounts` | `{"kind":"qq"\|"wx","vip_end":"YYYY-MM-DD HH:MM:SS"\|null,"svip_end":..}` (ends optional, Beijing time) | `{"uin","musickey","refresh_key","refresh_token"}`; 400 on a bad body |
//! | `POST /_sim/accounts/bulk` | `{"kind":"qq"\|"wx","count":N,"vip_end":..,"svip_end":..}`, N from 1 to 100,000, ends as above and shared by all | a JSON array of N `{"uin","musickey","refresh_key","refresh_token"}`, distinct accounts (for load tests); 400 on a bad body or count |
//! | `POST /_sim/accounts/{uin}/expire` | none | every key of the account expires now |
//! | `POST /_sim/accounts/{uin}/logout` | none | its keys stop working; nothing refreshes any more |
//! | `POST /_sim/accounts/{uin}/ban` | none | Login for it answers 20277 |
//! | `GET /_sim/secrets` | | `{"secrets":[..]}`: every musickey, refresh key, refresh token and access token issued, the SecretKey and session token of every COS credential still known, and every login secret issued (qrsig, ptsigx, p_skey, pt4_token, QQ Connect and WeChat codes, client keys); for tests that prove no secret leaked (logs, Redis dumps) |
//! | `GET /_sim/stats` | | `{"module.method": calls}` for every sub-request received; `cos.PutObject` every bucket PUT, `cos.PutObject.accepted` those answered 200; the login hosts' counters (see [Login hosts](#login-hosts)) |
//! | `GET /_sim/requests` | | in order, last 10,000: `{"kind":"gateway","path","query","cookie","body"}`, `{"kind":"cos","method":"PUT","path","query","headers":{lowercase name: value}}` (no body) and `{"kind":"login","method","path","query","headers"}` (login hosts, no body) |
//! | `GET /_sim/qr` | | the login QRs, newest first: `[{"ident","kind":"qq"\|"wx"\|"app","state":"waiting"\|"scanned"\|"confirmed"\|"refused"\|"expired"\|"failed","created":unix_s}]` |
//! | `POST /_sim/qr/{ident}` | `{"action":"scan"\|"confirm"\|"refuse"\|"expire"\|"fail","uin":N}` (uin optional, confirm only; `fail` app QRs only) | plays the phone: `{"ident","state","uin"}` (uin null but for confirm); see [Login hosts](#login-hosts) |
//! | `POST /_sim/push/redirect` | `{"count":N,"reason":156\|157,"reference":"<text>"}` (defaults 1, 156, `node-b:443`) | the next N CONNECTs to the push host answer that CONNACK reason with that Server Reference; see [The app's QR](#the-qq-music-apps-qr-section-101) |
//! | `POST /_sim/push/drop` | none | closes every push connection open now (within 100 ms), as a node going away would: `{"ok":true}` |
//! | `POST /_sim/clients` | `{"uin":N}` or `{}` or nothing | plays a logged-in desktop QQ: `{"client_uin","client_key"}`; without uin for a new QQ account; 404 unknown uin, 400 a WeChat one |
//! | `POST /_sim/clients/{uin}/expire` | none | that desktop session's client key stops working: `{"ok":true,"uin"}`; 404 when it has none |
//! | `POST /_sim/desktop` | `{"accounts":[{"uin":N,"nickname":"…"},…]}` (each field optional) | plays desktop QQ's sign-ins: exactly these accounts are logged in on the simulated desktop from now on, in this order (`[]`: none); an entry without uin is a new QQ account, without nickname `sim-<uin>`. Answers `{"accounts":[{"uin","nickname"}]}`; 404 unknown uin, 400 a WeChat one or one listed twice |
//! | `GET /_sim/desktop` | | `{"accounts":[{"uin","nickname"}]}`, who is logged in on the simulated desktop |
//! | `DELETE /_sim/requests` | | clears the log: `{"cleared": n}` |
//! | `POST /_sim/faults` | `{"target":"module.method","delay_ms","code","http_status","garbage","drop","musicid","times"}` | arms a fault; echoes it |
//! | `DELETE /_sim/faults` | | disarms all: `{"cleared": n}` |
//! | `POST /_sim/clock` | `{"advance_secs": N}` | `{"now": unix_s}` |
//! | `GET /_sim/clock` | | `{"now": unix_s}` |
//! | `GET /_sim/cos/objects` | | `[{"bucket","key","size","etag"}]` by key; etag quoted, as the ETag header |
//!
//! The account routes answer 404 for an unknown uin.
//!
//! ## Faults
//!
//! A fault hits the next `times` (default 1) gateway requests that contain at
//! least one sub-request for `target`; each hit uses up one, however many
//! sub-requests of that target the request holds. Every armed fault that
//! matches a request fires on it. Their `delay_ms` add up and are slept
//! first; then, in this order, the first that applies decides the answer:
//! `drop` (the connection closes without any response byte), `http_status`
//! (that status with a short text body), `garbage` (HTTP 200, a body that is
//! not JSON). Otherwise the request is answered normally, except that each
//! sub-request of a target with a `code` fault answers that code with its
//! method's failure-shaped `data`, without running the handler; a `musicid`
//! fault lets the handler run and makes each successful sub-request of its
//! target name that account in `musicid` and `str_musicid` instead (0: no
//! account, `musicid` 0 and `str_musicid` ""), as a Login answering for
//! another account or none would. Requests
//! answered by `drop`, `http_status` or `garbage` run no handler either.
//! Faulted requests still appear in the request log and the stats. Faults
//! target gateway methods only; the bucket has none.
//!
//! # Login hosts
//!
//! Section 9's hosts all answer on the simulator's one port, at their real
//! paths: a client replaces scheme and host of `https://ssl.ptlogin2.qq.com`,
//! `https://ssl.ptlogin2.graph.qq.com`, `https://graph.qq.com`,
//! `https://open.weixin.qq.com` and `https://lp.open.weixin.qq.com` with the
//! simulator's base URL. Every query and form field section 9 lists is
//! checked, fixed values exactly (after URL-decoding; extra fields are
//! ignored); the first missing or wrong one answers **400** `text/plain`
//! `"<host>: missing or wrong field <name>"` before anything else happens.
//! Headers (User-Agent, Referer) are not checked (but for the Referer of
//! desktop QQ's local service, section 9.5 below); all are in the request log
//! (`"kind":"login"`). Cookies set here carry `Path=/` and no Domain, so a
//! cookie jar on 127.0.0.1 keeps them.
//!
//! `hash33(s, seed)` ([`hash33`]): h = seed, h = h*33 + code point for each
//! char, masked to 31 bits. hash33("QRSIGvalue", 0) = 1377046915,
//! hash33("PSKEYxyz", 5381) = 2037244188.
//!
//! Lifetimes, on the sim clock (`POST /_sim/clock` moves them):
//!
//! | what | lives | uses |
//! |---|---|---|
//! | a QR (QQ, WeChat or the app's) | [`SimConfig::qr_lifetime`], default 120 s from its creation, unless confirmed or refused first | |
//! | ptsigx | 120 s from issue | once |
//! | p_skey | 86400 s | many authorizes |
//! | QQ Connect code, WeChat code, app QR token | 600 s | once |
//! | client key | [`SimConfig::client_key_lifetime`], default 1800 s, or until `POST /_sim/clients/{uin}/expire` or a newer key for the same uin | many jumps |
//!
//! A QR moves `waiting → scanned → confirmed | refused`, and any state but
//! confirmed and refused to `expired` (by the clock or the `expire`
//! action). Only the control routes move it: `scan` from waiting;
//! `confirm`, `refuse`, `expire` from waiting or scanned (confirm may skip
//! the scan). Anything else answers **409** `{"error":"cannot <action> a
//! login that is <state>"}`; an unknown ident 404; a bad body or action
//! 400; a `uin` with any action but confirm 400. `confirm` with a `uin`
//! logs in that account (404 unknown, 400 when it is of the other kind);
//! without one it creates a new account of the QR's kind (no VIP). The
//! newest 10,000 QRs are remembered.
//!
//! ## QQ QR login (section 9.1)
//!
//! 1. `GET /ptqrshow`: fields `appid=716027609 e=2 l=M s=3 d=72 v=4
//!    daid=383 pt_3rd_aid=100497308` and `t` a number in 0..=1. Answers
//!    200 `image/png`, a QR (3 px a module, margin 2) whose text is
//!    `https://txz.qq.com/p?k=<ident>&f=716027609`, and
//!    `Set-Cookie: qrsig=<64 chars of [A-Za-z0-9*_-]>; Path=/`. The ident
//!    (32 hex chars) is derived from the qrsig one-way; it names the login
//!    in `/_sim/qr`.
//! 2. `GET /ptqrlogin`: fields `u1=https://graph.qq.com/oauth2.0/login_jump
//!    ptredirect=0 h=1 t=1 g=1 from_ui=1 ptlang=2052 js_ver=20102616
//!    js_type=1 pt_uistyle=40 aid=716027609 daid=383 pt_3rd_aid=100497308
//!    has_onekey=1`, `action=0-0-<digits>`, `ptqrtoken=<digits>`, and
//!    `Cookie: qrsig=`. Answers 200 `application/javascript`
//!    `ptuiCB('<code>','0','<url>','0','<message>', '<nickname>')`:
//!
//!    | code | when | message |
//!    |---|---|---|
//!    | `66` | waiting | 二维码未失效。 |
//!    | `67` | scanned | 二维码认证中。 |
//!    | `0` | confirmed; url is the check_sig URL, nickname 模拟用户 | 登录成功！ |
//!    | `68` | refused | 本次登录已被拒绝。 |
//!    | `65` | expired, or no qrsig cookie, or a qrsig the simulator does not know | 二维码已失效。 |
//!    | `403` | ptqrtoken ≠ hash33(qrsig, 0) (simulator's choice of code) | 请求非法，请刷新重试。 |
//!
//!    url and nickname are empty but for `0`. A wrong ptqrtoken changes
//!    nothing and is not counted as a poll of that login. Once confirmed,
//!    every poll answers the same `0` and URL. The URL is
//!    `http://<Host header>/check_sig?pttype=1&uin=<uin>&service=ptqrlogin&nodirect=0&ptsigx=<96 hex>&s_url=https%3A%2F%2Fgraph.qq.com%2Foauth2.0%2Flogin_jump&f_url=&ptlang=2052&ptredirect=100&aid=716027609&daid=383&j_later=0&low_login_hour=0&regmaster=0&pt_login_type=3&pt_aid=0&pt_aaid=16&pt_light=0&pt_3rd_aid=100497308`:
//!    following it as given and rebuilding it from `uin` and `ptsigx`
//!    with section 9.1's fields are the same request.
//! 3. `GET /check_sig`: fields `pttype=1 service=ptqrlogin nodirect=0
//!    s_url=https://graph.qq.com/oauth2.0/login_jump ptlang=2052
//!    ptredirect=100 aid=716027609 daid=383 j_later=0 low_login_hour=0
//!    regmaster=0 pt_login_type=3 pt_aid=0 pt_aaid=16 pt_light=0
//!    pt_3rd_aid=100497308`, `uin=<digits>`, `ptsigx`. The ptsigx must be
//!    one issued for that uin, unused and unexpired; then **302**,
//!    `Location: https://graph.qq.com/oauth2.0/login_jump` and
//!    `Set-Cookie: p_uin=o<uin, 10 digits zero-padded>`, `p_skey=<44
//!    chars>` (HttpOnly), `pt4_token=<44 chars>`. Otherwise **403**
//!    `text/plain`, no cookie; a refused ptsigx is not spent.
//! 4. `POST /oauth2.0/authorize`, form fields `response_type=code
//!    client_id=100497308
//!    redirect_uri=https://y.qq.com/portal/wx_redirect.html?login_type=1&surl=https://y.qq.com/
//!    scope=get_user_info,get_app_friends state=state switch=(empty)
//!    from_ptlogin=1 src=1 update_auth=1 openapi=1010_1030`,
//!    `auth_time=<digits>`, `ui=<uuid4, 8-4-4-4-12 hex with version 4>`,
//!    `g_tk=<digits>`; cookies `p_skey` (live) and `p_uin` (its uin, with
//!    or without the `o0` padding). Then g_tk must be hash33(p_skey, 5381).
//!    Success: **302** `Location: <redirect_uri>&code=<32 upper hex>&state=state`.
//!    Missing or dead cookies, or a wrong g_tk: **403** `text/plain`, no
//!    Location, no code.
//! 5. Gateway (musicu.fcg or musics.fcg) `QQConnectLogin.LoginServer.QQLogin`
//!    with param exactly `{"code":"<code>"}` and comm `tmeLoginType "2"`
//!    (a `g_tk`, when sent, must be 5381 = hash33 of no key: else 1000).
//!    Success: code 0 and Login's `data` (musicid, str_musicid, musickey
//!    `Q_H_L_...`, refresh_key, refresh_token, access_token, expired_at,
//!    musickeyCreateTime, keyExpiresIn, encryptUin, loginType 2, openid,
//!    unionid) for a new key of that account, which Login refreshes and
//!    vip_login_base / InitUpload accept like any other. Another shape or
//!    tmeLoginType: 20261. A code unknown, already used, expired, or a
//!    WeChat code: **20271** (wrong code). A banned account: 20277. All
//!    with Login's failure-shaped `data`. A logged-out account logs in
//!    again: its old keys and refresh pairs stay dead.
//!
//! ## WeChat QR login (section 9.2)
//!
//! 1. `GET /connect/qrconnect`: fields `appid=wx48db31d50e334801
//!    redirect_uri=https://y.qq.com/portal/wx_redirect.html?login_type=2&surl=https://y.qq.com/
//!    response_type=code scope=snsapi_login state=STATE`, and `href`
//!    starting with `https://y.qq.com/mediastyle/music_v17/src/css/popup_wechat.css`
//!    (`#wechat_redirect` is a fragment and never arrives). Answers 200
//!    `text/html`, a page in which the first match of `uuid=(.+?)"` is the
//!    new login's uuid (16 alphanumerics, its ident); the page also holds
//!    `<img src="/connect/qrcode/<uuid>">`.
//! 2. `GET /connect/qrcode/{uuid}`: 200 `image/jpeg`, a QR (10 px a
//!    module, margin 4, quality 90) of
//!    `https://open.weixin.qq.com/connect/confirm?uuid=<uuid>`; 404 for a
//!    uuid never made (or forgotten).
//! 3. `GET /connect/l/qrconnect?uuid=<uuid>&_=<digits>`: answers 200
//!    `application/javascript` `window.wx_errcode=<n>;window.wx_code='<code>';`
//!    with n = 408 waiting, 404 scanned, 403 refused, 402 expired (or a
//!    uuid never made), 405 confirmed (the only one with a code; every
//!    poll after a confirm answers 405 and the same code). It answers at
//!    once when the state differs from what the last poll of that uuid
//!    answered (a new QR counts as having answered 408), and always at
//!    once for refused, expired and confirmed. Otherwise it holds up to
//!    [`SimConfig::wx_poll_hold`] (default 30 s, real time), answering
//!    the moment the state changes (a clock jump that expires the QR shows
//!    within 200 ms); when the hold runs out it answers the current
//!    state: 408 while waiting, 404 once scanned. A client that goes away
//!    ends the hold.
//! 4. Gateway `music.login.LoginServer.Login` with param exactly
//!    `{"code":"<code>","strAppid":"wx48db31d50e334801"}` and comm
//!    `tmeLoginType "1"`: as step 5 of the QQ login, for the WeChat
//!    account (19-digit `str_musicid`, `W_X_` key, loginType 1); a QQ
//!    Connect code here is 20271. Any Login param with a `code` key is
//!    taken for this form.
//!
//! ## The QQ Music app's QR (section 10.1)
//!
//! 1. Gateway `music.login.LoginServer.CreateQRCode`: comm exactly `ct
//!    "23"`, `cv "0"`, `chid "0"`, `g_tk "5381"`, a guid (no uin, no
//!    tmeLoginType, no cookie), param exactly
//!    `{"tmeAppID":"qqmusic","ct":19,"cv":2201}`; anything else 20261.
//!    Answers `qrcode` (`data:image/png;base64,…`, a QR of
//!    `https://y.qq.com/m/login/qrcode.html?qrcodeID=<id>`) and `qrcodeID`
//!    (32 hex chars, the ident in `/_sim/qr`, kind `app`).
//! 2. `GET /ws/handshake` (and `/ws/handshake/{node}`, where redirects
//!    lead): a WebSocket that needs the subprotocol `mqtt` (else 400) and
//!    `Origin: https://y.qq.com` (else 403), speaking MQTT 5 in binary
//!    frames. The CONNECT must carry Authentication Method `pass` (else
//!    CONNACK 0x8C) and exactly the User Properties `tmeAppID=qqmusic`,
//!    `business=management`, `hashTag=<id>`, `clientTag=management.user`,
//!    `userID=<id>` in that order for a known app QR (else 0x87), with
//!    clean start and a client id (else 0x85); a refused CONNECT is closed.
//!    An armed redirect answers 0x9C or 0x9D with its Server Reference and
//!    closes. Otherwise CONNACK 0x00 with Server Keep Alive 40. SUBSCRIBE
//!    to exactly `management.qrcode_login/<id>` at QoS 0 with User
//!    Properties `authorization=tmelogin` and `pubsub=unicast` answers
//!    SUBACK 0x00, anything else 0x87. PINGREQ answers PINGRESP.
//! 3. Once subscribed, each change of the QR's state is published to that
//!    topic, QoS 0, with User Property `type`: `scanned`, `canceled`
//!    (refused), `timeout` (expired by the action or the clock, seen
//!    within 100 ms), `loginFailed` (the `fail` action; payload
//!    `{"msg":…}`) and `cookies` (confirmed; payload
//!    `{"cookies":{"qqmusic_uin":{"value":"<uin>"},"qqmusic_key":{"value":"<token>"},"qm_keyst":{"value":""}}}`).
//!    A confirm logs a QQ account in.
//! 4. Gateway `music.login.LoginServer.Login` with param exactly
//!    `{"musicid":<uin as number>,"qrCodeID":"<id>","token":"<token>"}`,
//!    comm `tmeLoginType "6"`, no uin and no cookie: the token serves
//!    once, for its own QR and account (else 20271); the answer is
//!    Login's with `loginType` 6, and the account is marked type 6.
//!    Any Login param with a `qrCodeID` key is taken for this form.
//!
//! A type-6 account refreshes with comm `tmeLoginType "6"` and the union
//! param set (`openid`, `access_token`, `refresh_token`, `expired_in`,
//! `str_musicid` = the uin as a string, `musicid`, `musickey`, `unionid`,
//! `refresh_key`, `loginMode 2`), or, the simulator's choice, with its
//! kind's own section-3 body; a type-6 refresh of any other account is
//! 20261. Counters: `push.handshake`, `push.handshake:<path>`,
//! `push.connect`, `push.redirected`, `push.connected`, `push.subscribed`,
//! `push.subscribe_refused`, `push.ping`, `push.publish.<type>`,
//! `push.dropped` (closed by `/_sim/push/drop`) and
//! `push.closed` (connections that ended, for tests that see a client
//! close its socket).
//!
//! ## Desktop fast login (section 9.3)
//!
//! `GET /jump`: fields `keyindex=9 pt_aid=716027609 daid=383
//! u1=https://graph.qq.com/oauth2.0/login_jump pt_3rd_aid=100497308
//! ptopt=1 style=40`, `clientuin=<digits>`; `Cookie: clientuin=<same
//! uin>; clientkey=<key>`. A live client key of that uin answers 200
//! `application/javascript` `ptui_qlogin_CB('0', '<check_sig url>', '')`,
//! with a new ptsigx in the same URL form as ptqrlogin's; then check_sig,
//! authorize and QQLogin as above. A key unknown, of another uin, ended or
//! expired, or a missing cookie answers `ptui_qlogin_CB('-1', '', '')`
//! (the simulator's choice of refusal code).
//!
//! ## Reading the client key on the desktop (section 9.5)
//!
//! The xlogin page and desktop QQ's local ptlogin service answer on the same
//! port: a client replaces `https://xui.ptlogin2.qq.com` and
//! `https://localhost.ptlogin2.qq.com:4301` with the simulator's base URL.
//!
//! 1. `GET /cgi-bin/xlogin`: fields `appid=716027609 daid=383 style=33
//!    login_text=登录 hide_title_bar=1 hide_border=1 target=self
//!    s_url=https://graph.qq.com/oauth2.0/login_jump pt_3rd_aid=100497308
//!    pt_feedback_link=https://support.qq.com/products/77942?customInfo=.appid100497308
//!    theme=2 verify_theme=` (empty). Answers 200 `text/html` with
//!    `Set-Cookie: pt_login_sig=<96 hex>; Path=/` and
//!    `Set-Cookie: pt_local_token=-<10 digits>; Path=/` (a new token each
//!    time; the newest 10,000 are remembered).
//! 2. `GET /pt_get_uins`: fields `callback=ptui_getuins_CB`, `r` a number in
//!    0..=1, `pt_local_tk`; `Cookie: pt_local_token=<the same>` and a
//!    `Referer` starting with `https://xui.ptlogin2.qq.com/cgi-bin/xlogin?`.
//!    Answers 200 `application/javascript`
//!    `var var_sso_uin_list=[{"uin":N,"face_index":-1,"gender":0,"nickname":"…","client_type":65793,"uin_flag":8388608,"account":"N"},…];ptui_getuins_CB(var_sso_uin_list);`,
//!    one entry per account `POST /_sim/desktop` set, in its order (`[]`
//!    when none).
//! 3. `GET /pt_get_st`: fields `clientuin=<digits>`, `r`, `pt_local_tk`,
//!    `callback` (letters, digits, `_`), the same cookie and Referer. For an
//!    account logged in on the desktop: a new client key for it (as `POST
//!    /_sim/clients` makes, which `/jump` accepts), answered 200
//!    `application/javascript`
//!    `var var_sso_get_st_uin={"uin":N,"keyindex":9};<callback>(var_sso_get_st_uin);`
//!    with `Set-Cookie: clientuin=<uin>; Path=/` and
//!    `Set-Cookie: clientkey=<key>; Path=/`. For any other uin the same body
//!    without cookies.
//!
//! On both local routes a missing or wrong field is 400 as above (`r` and
//! `callback` first); then a Referer that is not the xlogin page, or a
//! `pt_local_tk` that is empty, differs from the cookie or was never issued
//! by xlogin, answers **403** `text/plain` `"<route>: <why>"` (the
//! simulator's choice: the real service's refusal is not documented).
//! Whether a local service answers at all is the client's port: point it at
//! a closed port to see "no desktop QQ".
//!
//! ## Counters
//!
//! `GET /_sim/stats` counts every request to a login host: `ptlogin.ptqrshow`,
//! `ptlogin.ptqrlogin`, `ptlogin.check_sig`, `ptlogin.jump`, `xlogin`,
//! `local.pt_get_uins`, `local.pt_get_st`,
//! `graph.authorize`, `wx.qrconnect`, `wx.qrcode`, `wx.lp`; and per login,
//! so a test sees polling stop: `ptlogin.ptqrlogin:<ident>` (polls with the
//! right ptqrtoken) and `wx.lp:<uuid>` (long polls of a known uuid).
//! QQLogin counts as `QQConnectLogin.LoginServer.QQLogin`, a WeChat code
//! Login as `music.login.LoginServer.Login`. Faults (`POST /_sim/faults`)
//! apply to those gateway calls only, not to the login hosts.
//!
//! ## From Rust
//!
//! [`Simulator::qr_logins`], [`Simulator::qr_action`],
//! [`Simulator::new_client`], [`Simulator::expire_client`],
//! [`Simulator::set_desktop`] and [`Simulator::advance_clock`] do what the control routes do.

#![forbid(unsafe_code)]

mod admin;
mod app;
mod clock;
mod codes;
mod config;
mod cos;
pub mod cos_auth;
mod error;
mod faults;
mod gateway;
mod ids;
mod journal;
mod login;
mod server;
mod state;
mod uploads;
pub mod zzc;

pub use config::SimConfig;
pub use login::admin::{ControlError, QrLoginInfo};
pub use login::{hash33, QrAction, QrState};
pub use server::Simulator;
