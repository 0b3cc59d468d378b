//! Signing a cover upload: an upload account obtains a temporary COS credential
//! and object key (InitUpload), and qmkeys signs a PUT of the file with it.

mod endpoint;
mod redis;

use crate::domain::EndpointTemplate;
pub use redis::RedisGrants;

use crate::accounts::{is_fatal, mask, Account, AccountPool, RefreshFailure};
use crate::cache::TtlCache;
use crate::clock::SharedClock;
use crate::cos::{self, KeyTime, SignRequest};
use crate::domain::{FileSha1, FileSize, ImageExt, UploadFile};
use crate::upstream::{Rejection, UploadGrant, UpstreamClient, UpstreamError};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// A reused InitUpload answer must still cover one full signature lifetime.
const REUSE_MIN_REMAINING: i64 = KeyTime::LIFETIME + KeyTime::BACKDATE;
/// Upper bound on how long an InitUpload answer is kept; upstream's are ~6 h.
const GRANT_CACHE_TTL: Duration = Duration::from_secs(12 * 3600);

#[derive(Debug, Clone, thiserror::Error)]
pub enum SignError {
    #[error("no upload account is configured")]
    NoAccount,
    #[error("every upload account is unhealthy")]
    NoHealthyAccount,
    /// A rotated key could not be committed, so it was not used.
    #[error("the upload account's store failed")]
    Store(#[source] std::sync::Arc<crate::accounts::StoreError>),
    /// A failure of the upload account's own calls (InitUpload, or the Login
    /// that refreshes it).
    #[error("upload account call failed")]
    Account(#[source] UpstreamError),
}

/// A PUT the caller can send as it is.
#[derive(Debug, Clone)]
pub struct SignedUpload {
    pub url: String,
    pub host: String,
    pub content_length: String,
    pub content_md5: String,
    pub token: String,
    pub authorization: String,
    pub cdn: String,
}

#[derive(Debug, Clone)]
pub struct UploadSettings {
    pub endpoint: EndpointTemplate,
    pub cdn_base: Url,
    pub max_size: u64,
}

/// What identifies one InitUpload answer: the same file gets the same object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct GrantKey {
    sha1: FileSha1,
    size: FileSize,
    ext: ImageExt,
}

/// An InitUpload answer with what every signature over it shares, worked
/// out once when the answer arrives instead of on every reuse.
struct Prepared {
    grant: UploadGrant,
    url: String,
    /// `Host` as a browser sends it for `url`.
    host: String,
    /// The decoded path of `url`, as the signature covers it.
    path: String,
    cdn: String,
}

impl Prepared {
    fn new(grant: UploadGrant, settings: &UploadSettings) -> Result<Self, SignError> {
        let url = settings
            .endpoint
            .object_url(&grant.bucket, &grant.region, &grant.object_key)
            .ok_or(SignError::Account(UpstreamError::Unreadable(
                "InitUpload gave a bucket the endpoint template cannot address",
            )))?;
        let path = percent_encoding::percent_decode_str(url.path())
            .decode_utf8_lossy()
            .into_owned();
        let cdn = format!(
            "{}/{}",
            settings.cdn_base.as_str().trim_end_matches('/'),
            grant.object_key
        );
        Ok(Self {
            host: host_header(&url),
            url: url.into(),
            path,
            cdn,
            grant,
        })
    }
}

pub struct UploadService {
    upstream: UpstreamClient,
    accounts: Arc<AccountPool>,
    grants: TtlCache<GrantKey, Arc<Prepared>>,
    settings: UploadSettings,
    clock: SharedClock,
    /// Redis, when several instances reuse each other's InitUpload answers.
    redis: Option<RedisGrants>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

impl UploadService {
    pub fn new(
        upstream: UpstreamClient,
        accounts: Arc<AccountPool>,
        settings: UploadSettings,
        max_entries: u64,
        clock: SharedClock,
    ) -> Self {
        Self {
            upstream,
            accounts,
            grants: TtlCache::new(GRANT_CACHE_TTL, max_entries, clock.clone()),
            settings,
            clock,
            redis: None,
            metrics: None,
        }
    }

    /// Counts InitUpload reuse in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    fn count(&self, result: &str) {
        if let Some(m) = &self.metrics {
            m.cache.with_label_values(&["init_upload", result]).inc();
        }
    }

    pub fn with_redis(mut self, redis: RedisGrants) -> Self {
        self.redis = Some(redis);
        self
    }

    pub fn max_size(&self) -> u64 {
        self.settings.max_size
    }

