//! The seam every QR login kind goes through: a kind shows a QR, reports its
//! states, and trades its confirmation for the gateway's grant. The engine
//! ([`super::qr`]) does the rest for every kind alike: the places, the poll
//! pacing and the global poll rate, the QR's deadline, retrying failed polls,
//! the metrics, dropping the image, and stopping everything when the login
//! is dropped.
//!
//! A kind is one module under `login/kinds/` implementing [`QrProvider`],
//! plus one line in the registry (`kinds::KINDS`).

use super::wire::Hosts;
use super::LoginError;
use super::LoginSettings;
use crate::domain::AccountKind;
use crate::upstream::{LoginGrant, UpstreamClient};
use futures::future::BoxFuture;
use std::future::Future;
use std::sync::Arc;
use tokio::time::Instant;

/// What a kind is, for everything that lists kinds: the API's `type`, the
/// CLI's `--kind`, the page's tabs, the OpenAPI enum and the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    /// The API's `type`, the CLI's `--kind`, the `kind` metrics label and
    /// the page's tab id (`login-tab-<name>`): lower-case ASCII letters.
    pub name: &'static str,
    /// The page tab's text in Chinese.
    pub label_zh: &'static str,
    /// The page tab's text in English.
    pub label_en: &'static str,
    /// The QR image's content type.
    pub mime: &'static str,
    /// The account kind its grant must be for; `None` takes whichever the
    /// grant's key names (an app that logs in either kind of account).
    pub account: Option<AccountKind>,
    /// How its states arrive.
    pub delivery: Delivery,
    /// The `tmeLoginType` its key is issued with; an account saved from it
    /// refreshes with the same (docs/protocol.md section 10.1).
    pub login_type: u8,
}

/// How a kind learns its QR's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Each [`QrProvider::next_state`] is one request to the login host
    /// (a poll or a long poll). The engine paces them: no sooner than 1.5 s
    /// after the last, and each waits for a token of the server-wide poll
    /// rate (`login_polls_per_second`); each is counted in
    /// `qmkeys_login_polls_total`.
    Polled,
    /// States are pushed over a connection the handle holds;
    /// [`QrProvider::next_state`] awaits the next one, unpaced and without a
    /// poll token (after a failure the engine waits 1.5 s before asking
    /// again). Dropping the handle must close the connection: the engine
    /// drops it as soon as the login ends or its caller goes.
    Pushed,
}

/// A state a kind saw. The engine reports changes only, so a kind may
/// answer `Waiting` or `Scanned` as often as its host says it.
#[derive(Debug)]
pub enum Seen<C> {
    Waiting,
    Scanned,
    Expired,
    Refused,
    /// Confirmed on the phone, with what [`QrProvider::finish`] needs.
    Confirmed(C),
}

/// What the engine lends every kind.
pub struct Ctx {
    /// The login hosts' HTTP client (no redirects, capped answers) and the
    /// QQ login hosts, which fast login shares.
    pub hosts: Hosts,
    /// The gateway, for the call that trades a confirmation for a key.
    pub upstream: UpstreamClient,
}

/// One QR login kind. Built once per server from its settings; each login
/// is a [`Self::Handle`] that the engine owns and drops.
///
/// Errors the engine treats alike for every kind: a passing failure
/// ([`LoginError::Transport`], [`LoginError::Timeout`], a 5xx
/// [`LoginError::HostStatus`]) from `next_state` is tried again, up to 3 in
/// a row; any other error ends the login.
pub trait QrProvider: Send + Sync + Sized + 'static {
    const INFO: KindInfo;
    /// What one login holds between states: a token for the host, or the
    /// open connection states are pushed over.
    type Handle: Send + 'static;
    /// What a confirmation carries to [`Self::finish`].
    type Confirmed: Send + 'static;

    fn new(settings: &LoginSettings) -> Self;

    /// Fetches a new QR: its image (of [`KindInfo::mime`]) and the handle.
    fn show(
        &self,
        ctx: &Ctx,
    ) -> impl Future<Output = Result<(Vec<u8>, Self::Handle), LoginError>> + Send;

    /// The QR's state: one poll, or the next pushed message. The engine cuts
    /// it off at `deadline`, the QR's; a long poll may hold until then.
    fn next_state(
        &self,
        ctx: &Ctx,
        handle: &mut Self::Handle,
        deadline: Instant,
    ) -> impl Future<Output = Result<Seen<Self::Confirmed>, LoginError>> + Send;

    /// Trades the confirmation for a key. Never retried: what a phone
    /// confirms is good once.
    fn finish(
        &self,
        ctx: &Ctx,
        confirmed: Self::Confirmed,
    ) -> impl Future<Output = Result<LoginGrant, LoginError>> + Send;
}

