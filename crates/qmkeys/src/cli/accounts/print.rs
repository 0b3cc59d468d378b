//! The readable summaries of the admin routes' answers, read from their
//! JSON `data`: one printer whether the answer came from a server or from
//! this process, so `--server` and local runs print alike.

use crate::cli::{exit, refresh};
use crate::http::refresh::RefreshData;
use serde_json::Value;

/// What an answer's `data` holds.
#[derive(Debug, Clone, Copy)]
pub enum Shown {
    /// `AdminAccounts`.
    List,
    /// `RefreshData` (the cookie route).
    Cookie,
    /// `CheckedAccount`.
    Checked,
    /// One `AccountView`.
    Account,
    /// `Removed`.
    Removed,
    /// `AdminEvents`.
    Events,
}

impl Shown {
    pub fn print(self, data: &Value) {
        match self {
            Shown::List => {
                let empty = Vec::new();
                let accounts = data["accounts"].as_array().unwrap_or(&empty);
                println!(
                    "{:<20} {:<4} {:<19}  {:<19}  {:<9}  {:<26}  LAST OUTCOME",
                    "UIN", "KIND", "EXPIRES", "LAST REFRESH", "HEALTH", "LAST CHECK"
                );
                for a in accounts {
                    let check = match (text(&a["lastCheckTime"]), text(&a["lastCheck"])) {
                        ("-", _) | (_, "-") => "-".to_owned(),
                        (at, said) => format!("{at} {said}"),
                    };
                    println!(
                        "{:<20} {:<4} {:<19}  {:<19}  {:<9}  {:<26}  {}",
                        text(&a["uin"]),
                        text(&a["kind"]),
                        text(&a["expiresTime"]),
                        text(&a["lastRefreshTime"]),
                        text(&a["health"]),
                        check,
                        text(&a["lastOutcome"]),
                    );
                }
            }
            Shown::Cookie => match serde_json::from_value::<RefreshData>(data.clone()) {
                Ok(data) => refresh::print_summary(&data),
                Err(_) => println!("{data}"),
            },
            Shown::Checked => {
                let alive = data["alive"].as_bool().unwrap_or(false);
                println!(
                    "alive          {}",
                    if alive {
                        "yes"
                    } else {
                        "no (expired or logged out)"
                    }
                );
                account(&data["account"]);
            }
            Shown::Account => account(data),
            Shown::Removed => {
                let logged_out = data["loggedOut"].as_bool().unwrap_or(false);
                println!(
                    "removed        {}",
                    if logged_out {
                        "yes, logged out upstream first"
                    } else {
                        "yes"
                    }
                );
            }
            Shown::Events => {
                let empty = Vec::new();
                let events = data["events"].as_array().unwrap_or(&empty);
                println!(
                    "{:<19}  {:<17}  {:<10} {:<4} {:<9}  DETAIL",
                    "TIME", "EVENT", "UIN", "KIND", "HEALTH"
                );
                for e in events {
                    println!(
                        "{:<19}  {:<17}  {:<10} {:<4} {:<9}  {}",
                        text(&e["time"]),
                        text(&e["event"]),
                        text(&e["uin"]),
                        text(&e["kind"]),
                        text(&e["health"]),
                        text(&e["detail"]),
                    );
                }
            }
        }
    }

    /// The exit code of a successful answer: a dead key is 6, as `qmkeys check`.
    pub fn exit(self, data: &Value) -> u8 {
        match self {
            Shown::Checked if data["alive"].as_bool() != Some(true) => exit::DEAD,
            _ => exit::OK,
        }
    }
}

/// One account's state, as `/admin/accounts/{uin}` answers it (never a key).
fn account(a: &Value) {
    println!("uin            {}", text(&a["uin"]));
    println!("kind           {}", text(&a["kind"]));
    println!("health         {}", text(&a["health"]));
    println!("expires        {}", text(&a["expiresTime"]));
    println!("last refresh   {}", text(&a["lastRefreshTime"]));
    println!("last outcome   {}", text(&a["lastOutcome"]));
    println!(
        "last check     {} {}",
        text(&a["lastCheckTime"]),
        text(&a["lastCheck"])
    );
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}
