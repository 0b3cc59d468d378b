//! A stored account as named text fields with its secrets sealed: the one
//! encoding both backends write, so they cannot drift apart.

use super::store::{Health, StoreError, StoredAccount};
use crate::domain::Credential;
use crate::secrets::{SealError, Sealer};

pub(super) const FIELDS: [&str; 15] = [
    "uin",
    "kind",
    "musickey",
    "refresh_key",
    "refresh_token",
    "prev_musickey",
    "prev_refresh_key",
    "prev_refresh_token",
    "created_at",
    "expires_at",
    "last_refresh_at",
    "last_outcome",
    "health",
    "generation",
    "seed",
];

const SECRETS: [&str; 3] = ["musickey", "refresh_key", "refresh_token"];
const PREVIOUS: [&str; 3] = ["prev_musickey", "prev_refresh_key", "prev_refresh_token"];

/// Every field that holds a secret, sealed when a key is set.
pub(super) const SEALED_FIELDS: [&str; 6] = [
    SECRETS[0],
    SECRETS[1],
    SECRETS[2],
    PREVIOUS[0],
    PREVIOUS[1],
    PREVIOUS[2],
];

/// Sealed secrets are bound to their record and field.
pub(super) fn aad(uin: &str, field: &str) -> String {
    format!("{uin}:{field}")
}

/// Values in the order of [`FIELDS`]; `None` is an absent value.
pub(super) fn encode(sealer: &Sealer, a: &StoredAccount) -> [Option<String>; 15] {
    let uin = a.uin().to_string();
    let seal = |cred: &Credential, names: [&str; 3]| {
        let values = [
            cred.key.expose(),
            cred.refresh_key_str(),
            cred.refresh_token_str(),
        ];
        [0, 1, 2].map(|i| sealer.seal(&aad(&uin, names[i]), values[i]))
    };
    let [key, rk, rt] = seal(&a.cred, SECRETS).map(Some);
    let [pk, prk, prt] = match &a.previous {
        Some(p) => seal(p, PREVIOUS).map(Some),
        None => [None, None, None],
    };
    let num = |n: Option<i64>| n.map(|n| n.to_string());
    [
        Some(uin.clone()),
        Some(a.cred.kind().as_str().to_owned()),
        key,
        rk,
        rt,
        pk,
        prk,
        prt,
        num(a.created_at),
        num(a.expires_at),
        num(a.last_refresh_at),
        a.last_outcome.clone(),
        Some(a.health.as_str().to_owned()),
        Some(a.generation.to_string()),
        a.seed.clone(),
    ]
}

/// Reads a record from `get(field)`, checking every field as the upstream
/// answer it came from was checked: a value that does not parse is never
/// taken for a default.
pub(super) fn decode(
    sealer: &Sealer,
    get: impl Fn(&str) -> Option<String>,
) -> Result<StoredAccount, StoreError> {
    let uin = get("uin").unwrap_or_default();
    let who = super::mask_text(&uin);
    let corrupt = |what: &str| StoreError::Corrupt(format!("account {who}: {what}"));
    let open = |field: &str| -> Result<Option<String>, StoreError> {
        get(field)
            .map(|v| {
                sealer.open(&aad(&uin, field), &v).map_err(|e| match e {
                    SealError::Unsealed => corrupt(&format!("{field} is not encrypted")),
                    other => StoreError::from(other),
                })
            })
            .transpose()
    };
    let cred = |names: [&str; 3]| -> Result<Option<Credential>, StoreError> {
        let Some(key) = open(names[0])? else {
            return Ok(None);
        };
        let (rk, rt) = (open(names[1])?, open(names[2])?);
        Credential::parse(Some(&uin), Some(&key), rk.as_deref(), rt.as_deref())
            .map(Some)
            .map_err(|e| corrupt(&format!("{} is not valid", e.param)))
    };
    let num = |field: &str| -> Result<Option<i64>, StoreError> {
        get(field)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| corrupt(&format!("{field} is not a number")))
            })
            .transpose()
    };
    let current = cred(SECRETS)?.ok_or_else(|| corrupt("no key"))?;
    if get("kind").as_deref() != Some(current.kind().as_str()) {
        return Err(corrupt("kind does not match its key"));
    }
    let health = match get("health").as_deref().map(Health::parse) {
        Some(Some(health)) => health,
        // Not one we write: keep the account out of use until someone looks.
        _ => {
            tracing::warn!(
                account = %who,
                "the account store holds an unknown health value for this account; it is treated as unhealthy"
            );
            Health::Unhealthy
        }
    };
    let generation = get("generation")
        .and_then(|g| g.parse::<u64>().ok())
        .ok_or_else(|| corrupt("generation is not a number"))?;
    Ok(StoredAccount {
        cred: current,
        previous: cred(PREVIOUS)?,
        created_at: num("created_at")?,
        expires_at: num("expires_at")?,
        last_refresh_at: num("last_refresh_at")?,
        last_outcome: get("last_outcome"),
        health,
        generation,
        seed: get("seed"),
    })
}

/// The records that read back, in order. A record that fails its checks is
/// left out with a warning that names the account and what failed, never a
/// value; a wrong or missing secret key fails the whole load, since then no
/// record is readable and the operator must fix the setting.
pub(super) fn readable(
    records: impl IntoIterator<Item = Result<StoredAccount, StoreError>>,
) -> Result<Vec<StoredAccount>, StoreError> {
    let mut out = Vec::new();
    for record in records {
        match record {
            Ok(account) => out.push(account),
            Err(StoreError::Corrupt(what)) => {
                tracing::warn!(
                    problem = %what,
                    "an account in the store failed its checks and is not used until it is added again"
                );
            }
            Err(other) => return Err(other),
        }
    }
    Ok(out)
}
