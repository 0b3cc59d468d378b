//! Injected faults: armed through `POST /_sim/faults`, each consumed by the
//! next gateway requests that contain a sub-request for its target.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// A fault as armed by the admin API. Every field but `target` is optional.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// `module.method`, e.g. `music.login.LoginServer.Login`.
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub garbage: bool,
    #[serde(default)]
    pub drop: bool,
    /// A successful answer of `target` (Login) names this account instead of
    /// its own: another uin, or 0 for none (`musicid` 0, `str_musicid` "").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub musicid: Option<u64>,
    /// How many more requests this fault hits.
    #[serde(default = "one")]
    pub times: u32,
}

fn one() -> u32 {
    1
}

impl Fault {
    /// Rejects faults that could never do anything, or that HTTP cannot express.
    pub fn validate(&self) -> Result<(), String> {
        if self.target.trim().is_empty() {
            return Err("target must be a non-empty module.method".into());
        }
        if self.times == 0 {
            return Err("times must be at least 1".into());
        }
        if let Some(s) = self.http_status {
            // 1xx are not final answers and hyper would not send them as such.
            if !(200..=599).contains(&s) {
                return Err("http_status must be within 200..=599".into());
            }
        }
        let any = self.delay_ms.is_some()
            || self.code.is_some()
            || self.http_status.is_some()
            || self.garbage
            || self.drop
            || self.musicid.is_some();
        if !any {
            return Err(
                "a fault needs delay_ms, code, http_status, garbage, drop or musicid".into(),
            );
        }
        Ok(())
    }
}

/// What the faults that fired on one request add up to.
#[derive(Debug, Default)]
pub struct Fired {
    /// Sum of the delays of every fired fault.
    pub delay: Duration,
    /// Close the connection without an answer.
    pub drop: bool,
    /// First fired http_status.
    pub http_status: Option<u16>,
    /// Answer 200 with a body that is not JSON.
    pub garbage: bool,
    /// Per target, the code its sub-requests answer (first fired wins).
    pub codes: HashMap<String, i64>,
    /// Per target, the account its successful answers name (first fired wins).
    pub musicids: HashMap<String, u64>,
}

#[derive(Debug, Default)]
pub struct Faults {
    armed: Vec<Fault>,
}

impl Faults {
    pub fn arm(&mut self, fault: Fault) {
        self.armed.push(fault);
    }

    pub fn clear(&mut self) -> usize {
        let n = self.armed.len();
        self.armed.clear();
        n
    }

    /// Fires, and uses up one `times` of, every armed fault whose target is
    /// among `targets` (the request's sub-requests). Each fault fires at most
    /// once per request, however many sub-requests share its target.
    pub fn fire(&mut self, targets: &[String]) -> Fired {
        let mut fired = Fired::default();
        for fault in &mut self.armed {
            if fault.times == 0 || !targets.contains(&fault.target) {
                continue;
            }
            fault.times -= 1;
            if let Some(ms) = fault.delay_ms {
                fired.delay = fired.delay.saturating_add(Duration::from_millis(ms));
            }
            fired.drop |= fault.drop;
            fired.garbage |= fault.garbage;
            fired.http_status = fired.http_status.or(fault.http_status);
            if let Some(code) = fault.code {
                fired.codes.entry(fault.target.clone()).or_insert(code);
            }
            if let Some(id) = fault.musicid {
                fired.musicids.entry(fault.target.clone()).or_insert(id);
            }
        }
        self.armed.retain(|f| f.times > 0);
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(json: &str) -> Fault {
        match serde_json::from_str::<Fault>(json) {
            Ok(f) => f,
            Err(e) => panic!("bad test fault {json}: {e}"),
        }
    }

    #[test]
    fn a_fault_fires_exactly_times_requests_and_only_for_its_target() {
        let mut faults = Faults::default();
        faults.arm(fault(r#"{"target":"a.B","code":7,"times":2}"#));
        let other = vec!["c.D".to_string()];
        let mine = vec!["a.B".to_string(), "c.D".to_string()];
        assert!(faults.fire(&other).codes.is_empty());
        assert_eq!(faults.fire(&mine).codes.get("a.B"), Some(&7));
        assert_eq!(faults.fire(&mine).codes.get("a.B"), Some(&7));
        assert!(faults.fire(&mine).codes.is_empty());
    }

    #[test]
    fn faults_without_an_effect_or_with_zero_times_are_refused() {
        assert!(fault(r#"{"target":"a.B"}"#).validate().is_err());
        assert!(fault(r#"{"target":"a.B","drop":true,"times":0}"#)
            .validate()
            .is_err());
        assert!(fault(r#"{"target":"a.B","http_status":99}"#)
            .validate()
            .is_err());
        assert!(fault(r#"{"target":"a.B","garbage":true}"#)
            .validate()
            .is_ok());
        assert!(fault(r#"{"target":"a.B","musicid":0}"#).validate().is_ok());
    }

    #[test]
    fn delays_of_faults_firing_together_add_up() {
        let mut faults = Faults::default();
        faults.arm(fault(r#"{"target":"a.B","delay_ms":10}"#));
        faults.arm(fault(r#"{"target":"a.B","delay_ms":15,"http_status":503}"#));
        let fired = faults.fire(&["a.B".to_string()]);
        assert_eq!(fired.delay, Duration::from_millis(25));
        assert_eq!(fired.http_status, Some(503));
    }
}
