//! A stored account as named text fields with its secrets sealed: the one
//! encoding both backends write, so they cannot drift apart.

use super::store::{Health, Loaded, Problem, StoreError, StoredAccount, Unreadable};
use crate::domain::{Credential, Uin};
use crate::secrets::{SealError, Sealer};

pub(super) const FIELDS: [&str; 18] = [
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
    // Added with the keeper's checks; absent (None) in older records.
    "last_check_at",
    "last_check",
    "login_type",
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

/// Sealed secrets are bound to where they are stored: the account the storage
/// key names (the SQLite row's key, the Redis hash's name) and the field. Not
/// to the `uin` field inside the record: that travels with a copied record.
pub(super) fn aad(uin: &str, field: &str) -> String {
    format!("account/{uin}/{field}")
}

/// The binding earlier versions wrote: the record's own `uin` field and the
/// field name. Opened only to reseal such values, and then with the storage
/// key's uin, so a record copied under another key does not open this way either.
pub(super) fn legacy_aad(uin: &str, field: &str) -> String {
    format!("{uin}:{field}")
}

/// A fixed text sealed into the store beside the records, so that a load can
/// tell a wrong `QMKEYS_SECRET_KEY` (nothing opens: the whole load fails)
/// from one altered record (only it is left out).
const KEY_CHECK_AAD: &str = "account store key check";
const KEY_CHECK_TEXT: &str = "qmkeys";

pub(super) fn key_check(sealer: &Sealer) -> String {
    sealer.seal(KEY_CHECK_AAD, KEY_CHECK_TEXT)
}

/// Values in the order of [`FIELDS`]; `None` is an absent value.
pub(super) fn encode(sealer: &Sealer, a: &StoredAccount) -> [Option<String>; 18] {
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
        num(a.last_check_at),
        a.last_check.clone(),
        a.login_type.map(|t| t.to_string()),
    ]
}

/// A value sealed under the earlier binding, to be written again under
/// today's, only if the stored value is still `old`.
#[derive(Debug)]
pub(super) struct Reseal {
    pub uin: Uin,
    pub field: &'static str,
    pub old: String,
    pub new: String,
}

/// A record that read back.
pub(super) struct Decoded {
    pub account: StoredAccount,
    pub reseal: Vec<Reseal>,
    /// At least one sealed value opened, which proves the key.
    pub opened: bool,
}

/// Why a record did not read back.
#[derive(Debug)]
pub(super) enum Failure {
    Record(Unreadable),
    /// Not this record's fault: sealed values and no key set.
    Store(SealError),
}

impl From<Failure> for StoreError {
    fn from(f: Failure) -> Self {
        match f {
            Failure::Record(u) => StoreError::Unreadable(u),
            Failure::Store(e) => StoreError::Seal(e),
        }
    }
}

struct Reader<'a, G> {
    sealer: &'a Sealer,
    uin: Uin,
    get: G,
    reseal: Vec<Reseal>,
    opened: bool,
}

impl<G: Fn(&str) -> Option<String>> Reader<'_, G> {
    fn fail(&self, field: &'static str, problem: Problem) -> Failure {
        Failure::Record(Unreadable {
            uin: Some(self.uin),
            field,
            problem,
        })
    }

    fn seal_failure(&self, field: &'static str, e: SealError) -> Failure {
        match e {
            SealError::NoKey => Failure::Store(e),
            SealError::WrongKey => self.fail(field, Problem::DoesNotOpen),
            SealError::Unsealed => self.fail(field, Problem::NotEncrypted),
        }
    }

    fn secret(&mut self, field: &'static str) -> Result<Option<String>, Failure> {
        let Some(stored) = (self.get)(field) else {
            return Ok(None);
        };
        let uin = self.uin.to_string();
        let plain = match self.sealer.open(&aad(&uin, field), &stored) {
            Ok(plain) => plain,
            Err(SealError::WrongKey) => {
                let plain = self
                    .sealer
                    .open(&legacy_aad(&uin, field), &stored)
                    .map_err(|e| self.seal_failure(field, e))?;
                self.reseal.push(Reseal {
                    uin: self.uin,
                    field,
                    new: self.sealer.seal(&aad(&uin, field), &plain),
                    old: stored.clone(),
                });
                plain
            }
            Err(e) => return Err(self.seal_failure(field, e)),
        };
        self.opened |= Sealer::is_sealed(&stored);
        Ok(Some(plain))
    }

    fn credential(&mut self, names: [&'static str; 3]) -> Result<Option<Credential>, Failure> {
        let Some(key) = self.secret(names[0])? else {
            return Ok(None);
        };
        let (rk, rt) = (self.secret(names[1])?, self.secret(names[2])?);
        Credential::parse(
            Some(&self.uin.to_string()),
            Some(&key),
            rk.as_deref(),
            rt.as_deref(),
        )
        .map(Some)
        .map_err(|e| {
            let field = match e.param {
                "refresh_key" => names[1],
                "refresh_token" => names[2],
                _ => names[0],
            };
            self.fail(field, Problem::Invalid)
        })
    }

    fn number(&self, field: &'static str) -> Result<Option<i64>, Failure> {
        (self.get)(field)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| self.fail(field, Problem::Invalid))
            })
            .transpose()
    }
}

