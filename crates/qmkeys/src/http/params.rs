//! Request parameters: one typed extractor per route. Each reads the query
//! string and, for POST, a form body (the public API takes both), refuses a
//! parameter given twice, and yields the route's domain types, turning every
//! problem into the envelope's error.

use super::error::ApiError;
use super::AppState;
use crate::domain::{
    parse_client_uin, ClientKey, Credential, ImageExt, ParamError, Uin, UploadFile,
};
use crate::login::QrKind;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header::CONTENT_TYPE, Method, StatusCode};
use serde::de::value::{MapDeserializer, StringDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::{forward_to_deserialize_any, Deserialize};
use std::borrow::Cow;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// Form bodies carry a few short fields; more than this is not a refresh.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// A request's parameters in the order given, the query's then a form
/// body's. Deserialized into a `*Params` struct, it gives each of the
/// struct's fields once: a field given twice is refused by name, an absent
/// one reads as `None` (or `""` for a `String`, which its parser refuses
/// as missing), and names the struct does not have are ignored.
struct Pairs<'a>(Vec<(Cow<'a, str>, Cow<'a, str>)>);

/// Why [`Pairs`] could not fill a struct.
#[derive(Debug)]
enum ReadError {
    /// A parameter given twice is ambiguous: which key did the caller mean?
    Repeated(&'static str),
    /// A `*Params` field that is not text; no struct here has one.
    Other(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Repeated(param) => write!(f, "parameter {param} repeated"),
            Self::Other(message) => f.write_str(message),
        }
    }
}

impl std::error::Error for ReadError {}

impl serde::de::Error for ReadError {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Self::Other(message.to_string())
    }
}

impl From<ReadError> for ApiError {
    fn from(err: ReadError) -> Self {
        match err {
            ReadError::Repeated(param) => {
                ParamError::new(param, format!("参数 {param} 重复出现，只能提供一次")).into()
            }
            ReadError::Other(message) => ParamError::new("query", message).into(),
        }
    }
}

