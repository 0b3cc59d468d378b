//! Reading a request's parameters into a `*Params` struct: the query and a
//! POST's form body, in that order, each field once.

use crate::domain::ParamError;
use crate::http::error::ApiError;
use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{header::CONTENT_TYPE, Method};
use http_body_util::BodyExt;
use serde::de::value::{MapDeserializer, StringDeserializer};
use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use std::borrow::Cow;

/// A request's parameters in the order given, the query's then a form
/// body's. Deserialized into a `*Params` struct, it gives each of the
/// struct's fields once: a field given twice is refused by name, an absent
/// one reads as `None` (or `""` for a `String`, which its parser refuses
/// as missing), and names the struct does not have are ignored.
/// Read as they are deserialised: nothing is collected first.
struct Pairs<'a> {
    query: &'a [u8],
    form: Option<&'a [u8]>,
}

impl<'a> Pairs<'a> {
    fn iter(&self) -> impl Iterator<Item = (Cow<'a, str>, Cow<'a, str>)> + 'a {
        form_urlencoded::parse(self.query)
            .chain(self.form.into_iter().flat_map(form_urlencoded::parse))
    }
}

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
        for (name, value) in self.iter() {
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
pub(super) fn read<T: DeserializeOwned>(
    query: Option<&str>,
    form: Option<(Option<&str>, &[u8])>,
) -> Result<T, ApiError> {
    let query = query.unwrap_or_default().as_bytes();
    let mut pairs = Pairs { query, form: None };
    if let Some((content_type, body)) = form.filter(|(_, body)| !body.is_empty()) {
        if !content_type.is_some_and(is_form_type) {
            // The query is read first: a parameter repeated there is refused first.
            T::deserialize(pairs)?;
            return Err(ApiError::UnsupportedMediaType);
        }
        pairs.form = Some(body);
    }
    Ok(T::deserialize(pairs)?)
}

/// A request's URI (for its query) and, for POST, its body with its `Content-Type`.
pub(super) type Read = (axum::http::Uri, Option<(Option<String>, Bytes)>);

pub(super) fn form_ref(form: &Option<(Option<String>, Bytes)>) -> Option<(Option<&str>, &[u8])> {
    form.as_ref()
        .map(|(content_type, body)| (content_type.as_deref(), body.as_ref()))
}

/// The query, and for POST the body (too large is 413, unreadable 400).
pub(super) async fn read_request(req: Request) -> Result<Read, ApiError> {
    // A clone of the URI shares its bytes: no copy of the query.
    let uri = req.uri().clone();
    if req.method() != Method::POST {
        return Ok((uri, None));
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    // Capped here, where it is read: no layer on the router has to say so.
    let limited = http_body_util::Limited::new(req.into_body(), super::MAX_FORM_BYTES);
    let body = match limited.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(err) if err.is::<http_body_util::LengthLimitError>() => {
            return Err(ApiError::BodyTooLarge)
        }
        Err(_) => return Err(ApiError::BadBody),
    };
    Ok((uri, Some((content_type, body))))
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
    use crate::http::params::{QrParams, Refresh, RefreshParams, SignParams};

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
