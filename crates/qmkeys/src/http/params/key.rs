//! The `uin` and `music_key` a refresh and a check both take, declared once
//! so the two routes cannot drift apart. A macro rather than a
//! `#[serde(flatten)]`ed struct: flattening would turn the form body's
//! schema into an `allOf` and bypass `read.rs`'s field-by-field reading.

/// Declares a `*Params` struct that opens with the account's `uin` and its
/// `music_key`, each with the same pattern and limits. The key's description
/// is the caller's, as each route says what it does with the key.
macro_rules! key_params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            #[doc = $key_doc:literal]
            music_key,
            $($rest:tt)*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
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
            #[doc = $key_doc]
            #[param(pattern = r"^(Q_H_L_|W_X_)[!#-+\--:<-\[\]-~]+$", max_length = 1024)]
            #[schema(pattern = r"^(Q_H_L_|W_X_)[!#-+\--:<-\[\]-~]+$", max_length = 1024)]
            pub music_key: String,
            $($rest)*
        }
    };
}

pub(super) use key_params;