impl<'de> Deserializer<'de> for Pairs<'_> {
    type Error = ReadError;

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ReadError> {
        let mut values: Vec<Option<String>> = vec![None; fields.len()];
        for (name, value) in self.0 {
            let Some(i) = fields.iter().position(|known| *known == name) else {
                continue;
            };
            if values[i].is_some() {
                return Err(ReadError::Repeated(fields[i]));
            }
            values[i] = Some(value.into_owned());
        }
        visitor.visit_map(MapDeserializer::new(
            fields.iter().copied().zip(values.into_iter().map(Text)),
        ))
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, ReadError> {
        Err(ReadError::Other("parameters fill a struct".to_owned()))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

/// One parameter's value, or its absence.
struct Text(Option<String>);

impl IntoDeserializer<'_, ReadError> for Text {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> Deserializer<'de> for Text {
    type Error = ReadError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        visitor.visit_string(self.0.unwrap_or_default())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ReadError> {
        match self.0 {
            Some(value) => visitor.visit_some(StringDeserializer::new(value)),
            None => visitor.visit_none(),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// The query and, when given, a POST's body with its `Content-Type` (a
/// non-empty body of another type than a form is 415), into `T`.
fn read<T: DeserializeOwned>(
    query: Option<&str>,
    form: Option<(Option<&str>, &[u8])>,
) -> Result<T, ApiError> {
    let mut pairs: Vec<_> = form_urlencoded::parse(query.unwrap_or_default().as_bytes()).collect();
    if let Some((content_type, body)) = form.filter(|(_, body)| !body.is_empty()) {
        if !content_type.is_some_and(is_form_type) {
            // The query is read first: a parameter repeated there is refused first.
            T::deserialize(Pairs(pairs))?;
            return Err(ApiError::UnsupportedMediaType);
        }
        pairs.extend(form_urlencoded::parse(body));
    }
    Ok(T::deserialize(Pairs(pairs))?)
}

/// `save=true` on a server without `accounts_allow_save` is 403 (40305),
/// refused as the request is read, before any work: a refused refresh burns
/// no key, a refused login starts none.
fn allowed(save: bool, state: &AppState) -> Result<bool, ApiError> {
    if save && !state.allow_save {
        return Err(ApiError::SaveDisabled);
    }
    Ok(save)
}

/// `GET|POST /music/tencent/cookie/refresh`'s parameters, as the OpenAPI
/// document describes them. [`Refresh`] fills it and checks it.
#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct RefreshParams {
    /// QQ 号（6-11 位，配 `Q_H_L_` key）或微信账号 ID（最多 19 位，配 `W_X_` key）；
    /// 其他组合返回 400（40001）/ a QQ number (6-11 digits, with a `Q_H_L_` key) or a
    /// WeChat id (up to 19 digits, with a `W_X_` key); any other pair is 400 (40001)
    #[param(
        pattern = r"^[1-9][0-9]{0,18}$",
        max_length = 19,
        example = "1569097443"
    )]
    #[schema(
        pattern = r"^[1-9][0-9]{0,18}$",
        max_length = 19,
        example = "1569097443"
    )]
    pub uin: String,
    /// `Q_H_L_`（QQ）或 `W_X_`（微信）开头的 key / the musickey
    #[param(pattern = r"^(Q_H_L_|W_X_)[!#-+\--:<-\[\]-~]+$", max_length = 1024)]
    #[schema(pattern = r"^(Q_H_L_|W_X_)[!#-+\--:<-\[\]-~]+$", max_length = 1024)]
    pub music_key: String,
    /// key 已过期时与 refresh_token 一起提供 / sent with refresh_token when the key has expired
    #[param(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
    #[schema(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
    pub refresh_key: Option<String>,
    /// 刷新令牌 / the refresh token
    #[param(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
    #[schema(pattern = r"^[!#-+\--:<-\[\]-~]*$", max_length = 1024)]
    pub refresh_token: Option<String>,
    /// 刷新成功后把账号保存为上传账号（服务器需开启 `accounts_allow_save`，否则 403）
    /// / keep the account for uploads (403 unless the server enables it)
    #[param(schema_with = save_schema)]
    #[schema(schema_with = save_schema)]
    pub save: Option<String>,
}

/// The values `save` takes: exactly these, absent meaning false.
const SAVE_VALUES: [(&str, bool); 4] =
    [("true", true), ("false", false), ("1", true), ("0", false)];

fn save_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(SAVE_VALUES.map(|(v, _)| v)))
}

/// A refresh request, checked: the credential and whether to keep the account.
#[derive(Debug)]
pub struct Refresh {
    pub cred: Credential,
    pub save: bool,
}

impl RefreshParams {
    fn check(self) -> Result<Refresh, ApiError> {
        let cred = Credential::parse(
            Some(&self.uin),
            Some(&self.music_key),
            self.refresh_key.as_deref(),
            self.refresh_token.as_deref(),
        )?;
        let save = parse_save(self.save.as_deref())?;
        Ok(Refresh { cred, save })
    }
}

impl Refresh {
    /// The extractor's work once the body is read: the query, and a POST's
    /// body with its `Content-Type`. Pure, for tests and fuzzing.
    pub fn from_parts(
        query: Option<&str>,
        form: Option<(Option<&str>, &[u8])>,
    ) -> Result<Self, ApiError> {
        read::<RefreshParams>(query, form)?.check()
    }
}

impl FromRequest<AppState> for Refresh {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (query, form) = read_request(req, state).await?;
        let request = Self::from_parts(query.as_deref(), form_ref(&form))?;
        allowed(request.save, state)?;
        Ok(request)
    }
}

/// A request's query and, for POST, its body with its `Content-Type`.
type Read = (Option<String>, Option<(Option<String>, Bytes)>);

fn form_ref(form: &Option<(Option<String>, Bytes)>) -> Option<(Option<&str>, &[u8])> {
    form.as_ref()
        .map(|(content_type, body)| (content_type.as_deref(), body.as_ref()))
}

