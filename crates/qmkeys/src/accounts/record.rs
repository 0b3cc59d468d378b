//! A stored account as named text fields with its secrets sealed: the one
//! encoding both backends write, so they cannot drift apart.

use super::store::{Health, StoreError, StoredAccount};
use crate::domain::Credential;
use crate::secrets::Sealer;

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

/// Sealed secrets are bound to their record and field.
fn aad(uin: &str, field: &str) -> String {
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

/// Reads a record from `get(field)`.
pub(super) fn decode(
    sealer: &Sealer,
    get: impl Fn(&str) -> Option<String>,
) -> Result<StoredAccount, StoreError> {
    let uin = get("uin").unwrap_or_default();
    let open = |field: &str| -> Result<Option<String>, StoreError> {
        get(field)
            .map(|v| sealer.open(&aad(&uin, field), &v).map_err(StoreError::from))
            .transpose()
    };
    let cred = |names: [&str; 3]| -> Result<Option<Credential>, StoreError> {
        let Some(key) = open(names[0])? else {
            return Ok(None);
        };
        let (rk, rt) = (open(names[1])?, open(names[2])?);
        Credential::parse(Some(&uin), Some(&key), rk.as_deref(), rt.as_deref())
            .map(Some)
            .map_err(|e| {
                StoreError::Corrupt(format!("account {}: {}", super::mask_text(&uin), e.param))
            })
    };
    let num = |field: &str| get(field).and_then(|v| v.parse::<i64>().ok());
    Ok(StoredAccount {
        cred: cred(SECRETS)?.ok_or_else(|| {
            StoreError::Corrupt(format!("account {} has no key", super::mask_text(&uin)))
        })?,
        previous: cred(PREVIOUS)?,
        created_at: num("created_at"),
        expires_at: num("expires_at"),
        last_refresh_at: num("last_refresh_at"),
        last_outcome: get("last_outcome"),
        health: Health::parse(&get("health").unwrap_or_default()),
        generation: get("generation").and_then(|g| g.parse().ok()).unwrap_or(0),
        seed: get("seed"),
    })
}
