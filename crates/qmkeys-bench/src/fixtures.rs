//! Inputs of the micro-benchmarks, shaped like what the server really handles.

use chrono::{DateTime, Utc};
use qmkeys::cos::KeyTime;
use qmkeys::domain::{Credential, MusicKey, ParamError, RefreshSecret, Uin};
use qmkeys::refresh::{Cookie, Refreshed};
use qmkeys::upstream::VipStatus;
use std::sync::Arc;

/// docs/protocol.md section 6, vector D: a cover upload as signed for QQ Music.
pub mod vector_d {
    use super::KeyTime;
    use qmkeys::cos::{SignRequest, Signed};

    pub const SECRET_ID: &str = "AKIDEXAMPLEQQMUSIC";
    pub const SECRET_KEY: &str = "SECRETKEYEXAMPLE0123456789abcdef";
    pub const KEY_TIME: KeyTime = KeyTime {
        start: 1746537582,
        end: 1746539442,
    };
    pub const METHOD: &str = "PUT";
    pub const PATH: &str = "/songlist/p/1147c/4fbfbc28bbc4a67850fa90823fcea389fcfcd48d_c902.png";
    pub const HEADERS: [(&str, &str); 4] = [
        (
            "Host",
            "music-file-1258344705.cos.ap-guangzhou.myqcloud.com",
        ),
        ("Content-Length", "51458"),
        ("content-md5", "+FOzn418LmF9ved9ymbUEw=="),
        ("x-cos-security-token", "TOKEN_example-abc+/="),
    ];
    pub const HTTP_STRING_SHA1: &str = "22dab8381c0c9f9267468f7090f9010108e224a7";
    pub const SIGNATURE: &str = "79e3acea0620f2fc07f9a1c570d04ede41bc5f04";

    /// The request the vector signs.
    pub fn request() -> SignRequest<'static> {
        SignRequest {
            method: METHOD,
            path: PATH,
            params: &[],
            headers: &HEADERS,
        }
    }

    /// The vector signed with its credential and key time.
    pub fn signed() -> Signed {
        qmkeys::cos::sign(&request(), SECRET_ID, SECRET_KEY, KEY_TIME)
    }
}

/// docs/protocol.md section 2's zzc vector.
pub const ZZC_VECTOR_BODY: &[u8] = br#"{"foo":"bar","num":1}"#;
pub const ZZC_VECTOR_SIGN: &str = "zzcf3ea51dcp3xdwnxisjgufsk0znclehf2t85bc1d3d4";

/// A musics.fcg body as qmkeys signs it for InitUpload (docs/protocol.md sections 1
/// and 5): the size of what zzc really runs over.
pub const INIT_UPLOAD_BODY: &str = concat!(
    r#"{"comm":{"ct":"19","cv":"2201","chid":"0","uin":"1569097443","#,
    r#""g_tk":"1226373346","guid":"6F2A1C0E9B8D4F3A7E5C2B1D0A9F8E7D"},"#,
    r#""req_0":{"module":"music.filesys.FileSystem","method":"InitUpload","#,
    r#""param":{"BusID":"songlist","Files":[{"FileSha1":"4fbfbc28bbc4a67850fa90823fcea389fcfcd48d","#,
    r#""FileName":"4fbfbc28bbc4a67850fa90823fcea389fcfcd48d.png","FileSize":51458}]}}}"#
);

/// The README's example account, with a key and refresh pair of the lengths
/// the simulator issues (a 40-character key body, 32 and 48 for the pair).
pub const UIN: &str = "1569097443";
pub const MUSIC_KEY: &str = "Q_H_L_63kfNuk1fUK-t9Rshh-NGQrRsuQmM8eCpOAo4Ttg";
pub const REFRESH_KEY: &str = "b3Jd9QpX2mZkR7sVtY1wLc8NfHa4GeU6";
pub const REFRESH_TOKEN: &str = "Ck_2xT9-qLm4RvZ8nHs1WpYb6JdFg3Ea0MuKiO7c5NzQtVrX";

/// What a caller sends to refresh that account.
pub fn credential() -> Result<Credential, ParamError> {
    Credential::parse(
        Some(UIN),
        Some(MUSIC_KEY),
        Some(REFRESH_KEY),
        Some(REFRESH_TOKEN),
    )
}

fn beijing(s: &str) -> Result<DateTime<Utc>, ParamError> {
    qmkeys::beijing::parse(s).ok_or_else(|| ParamError::new("time", s))
}

/// The README example's moment: 2024-08-03 22:05:59, Beijing time.
pub fn now() -> Result<DateTime<Utc>, ParamError> {
    beijing("2024-08-03 22:05:59")
}

/// A full refresh result: a rotated key with its refresh pair, and VIP info
/// with both end times set (one running, one ended), as in the README example.
pub fn refreshed() -> Result<Refreshed, ParamError> {
    let cookie = Cookie {
        uin: Uin::parse(UIN)?,
        key: MusicKey::parse(MUSIC_KEY)?,
        refresh_key: RefreshSecret::parse_optional("refresh_key", Some(REFRESH_KEY))?,
        refresh_token: RefreshSecret::parse_optional("refresh_token", Some(REFRESH_TOKEN))?,
        created_at: 1722693959,
        expires_in: 259_200,
    };
    let info = VipStatus {
        vip: true,
        vip_end: Some(beijing("2025-09-15 07:20:45")?),
        svip: false,
        svip_end: Some(beijing("2023-08-22 07:29:39")?),
    };
    Ok(Refreshed {
        cookie: Arc::new(cookie),
        info: Some(info),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_d_signs_as_the_protocol_says() {
        let signed = vector_d::signed();
        assert_eq!(signed.http_string_sha1, vector_d::HTTP_STRING_SHA1);
        assert_eq!(signed.signature, vector_d::SIGNATURE);
    }

    #[test]
    fn zzc_vector_and_fixtures_parse() {
        assert_eq!(qmkeys::upstream::zzc_sign(ZZC_VECTOR_BODY), ZZC_VECTOR_SIGN);
        let body: serde_json::Value =
            serde_json::from_str(INIT_UPLOAD_BODY).expect("the InitUpload body is JSON");
        assert_eq!(body["req_0"]["method"], "InitUpload");
        assert!(credential().is_ok());
        let r = refreshed().expect("fixture parses");
        assert_eq!(r.cookie.expires_at(), 1722693959 + 259_200);
        assert!(now().is_ok());
    }
}