/// The query, and for POST the body (too large is 413, unreadable 400).
async fn read_request(req: Request, state: &AppState) -> Result<Read, ApiError> {
    let query = req.uri().query().map(str::to_owned);
    if req.method() != Method::POST {
        return Ok((query, None));
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = Bytes::from_request(req, state).await.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::BodyTooLarge
        } else {
            ApiError::BadBody
        }
    })?;
    Ok((query, Some((content_type, body))))
}

/// `save`: exactly one of the documented values; absent means false.
fn parse_save(raw: Option<&str>) -> Result<bool, ParamError> {
    match raw {
        None => Ok(false),
        Some(raw) => SAVE_VALUES
            .iter()
            .find(|(v, _)| *v == raw)
            .map(|(_, on)| *on)
            .ok_or_else(|| ParamError::new("save", "参数 save 只能是 true、false、1 或 0")),
    }
}

/// `GET /music/tencent/cookie/qrcode`'s parameters, as documented.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct QrParams {
    /// 扫码的应用，默认为第一个取值 / which app scans the QR; the first value is the default
    #[serde(rename = "type")]
    #[param(rename = "type", schema_with = qr_type_schema)]
    pub kind: Option<String>,
    /// 登录成功后把账号保存为上传账号（服务器需开启 `accounts_allow_save`，否则 403）
    /// / keep the account for uploads (403 unless the server enables it)
    #[param(schema_with = save_schema)]
    pub save: Option<String>,
}

/// `type`'s schema, from the registry of QR login kinds: its values, the
/// default, and what each one is.
fn qr_type_schema() -> impl Into<RefOr<Schema>> {
    let described = QrKind::all()
        .map(|kind| {
            let info = kind.info();
            if info.label_zh == info.label_en {
                format!("`{}`：{}", info.name, info.label_zh)
            } else {
                format!("`{}`：{} / {}", info.name, info.label_zh, info.label_en)
            }
        })
        .collect::<Vec<_>>()
        .join("；");
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(QrKind::names()))
        .default(Some(serde_json::json!(QrKind::default().as_str())))
        .description(Some(described))
}

/// `type`'s error, naming the registry's kinds.
fn qr_type_error() -> ParamError {
    let listed = one_of(&QrKind::names());
    ParamError::new("type", format!("参数 type 只能是 {listed}"))
}

/// `qq 或 wx`, `a、b 或 c`.
fn one_of(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} 或 {last}", rest.join("、")),
        None => String::new(),
    }
}

/// A QR login request, checked.
#[derive(Debug)]
pub struct QrStart {
    pub kind: QrKind,
    pub save: bool,
}

impl QrParams {
    fn check(self) -> Result<QrStart, ApiError> {
        let kind = match self.kind.as_deref() {
            None => QrKind::default(),
            Some(raw) => QrKind::parse(raw).ok_or_else(qr_type_error)?,
        };
        Ok(QrStart {
            kind,
            save: parse_save(self.save.as_deref())?,
        })
    }
}

impl FromRequestParts<AppState> for QrStart {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let request = read::<QrParams>(parts.uri.query(), None)?.check()?;
        allowed(request.save, state)?;
        Ok(request)
    }
}

/// `GET|POST /music/tencent/cookie/fastlogin`'s parameters, as documented.
#[derive(Debug, Deserialize, utoipa::IntoParams, utoipa::ToSchema)]
#[into_params(parameter_in = Query)]
pub struct FastLoginParams {
    /// 已登录电脑 QQ 的 QQ 号（6-11 位）/ the QQ number logged in on the desktop (6-11 digits)
    #[param(pattern = r"^[1-9][0-9]{5,10}$", example = "1569097443")]
    #[schema(pattern = r"^[1-9][0-9]{5,10}$", example = "1569097443")]
    pub client_uin: String,
    /// 桌面端助手取得的 clientkey：整个 QQ 网页会话，服务器不记录、不保存、不回显
    /// / the desktop client's clientkey: a whole QQ web session, never logged, stored or echoed
    #[param(pattern = r"^[A-Za-z0-9*._-]{8,1024}$")]
    #[schema(pattern = r"^[A-Za-z0-9*._-]{8,1024}$")]
    pub client_key: String,
    /// 登录成功后把账号保存为上传账号（服务器需开启 `accounts_allow_save`，否则 403）
    /// / keep the account for uploads (403 unless the server enables it)
    #[param(schema_with = save_schema)]
    #[schema(schema_with = save_schema)]
    pub save: Option<String>,
}

