//! `VipLogin.VipLoginInter.vip_login_base` (docs/protocol.md section 4).

use super::login::integer;
use crate::beijing;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

pub(super) const MODULE: &str = "VipLogin.VipLoginInter";
pub(super) const METHOD: &str = "vip_login_base";

/// Green-diamond (VIP) and luxury (SVIP) membership of one account.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VipStatus {
    pub vip: bool,
    pub vip_end: Option<DateTime<Utc>>,
    pub svip: bool,
    pub svip_end: Option<DateTime<Utc>>,
}

impl VipStatus {
    /// vip = identity.LMFlag == 1 (else identity.vip), end LMEnd;
    /// svip = identity.HugeVip == 1, end HugeVipEnd. Missing parts read as "none".
    pub fn from_data(data: &Value) -> Self {
        let identity = data.get("identity").unwrap_or(&Value::Null);
        let flag = |name: &str| integer(identity, name);
        let end = |name: &str| {
            identity
                .get(name)
                .and_then(Value::as_str)
                .and_then(beijing::parse)
        };
        Self {
            vip: flag("LMFlag").or_else(|| flag("vip")) == Some(1),
            vip_end: end("LMEnd"),
            svip: flag("HugeVip") == Some(1),
            svip_end: end("HugeVipEnd"),
        }
    }

    /// The answer's own shape, so a cache reads its copy back through
    /// [`Self::from_data`] and trusts it no more than the answer.
    pub fn to_data(&self) -> Value {
        let end = |t: Option<DateTime<Utc>>| t.map(beijing::format).unwrap_or_default();
        json!({"identity": {
            "LMFlag": u8::from(self.vip),
            "LMEnd": end(self.vip_end),
            "HugeVip": u8::from(self.svip),
            "HugeVipEnd": end(self.svip_end),
        }})
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_the_seed_shape() {
        let data = json!({"svip":0,"identity":{"vip":1,"LMFlag":1,"LMEnd":"2025-09-15 07:20:45",
            "HugeVip":0,"HugeVipStart":"","HugeVipEnd":"2023-08-22 07:29:39"}});
        let status = VipStatus::from_data(&data);
        assert!(status.vip && !status.svip);
        assert_eq!(
            status.vip_end.map(beijing::format).as_deref(),
            Some("2025-09-15 07:20:45")
        );
        assert_eq!(status.svip_end.map(|t| t.timestamp()), Some(1692660579));
    }

    #[test]
    fn falls_back_to_identity_vip_and_reads_blanks_as_none() {
        let data = json!({"identity":{"vip":1,"LMEnd":"","HugeVipEnd":""}});
        assert_eq!(
            VipStatus::from_data(&data),
            VipStatus {
                vip: true,
                ..VipStatus::default()
            }
        );
        assert_eq!(VipStatus::from_data(&json!({})), VipStatus::default());
    }
}
