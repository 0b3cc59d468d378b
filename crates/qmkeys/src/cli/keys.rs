//! `qmkeys keys create|list|revoke`: caller keys (`require_api_key`), on the
//! store this machine's settings name (Redis or the SQLite file), or with
//! `--server URL --token T` through a running server's `/admin/keys`.

use super::client::{self, admin_request, Answer};
use super::exit;
use crate::accounts::redis_store::RedisStore;
use crate::accounts::sqlite::SqliteStore;
use crate::accounts::{AccountStore, ApiKeyRecord};
use crate::config::{Settings, CONFIG_ENV};
use crate::domain::{parse_rate_limit, ApiKeyId, ApiKeyName, ApiKeySecret, DEFAULT_RATE_LIMIT};
use crate::http::admin::keys::{AdminKeys, CreatedKey, KeyView, RevokedKey};
use crate::secrets::Sealer;
use clap::{Args, Subcommand};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::process::ExitCode;
use url::Url;

const COMMAND: &str = "keys";

#[derive(Debug, Args)]
pub struct KeysArgs {
    /// TOML settings file; `QMKEYS_*` environment variables override it.
    #[arg(long, env = CONFIG_ENV, global = true)]
    config: Option<PathBuf>,
    /// Manage the keys of this running qmkeys server (e.g.
    /// http://127.0.0.1:8080) through its admin routes instead of the store.
    #[arg(long, global = true)]
    server: Option<Url>,
    /// The server's admin token (with --server); better given as
    /// QMKEYS_ADMIN_TOKEN, which other users cannot read from the process list.
    #[arg(
        long,
        env = "QMKEYS_ADMIN_TOKEN",
        hide_env_values = true,
        global = true
    )]
    token: Option<String>,
    /// Print the admin route's JSON envelope instead of a summary.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: KeysCommand,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a key and print its secret: it is shown this once, only its hash is kept.
    Create {
        /// What the key is for (1 to 64 characters).
        #[arg(long)]
        name: String,
        /// Requests per minute the key may make (1 to 100000; 60 by default).
        #[arg(long)]
        rate_limit: Option<u64>,
    },
    /// List the keys: id, name, rate limit, created, last used. Never a secret.
    List,
    /// Revoke a key (refused at once; by other instances within 5 s).
    Revoke {
        /// The key's id (k_…).
        id: String,
    },
}

pub fn run(args: KeysArgs) -> ExitCode {
    let runtime = match client::runtime() {
        Ok(rt) => rt,
        Err(err) => {
            let message = format!("cannot start the async runtime: {err}");
            return client::fail(COMMAND, exit::UNAVAILABLE, &message);
        }
    };
    runtime.block_on(async move {
        match &args.server {
            Some(server) => remote(server, &args).await,
            None => local(&args).await,
        }
    })
}

async fn local(args: &KeysArgs) -> ExitCode {
    let settings = match Settings::load(args.config.as_deref()) {
        Ok(settings) => settings,
        Err(err) => {
            return client::fail(
                COMMAND,
                exit::USAGE,
                &format!("invalid configuration: {err}"),
            )
        }
    };
    let store = match open_store(&settings) {
        Ok(store) => store,
        Err(message) => return client::fail(COMMAND, exit::UNAVAILABLE, &message),
    };
    let stamp = client::stamp(&settings.http.tips);
    let store_failed = |err: crate::accounts::StoreError| {
        client::fail(COMMAND, exit::UNAVAILABLE, &err.to_string())
    };
    match &args.command {
        KeysCommand::Create { name, rate_limit } => {
            let name = match ApiKeyName::parse(name) {
                Ok(name) => name,
                Err(e) => {
                    return client::fail(COMMAND, exit::USAGE, &format!("--name: {}", e.message))
                }
            };
            let rate_limit = match rate_limit.map(parse_rate_limit).transpose() {
                Ok(rate) => rate.unwrap_or(DEFAULT_RATE_LIMIT),
                Err(e) => {
                    return client::fail(
                        COMMAND,
                        exit::USAGE,
                        &format!("--rate-limit: {}", e.message),
                    )
                }
            };
            let (id, secret) = ApiKeySecret::generate();
            let record = ApiKeyRecord {
                id,
                name,
                hash: secret.hash(),
                rate_limit,
                created_at: chrono::Utc::now().timestamp(),
                last_used_at: None,
            };
            if let Err(err) = store.insert_key(&record).await {
                return store_failed(err);
            }
            let created = CreatedKey {
                key: KeyView::from(&record),
                secret: secret.expose().to_owned(),
            };
            if args.json {
                client::print_json(&stamp, 200, "请求成功！", &created);
            } else {
                print_created(&created.key, &created.secret);
            }
        }
        KeysCommand::List => {
            let keys = match store.keys().await {
                Ok(keys) => keys,
                Err(err) => return store_failed(err),
            };
            let keys: Vec<KeyView> = keys.iter().map(KeyView::from).collect();
            if args.json {
                client::print_json(&stamp, 200, "请求成功！", AdminKeys { keys });
            } else {
                print_table(&keys);
            }
        }
        KeysCommand::Revoke { id } => {
            let id = match ApiKeyId::parse(id) {
                Ok(id) => id,
                Err(e) => return client::fail(COMMAND, exit::USAGE, &format!("ID: {}", e.message)),
            };
            match store.revoke_key(&id).await {
                Ok(true) => {}
                Ok(false) => return client::fail(COMMAND, exit::FAILED, &format!("no key {id}")),
                Err(err) => return store_failed(err),
            }
            let revoked = RevokedKey {
                id: id.as_str().to_owned(),
                revoked: true,
            };
            if args.json {
                client::print_json(&stamp, 200, "请求成功！", &revoked);
            } else {
                println!("revoked {id} (a running server refuses it within 5 s)");
            }
        }
    }
    ExitCode::SUCCESS
}