/// A fast-login request, checked.
#[derive(Debug)]
pub struct FastLogin {
    pub client_uin: Uin,
    pub client_key: ClientKey,
    pub save: bool,
}

impl FastLoginParams {
    fn check(self) -> Result<FastLogin, ApiError> {
        Ok(FastLogin {
            client_uin: parse_client_uin(&self.client_uin)?,
            client_key: ClientKey::parse(&self.client_key)?,
            save: parse_save(self.save.as_deref())?,
        })
    }
}

impl FromRequest<AppState> for FastLogin {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (query, form) = read_request(req, state).await?;
        let request = read::<FastLoginParams>(query.as_deref(), form_ref(&form))?.check()?;
        allowed(request.save, state)?;
        Ok(request)
    }
}

/// `GET /tool/cos/sign`'s parameters, as the OpenAPI document describes
/// them. `size`'s maximum is the server's `cos_max_upload_bytes`, filled in
/// when the document is built. [`Sign`] fills it and checks it.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SignParams {
    /// 文件的 SHA-1（40 位十六进制）/ the file's SHA-1 in hex
    #[param(
        pattern = "^[0-9a-fA-F]{40}$",
        example = "4fbfbc28bbc4a67850fa90823fcea389fcfcd48d"
    )]
    pub sha1: String,
    /// 文件的 MD5（32 位十六进制）/ the file's MD5 in hex
    #[param(
        pattern = "^[0-9a-fA-F]{32}$",
        example = "f853b39f8d7c2e617dbde77dca66d413"
    )]
    pub md5: String,
    /// 文件字节数 / the file's size in bytes
    #[param(value_type = u64, minimum = 1, example = 51458)]
    pub size: String,
    /// 图片类型，默认 png，只能是小写的这几种 / the image type, png when absent, in lower case
    #[param(schema_with = ext_schema)]
    pub ext: Option<String>,
}

fn ext_schema() -> impl Into<RefOr<Schema>> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(ImageExt::ALL.map(ImageExt::as_str)))
}

/// A sign request, checked: the file to upload.
#[derive(Debug)]
pub struct Sign {
    pub file: UploadFile,
}

impl FromRequestParts<AppState> for Sign {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        Self::from_query(parts.uri.query(), state.uploads.max_size())
    }
}

impl Sign {
    /// The extractor's work: the query, with the server's size limit. Pure,
    /// for tests and fuzzing.
    pub fn from_query(query: Option<&str>, max_size: u64) -> Result<Self, ApiError> {
        read::<SignParams>(query, None)?.check(max_size)
    }
}

impl SignParams {
    fn check(self, max_size: u64) -> Result<Sign, ApiError> {
        // An empty value reads as a missing one.
        let file = UploadFile::parse(
            Some(self.sha1.as_str()),
            Some(self.md5.as_str()),
            Some(self.size.as_str()),
            self.ext.as_deref(),
            max_size,
        )?;
        Ok(Sign { file })
    }
}