/// A registered kind: what it is, and how to build it.
pub struct Entry {
    pub info: KindInfo,
    pub(super) build: fn(&LoginSettings) -> Arc<dyn Kind>,
}

/// The registry's line for `P`.
pub const fn register<P: QrProvider>() -> Entry {
    Entry {
        info: P::INFO,
        build: build::<P>,
    }
}

fn build<P: QrProvider>(settings: &LoginSettings) -> Arc<dyn Kind> {
    Arc::new(P::new(settings))
}

// A provider with its types erased, so that the engine holds any kind.

/// A new QR: its image and the login's session.
pub(super) type Shown = (Vec<u8>, Box<dyn Session>);

/// A built kind.
pub(super) trait Kind: Send + Sync {
    fn show<'a>(self: Arc<Self>, ctx: &'a Ctx) -> BoxFuture<'a, Result<Shown, LoginError>>;
}

/// One open login of some kind: its handle.
pub(super) trait Session: Send {
    fn next_state<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Seen<Box<dyn Confirmed>>, LoginError>>;
}

/// A confirmation of some kind.
pub(super) trait Confirmed: Send {
    fn finish<'a>(self: Box<Self>, ctx: &'a Ctx) -> BoxFuture<'a, Result<LoginGrant, LoginError>>;
}

impl<P: QrProvider> Kind for P {
    fn show<'a>(self: Arc<Self>, ctx: &'a Ctx) -> BoxFuture<'a, Result<Shown, LoginError>> {
        Box::pin(async move {
            let (image, handle) = QrProvider::show(&*self, ctx).await?;
            let session: Box<dyn Session> = Box::new(Open {
                provider: self,
                handle,
            });
            Ok((image, session))
        })
    }
}

struct Open<P: QrProvider> {
    provider: Arc<P>,
    handle: P::Handle,
}

impl<P: QrProvider> Session for Open<P> {
    fn next_state<'a>(
        &'a mut self,
        ctx: &'a Ctx,
        deadline: Instant,
    ) -> BoxFuture<'a, Result<Seen<Box<dyn Confirmed>>, LoginError>> {
        Box::pin(async move {
            let seen = self
                .provider
                .next_state(ctx, &mut self.handle, deadline)
                .await?;
            Ok(match seen {
                Seen::Waiting => Seen::Waiting,
                Seen::Scanned => Seen::Scanned,
                Seen::Expired => Seen::Expired,
                Seen::Refused => Seen::Refused,
                Seen::Confirmed(confirmed) => Seen::Confirmed(Box::new(Confirmation {
                    provider: self.provider.clone(),
                    confirmed,
                })
                    as Box<dyn Confirmed>),
            })
        })
    }
}

struct Confirmation<P: QrProvider> {
    provider: Arc<P>,
    confirmed: P::Confirmed,
}

impl<P: QrProvider> Confirmed for Confirmation<P> {
    fn finish<'a>(self: Box<Self>, ctx: &'a Ctx) -> BoxFuture<'a, Result<LoginGrant, LoginError>> {
        let Confirmation {
            provider,
            confirmed,
        } = *self;
        Box::pin(async move { provider.finish(ctx, confirmed).await })
    }
}
