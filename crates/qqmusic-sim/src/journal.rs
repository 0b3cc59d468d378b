//! What the simulator received: a capped request log and per-method call
//! counts, for the gateway, the COS bucket and the login hosts alike.

use std::collections::{BTreeMap, VecDeque};

use serde::Serialize;
use serde_json::Value;

/// Oldest entries are dropped past this many, so a long soak cannot eat memory.
pub const LOG_CAP: usize = 10_000;

/// One log entry, serialized with `"kind": "gateway" | "cos" | "login"`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum LoggedRequest {
    Gateway {
        path: String,
        query: String,
        cookie: String,
        /// The body parsed as JSON, or the raw text as a JSON string when it is not JSON.
        body: Value,
    },
    /// A bucket PUT: no body (objects may be large), every header.
    Cos {
        method: String,
        path: String,
        query: String,
        /// Lowercase names; repeated headers joined with ", ".
        headers: BTreeMap<String, String>,
    },
    /// A request to a login host (ptlogin, check_sig, authorize, WeChat):
    /// no body, every header (cookies included).
    Login {
        method: String,
        path: String,
        query: String,
        /// Lowercase names; repeated headers joined with ", ".
        headers: BTreeMap<String, String>,
    },
}

#[derive(Debug, Default)]
pub struct Journal {
    log: VecDeque<LoggedRequest>,
    stats: BTreeMap<String, u64>,
}

impl Journal {
    pub fn record(&mut self, entry: LoggedRequest) {
        if self.log.len() >= LOG_CAP {
            self.log.pop_front();
        }
        self.log.push_back(entry);
    }

    /// Counts one received sub-request for `target` ("module.method"), or
    /// one bucket request ("cos.PutObject").
    pub fn count(&mut self, target: &str) {
        *self.stats.entry(target.to_owned()).or_insert(0) += 1;
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.log.iter().cloned().collect()
    }

    pub fn clear_requests(&mut self) -> usize {
        let n = self.log.len();
        self.log.clear();
        n
    }

    pub fn stats(&self) -> BTreeMap<String, u64> {
        self.stats.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_keeps_only_the_newest_entries_past_the_cap() {
        let mut j = Journal::default();
        for i in 0..LOG_CAP + 3 {
            j.record(LoggedRequest::Gateway {
                path: "/p".into(),
                query: i.to_string(),
                cookie: String::new(),
                body: Value::Null,
            });
        }
        let log = j.requests();
        assert_eq!(log.len(), LOG_CAP);
        let first = log.first().map(|e| serde_json::json!(e));
        assert_eq!(first.map(|e| e["query"].clone()), Some(Value::from("3")));
    }
}