fn is_form_type(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|v| {
        v.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

    #[test]
    fn query_and_form_both_count_and_percent_decoding_applies() {
        let body = b"music_key=Q_H_L_a%2Bb&other=x&other=y".as_slice();
        let p: RefreshParams = read(Some("uin=123456"), Some((FORM, body))).expect("read");
        assert_eq!(p.uin, "123456");
        assert_eq!(p.music_key, "Q_H_L_a+b");
        assert_eq!((p.refresh_key, p.save), (None, None));
    }

    #[test]
    fn a_repeated_parameter_is_refused_by_name() {
        let refused =
            |query: &str, body: &[u8], content_type: Option<&str>| match read::<RefreshParams>(
                Some(query),
                Some((content_type, body)),
            ) {
                Err(ApiError::Param(e)) => (e.param, e.message),
                other => panic!("{query} {body:?}: {other:?}"),
            };
        let want = ("uin", "参数 uin 重复出现，只能提供一次".to_owned());
        assert_eq!(refused("uin=1&uin=2", b"", None), want);
        // Across the query and the body, and the first repeated name in order.
        assert_eq!(refused("uin=1", b"uin=2", FORM), want);
        assert_eq!(refused("save=1&uin=1&uin=2&save=2", b"", None), want);
        // Read before a body of the wrong type is refused.
        assert_eq!(
            refused("uin=1&uin=2", b"{}", Some("application/json")),
            want
        );
        let (param, _) = refused("", b"save=1&save=1", FORM);
        assert_eq!(param, "save");
        let (param, message) = match read::<QrParams>(Some("type=qq&type=wx"), None) {
            Err(ApiError::Param(e)) => (e.param, e.message),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (param, message.as_str()),
            ("type", "参数 type 重复出现，只能提供一次")
        );
        // A name no route reads may repeat.
        assert!(read::<SignParams>(Some("x=1&x=2&sha1=a"), None).is_ok());
    }

    #[test]
    fn save_is_exactly_one_of_the_documented_values() {
        let with = |save: Option<&str>| {
            RefreshParams {
                uin: "123456".into(),
                music_key: "Q_H_L_k".into(),
                refresh_key: None,
                refresh_token: None,
                save: save.map(str::to_owned),
            }
            .check()
        };
        assert!(matches!(with(None), Ok(Refresh { save: false, .. })));
        for (raw, want) in [("true", true), ("1", true), ("false", false), ("0", false)] {
            assert!(
                matches!(with(Some(raw)), Ok(Refresh { save, .. }) if save == want),
                "{raw}"
            );
        }
        for raw in ["", " true", "TRUE", "yes"] {
            match with(Some(raw)) {
                Err(ApiError::Param(e)) => assert_eq!(e.param, "save", "{raw:?}"),
                other => panic!("{raw:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_wrong_type_is_refused_naming_every_registered_kind() {
        let err = qr_type_error();
        assert_eq!(err.param, "type");
        assert!(
            err.message.starts_with("参数 type 只能是 qq"),
            "{}",
            err.message
        );
        for name in QrKind::names() {
            assert!(err.message.contains(name), "{name}");
        }
        assert_eq!(one_of(&["qq", "wx"]), "qq 或 wx");
        assert_eq!(one_of(&["qq", "wx", "app"]), "qq、wx 或 app");
        assert_eq!(one_of(&["qq"]), "qq");
    }

    #[test]
    fn form_types_are_recognised_with_parameters_and_in_any_case() {
        assert!(is_form_type(
            "Application/X-WWW-Form-Urlencoded; charset=utf-8"
        ));
        assert!(!is_form_type("application/json"));
        let body = b"uin=123456&music_key=Q_H_L_k".as_slice();
        assert!(Refresh::from_parts(
            None,
            Some((Some("application/x-www-form-urlencoded"), body))
        )
        .is_ok());
        assert!(matches!(
            Refresh::from_parts(None, Some((None, body))),
            Err(ApiError::UnsupportedMediaType)
        ));
        assert!(matches!(
            Refresh::from_parts(None, Some((Some("application/json"), b"{}".as_slice()))),
            Err(ApiError::UnsupportedMediaType)
        ));
        // An empty body is no body, whatever its type.
        assert!(Refresh::from_parts(
            Some("uin=123456&music_key=Q_H_L_k"),
            Some((None, b"".as_slice()))
        )
        .is_ok());
    }
}