/// Reads the record stored under the uin `stored_under` from `get(field)`,
/// checking every field as the upstream answer it came from was checked: a
/// value that does not parse is never taken for a default.
pub(super) fn decode(
    sealer: &Sealer,
    stored_under: &str,
    get: impl Fn(&str) -> Option<String>,
) -> Result<Decoded, Failure> {
    let Ok(uin) = Uin::parse(stored_under) else {
        return Err(Failure::Record(Unreadable {
            uin: None,
            field: "uin",
            problem: Problem::Invalid,
        }));
    };
    let mut r = Reader {
        sealer,
        uin,
        get,
        reseal: Vec::new(),
        opened: false,
    };
    // A record copied under another key still names its source.
    match (r.get)("uin") {
        None => return Err(r.fail("uin", Problem::Missing)),
        Some(own) if Uin::parse(&own).ok() != Some(uin) => {
            return Err(r.fail("uin", Problem::Misplaced))
        }
        Some(_) => {}
    }
    let current = r
        .credential(SECRETS)?
        .ok_or_else(|| r.fail("musickey", Problem::Missing))?;
    if (r.get)("kind").as_deref() != Some(current.kind().as_str()) {
        return Err(r.fail("kind", Problem::Invalid));
    }
    let health = match (r.get)("health").as_deref().map(Health::parse) {
        Some(Some(health)) => health,
        // Not one we write: keep the account out of use until someone looks.
        _ => {
            tracing::warn!(
                account = %super::mask(uin),
                "the account store holds an unknown health value for this account; it is treated as unhealthy"
            );
            Health::Unhealthy
        }
    };
    let generation = (r.get)("generation")
        .and_then(|g| g.parse::<u64>().ok())
        .ok_or_else(|| r.fail("generation", Problem::Invalid))?;
    // Records from before it have none: they refresh with their kind's type.
    let login_type = match (r.get)("login_type") {
        None => None,
        Some(t) if t == "6" || t == current.kind().login_type() => t.parse::<u8>().ok(),
        Some(_) => return Err(r.fail("login_type", Problem::Invalid)),
    };
    let account = StoredAccount {
        login_type,
        cred: current,
        previous: r.credential(PREVIOUS)?,
        created_at: r.number("created_at")?,
        expires_at: r.number("expires_at")?,
        last_refresh_at: r.number("last_refresh_at")?,
        last_outcome: (r.get)("last_outcome"),
        last_check_at: r.number("last_check_at")?,
        last_check: (r.get)("last_check"),
        health,
        generation,
        seed: (r.get)("seed"),
    };
    Ok(Decoded {
        account,
        reseal: r.reseal,
        opened: r.opened,
    })
}

/// A load's records, once the key has been judged.
pub(super) struct Judged {
    pub loaded: Loaded,
    pub reseal: Vec<Reseal>,
    /// The store has no key check yet and this load proved the key: write one.
    pub write_check: bool,
}

/// Sorts a load's records into those that read back and those left out,
/// deciding first whether the failures are the records' or the key's: with
/// the key check opening (or, in a store from before it, any value opening)
/// the key is right and a record that fails is left out, its account and
/// field named. Otherwise a wrong key or none fails the whole load, since the
/// operator must fix the setting.
pub(super) fn judge(
    sealer: &Sealer,
    check: Option<&str>,
    records: Vec<Result<Decoded, Failure>>,
) -> Result<Judged, StoreError> {
    let mut judged = Judged {
        loaded: Loaded::default(),
        reseal: Vec::new(),
        write_check: false,
    };
    let (mut proved, mut unopened) = (false, false);
    for record in records {
        match record {
            Ok(d) => {
                proved |= d.opened;
                judged.reseal.extend(d.reseal);
                judged.loaded.accounts.push(d.account);
            }
            Err(Failure::Store(e)) => return Err(e.into()),
            Err(Failure::Record(u)) => {
                unopened |= u.problem == Problem::DoesNotOpen;
                judged.loaded.unreadable.push(u);
            }
        }
    }
    if sealer.is_encrypting() {
        match check {
            Some(check) => {
                if sealer.open(KEY_CHECK_AAD, check).as_deref() != Ok(KEY_CHECK_TEXT) {
                    return Err(SealError::WrongKey.into());
                }
            }
            // A store from before the key check: as then, nothing opening at all is the key.
            None if unopened && !proved => return Err(SealError::WrongKey.into()),
            None => judged.write_check = true,
        }
    }
    Ok(judged)
}