    pub async fn sign(&self, file: &UploadFile) -> Result<SignedUpload, SignError> {
        let prepared = self.grant(file).await?;
        let grant = &prepared.grant;
        let now = self.clock.unix();
        // A fresh grant always covers the window; a cached one was checked in grant().
        let key_time =
            KeyTime::for_upload(now, grant.credential.expires).ok_or(SignError::Account(
                UpstreamError::Unreadable("InitUpload gave an expired credential"),
            ))?;
        let content_length = file.size.get().to_string();
        let content_md5 = file.md5.content_md5();
        let token = grant.credential.token();
        // Exactly what the browser will send, with the host and path of `url`.
        let headers = [
            ("host", prepared.host.as_str()),
            ("content-length", content_length.as_str()),
            ("content-md5", content_md5.as_str()),
            ("x-cos-security-token", token),
        ];
        let request = SignRequest {
            method: "PUT",
            path: &prepared.path,
            params: &[],
            headers: &headers,
        };
        let authorization = cos::authorization(
            &request,
            &grant.credential.secret_id,
            grant.credential.secret_key(),
            key_time,
        );
        Ok(SignedUpload {
            url: prepared.url.clone(),
            host: prepared.host.clone(),
            content_length,
            content_md5,
            token: token.to_owned(),
            authorization,
            cdn: prepared.cdn.clone(),
        })
    }

    /// An InitUpload answer for this file: reused while it still covers a whole
    /// signature lifetime, else a new one (one call for concurrent requests).
    async fn grant(&self, file: &UploadFile) -> Result<Arc<Prepared>, SignError> {
        let key = GrantKey {
            sha1: file.sha1.clone(),
            size: file.size,
            ext: file.ext,
        };
        if let Some(grant) = self.grants.get(&key).await {
            if grant.grant.credential.expires - self.clock.unix() >= REUSE_MIN_REMAINING {
                self.count("hit");
                return Ok(grant);
            }
            self.grants.invalidate(&key).await;
        }
        let load = || async {
            let now = self.clock.unix();
            if let Some(redis) = &self.redis {
                if let Some(grant) = redis.get(&key, now, REUSE_MIN_REMAINING).await {
                    return Ok(Arc::new(Prepared::new(grant, &self.settings)?));
                }
            }
            let grant = self.init_upload(file).await?;
            // Checked before it is shared, so no instance caches what cannot be signed.
            let prepared = Prepared::new(grant, &self.settings)?;
            if let Some(redis) = &self.redis {
                redis
                    .put(&key, &prepared.grant, now, REUSE_MIN_REMAINING)
                    .await;
            }
            Ok(Arc::new(prepared))
        };
        let (grant, source) = self
            .grants
            .get_or_load(key.clone(), load)
            .await
            .map_err(|err: Arc<SignError>| (*err).clone())?;
        self.count(match source {
            crate::cache::Source::Hit => "hit",
            crate::cache::Source::Loaded => "miss",
            crate::cache::Source::Coalesced => "coalesced",
        });
        Ok(grant)
    }

    /// InitUpload with the healthy accounts in turn: one that fails is
    /// skipped for this request and the next is tried.
    async fn init_upload(&self, file: &UploadFile) -> Result<UploadGrant, SignError> {
        let accounts = self.accounts.healthy_in_turn();
        if accounts.is_empty() {
            return Err(if self.accounts.is_empty() {
                SignError::NoAccount
            } else {
                SignError::NoHealthyAccount
            });
        }
        let mut last = SignError::NoHealthyAccount;
        for account in accounts {
            match self.init_upload_as(&account, file).await {
                Ok(grant) => {
                    account.note_signed();
                    return Ok(grant);
                }
                Err(err) => {
                    tracing::warn!(account = %mask(account.uin()), error = %err, "upload account failed; trying the next");
                    last = err;
                }
            }
        }
        Err(last)
    }

    async fn init_upload_as(
        &self,
        account: &Account,
        file: &UploadFile,
    ) -> Result<UploadGrant, SignError> {
        let seen = account.snapshot();
        let err = match self.upstream.init_upload(&seen.cred, file).await {
            Ok(grant) => return Ok(grant),
            Err(err) => err,
        };
        if err.rejection() != Some(Rejection::LoginRequired) {
            if is_fatal(&err) {
                self.accounts.mark_dead(account, &err).await;
            }
            return Err(SignError::Account(err));
        }
        // The key expired: rotate it, then try again with the new one.
        let mut seen_generation = seen.generation;
        let mut adopted_once = false;
        loop {
            let cred = self
                .accounts
                .refresh(account, seen_generation)
                .await
                .map_err(|failure| match failure {
                    RefreshFailure::Dead(e) | RefreshFailure::Transient(e) => SignError::Account(e),
                    RefreshFailure::Store(e) => SignError::Store(e),
                })?;
            let retried = self.upstream.init_upload(&cred, file).await;
            if let Err(err) = &retried {
                // The key may be another instance's rotation, adopted from the
                // store, which has expired since: rotate that one, once.
                let generation = account.snapshot().generation;
                if !adopted_once
                    && err.rejection() == Some(Rejection::LoginRequired)
                    && generation != seen_generation
                {
                    adopted_once = true;
                    seen_generation = generation;
                    continue;
                }
                if is_fatal(err) {
                    self.accounts.mark_dead(account, err).await;
                }
            }
            return retried.map_err(SignError::Account);
        }
    }
}

/// `Host` as a browser sends it for `url`: the port only when it is not the default.
fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}
