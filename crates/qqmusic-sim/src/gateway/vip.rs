//! `VipLogin.VipLoginInter.vip_login_base` (docs/protocol.md section 4). Always
//! code 0: a bad key gets the anonymous answer (zero flags, empty ends).

use serde_json::{json, Value};

use super::creds::g_tk_matches;
use super::{Call, Reply};
use crate::clock::format_beijing;
use crate::codes;
use crate::error::SimError;
use crate::state::VipView;

/// HugeVipStart is not modelled per account; say the SVIP term was one year.
const SVIP_TERM_SECS: i64 = 365 * 86_400;

pub fn handle(call: &Call<'_>) -> Result<Reply, SimError> {
    let now = call.sim.clock.now();
    let view = match &call.creds.key {
        Some(key) if g_tk_matches(call.comm, key) => {
            call.sim.accounts()?.authenticate(key, call.creds.uin, now)
        }
        _ => None,
    };
    Ok(Reply {
        code: codes::OK,
        data: view.map_or_else(failure, |v| status(&v, now)),
    })
}

fn flag(end: Option<i64>, now: i64) -> u8 {
    u8::from(end.is_some_and(|e| e > now))
}

fn end_string(end: Option<i64>) -> String {
    end.map(format_beijing).unwrap_or_default()
}

fn status(v: &VipView, now: i64) -> Value {
    let vip = flag(v.vip_end, now);
    let svip = flag(v.svip_end, now);
    let svip_start = v.svip_end.map(|e| e.saturating_sub(SVIP_TERM_SECS));
    json!({
        "svip": svip,
        "identity": {
            "vip": vip,
            "LMFlag": vip,
            "LMEnd": end_string(v.vip_end),
            "HugeVip": svip,
            "HugeVipStart": end_string(svip_start),
            "HugeVipEnd": end_string(v.svip_end),
            "yearflag": 0,
            "HugeYearFlag": 0,
            "level": 5,
            "icon": "/sim/icon/vip.png",
        },
        "userinfo": {
            "uin": v.uin.to_string(),
            "nick": format!("sim-{}", v.uin),
        },
    })
}

/// The anonymous answer: what a bad key gets, and what a code fault answers.
pub fn failure() -> Value {
    json!({
        "svip": 0,
        "identity": {
            "vip": 0,
            "LMFlag": 0,
            "LMEnd": "",
            "HugeVip": 0,
            "HugeVipStart": "",
            "HugeVipEnd": "",
            "yearflag": 0,
            "HugeYearFlag": 0,
            "level": 0,
            "icon": "",
        },
        "userinfo": {},
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_set_only_for_ends_strictly_in_the_future() {
        let now = 1_700_000_000;
        let v = VipView {
            uin: 1,
            vip_end: Some(now + 1),
            svip_end: Some(now),
            banned: false,
        };
        let s = status(&v, now);
        assert_eq!(s["identity"]["LMFlag"], 1);
        assert_eq!(s["identity"]["vip"], 1);
        assert_eq!(s["identity"]["HugeVip"], 0);
        assert_eq!(s["svip"], 0);
        assert_eq!(s["identity"]["HugeVipEnd"], format_beijing(now));
    }
}