/// The store the server uses: Redis when `redis_url` is set (keys written
/// to SQLite would never reach it), else the SQLite file.
fn open_store(settings: &Settings) -> Result<Box<dyn AccountStore>, String> {
    let secret = settings
        .accounts
        .secret_key
        .as_ref()
        .map(|k| k.expose_secret());
    let sealer = Sealer::new(secret, "account-store");
    if let Some(url) = &settings.redis.url {
        let redis = crate::redis::Redis::connect(url.expose_secret(), settings.redis.timeout())
            .map_err(|e| e.to_string())?;
        return Ok(Box::new(RedisStore::new(redis, sealer)));
    }
    SqliteStore::open(&settings.accounts.db, sealer)
        .map(|s| Box::new(s) as Box<dyn AccountStore>)
        .map_err(|e| e.to_string())
}

async fn remote(server: &Url, args: &KeysArgs) -> ExitCode {
    let Some(token) = args.token.as_deref().filter(|t| !t.is_empty()) else {
        return client::fail(
            COMMAND,
            exit::USAGE,
            "--server needs the admin token: --token or QMKEYS_ADMIN_TOKEN",
        );
    };
    let (method, path, form) = match &args.command {
        KeysCommand::Create { name, rate_limit } => {
            let mut form = vec![("name", name.clone())];
            form.extend(rate_limit.map(|r| ("rate_limit", r.to_string())));
            (reqwest::Method::POST, "/admin/keys".to_owned(), form)
        }
        KeysCommand::List => (reqwest::Method::GET, "/admin/keys".to_owned(), Vec::new()),
        KeysCommand::Revoke { id } => {
            // Checked here: a path segment must not be able to walk elsewhere.
            if let Err(e) = ApiKeyId::parse(id) {
                return client::fail(COMMAND, exit::USAGE, &format!("ID: {}", e.message));
            }
            (
                reqwest::Method::DELETE,
                format!("/admin/keys/{id}"),
                Vec::new(),
            )
        }
    };
    let answer = match admin_request(COMMAND, server, token, method, &path, &form).await {
        Ok(answer) => answer,
        Err(exit) => return exit,
    };
    if args.json {
        println!("{}", answer.text);
    }
    if answer.status != 200 {
        return failed(&answer);
    }
    if !args.json {
        let data = answer.envelope.data.clone().unwrap_or_default();
        match &args.command {
            KeysCommand::Create { .. } => {
                match serde_json::from_value::<ViewIn>(data["key"].clone()) {
                    Ok(key) => {
                        print_created(&key.into(), data["secret"].as_str().unwrap_or_default())
                    }
                    Err(_) => {
                        return client::fail(
                            COMMAND,
                            exit::UNAVAILABLE,
                            "the server's answer does not read",
                        )
                    }
                }
            }
            KeysCommand::List => {
                let keys: Vec<KeyView> = data["keys"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|k| serde_json::from_value::<ViewIn>(k.clone()).ok())
                    .map(Into::into)
                    .collect();
                print_table(&keys);
            }
            KeysCommand::Revoke { id } => println!("revoked {id}"),
        }
    }
    ExitCode::SUCCESS
}

/// An error answer: no such key is exit 1, as locally; the rest by status.
fn failed(answer: &Answer<serde_json::Value>) -> ExitCode {
    let code = answer.envelope.code;
    let exit = client::fail_answer(COMMAND, answer.status, code, &answer.envelope.message);
    if code == i64::from(crate::http::error::ErrorCode::NoSuchKey.get()) {
        return ExitCode::from(exit::FAILED);
    }
    exit
}

/// A key as a server answers it.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct ViewIn {
    id: String,
    name: String,
    rate_limit: u32,
    created_timestamp: i64,
    last_used_timestamp: Option<i64>,
}

impl From<ViewIn> for KeyView {
    fn from(v: ViewIn) -> Self {
        Self {
            id: v.id,
            name: v.name,
            rate_limit: v.rate_limit,
            created_timestamp: v.created_timestamp,
            created_time: crate::beijing::format_unix(v.created_timestamp),
            last_used_timestamp: v.last_used_timestamp,
            last_used_time: v.last_used_timestamp.map(crate::beijing::format_unix),
        }
    }
}

fn print_created(key: &KeyView, secret: &str) {
    println!("{}  {}  {}/min", key.id, key.name, key.rate_limit);
    println!("{secret}");
    eprintln!("qmkeys keys: the secret above is shown only this once; send it as X-Api-Key");
}

fn print_table(keys: &[KeyView]) {
    println!(
        "{:<10}  {:<24}  {:>8}  {:<19}  LAST USED",
        "ID", "NAME", "PER MIN", "CREATED"
    );
    for k in keys {
        println!(
            "{:<10}  {:<24}  {:>8}  {:<19}  {}",
            k.id,
            k.name,
            k.rate_limit,
            k.created_time,
            k.last_used_time.as_deref().unwrap_or("-"),
        );
    }
}
