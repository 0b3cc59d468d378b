//! One QR login from its image to its last event, the same for every kind:
//! the kind ([`super::provider`]) fetches the QR and says what it sees; this
//! paces the polls, keeps the deadline, retries failed polls, reports state
//! changes and counts them. All polling happens inside [`QrLogin::next`]:
//! dropping the login (or a `next` in flight) stops it.

use super::provider::{Confirmed, Delivery, Seen, Session};
use super::{Inner, LoginError, LoginResult, QrKind};
use std::sync::Arc;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{sleep_until, timeout_at, Instant};

/// Polls in a row that may fail (connection, timeout, 5xx) before the
/// login ends with the last failure.
const MAX_FAILED_POLLS: u32 = 3;

/// A state change of a QR login. `Waiting` comes first; `Expired`,
/// `Refused` and `Done` are last.
#[derive(Debug)]
pub enum QrEvent {
    Waiting,
    Scanned,
    Expired,
    Refused,
    Done(LoginResult),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Reported {
    Nothing,
    Waiting,
    Scanned,
    Ended,
}

/// An open QR login; see the module docs of [`super`] for its life.
pub struct QrLogin {
    inner: Arc<Inner>,
    kind: QrKind,
    image: Vec<u8>,
    /// The kind's handle; `None` once the login has ended, so that a
    /// connection it holds is closed then, not when the caller lets go.
    session: Option<Box<dyn Session>>,
    deadline: Instant,
    last_poll: Option<Instant>,
    /// Polls failed in a row.
    failed_polls: u32,
    reported: Reported,
    /// Returned to the caps (total, and the client's) when the login is dropped.
    _places: (OwnedSemaphorePermit, Option<super::ClientPlace>),
}

impl std::fmt::Debug for QrLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QrLogin")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl QrLogin {
    pub(super) async fn open(
        inner: Arc<Inner>,
        kind: QrKind,
        places: (OwnedSemaphorePermit, Option<super::ClientPlace>),
        lifetime: std::time::Duration,
    ) -> Result<Self, LoginError> {
        let deadline = Instant::now() + lifetime;
        let (image, session) = inner.kind(kind)?.show(&inner.ctx).await?;
        inner
            .metrics
            .login_sessions
            .with_label_values(&[kind.as_str()])
            .inc();
        Ok(Self {
            inner,
            kind,
            image,
            session: Some(session),
            deadline,
            last_poll: None,
            failed_polls: 0,
            reported: Reported::Nothing,
            _places: places,
        })
    }

    pub fn kind(&self) -> QrKind {
        self.kind
    }

    /// The QR image and its content type (the kind's: `image/png` for QQ,
    /// `image/jpeg` for WeChat). Shown once, before the first
    /// [`Self::next`], which lets go of it (empty from then on): a login
    /// lasts minutes, and a WeChat JPEG is ~40 KB to keep for each.
    pub fn image(&self) -> (&[u8], &'static str) {
        (&self.image, self.kind.info().mime)
    }

    /// Waits for the next state change. The first call drops the QR image
    /// and answers `Waiting` at once (the QR was just made); then `Scanned`
    /// when the phone scans it, and last exactly one of `Expired`,
    /// `Refused`, `Done` or an error.
    /// After that it answers `Err(LoginError::Finished)`. Two minutes and a
    /// little after the QR was made, a login still waiting is `Expired`.
    pub async fn next(&mut self) -> Result<QrEvent, LoginError> {
        if self.reported == Reported::Ended {
            return Err(LoginError::Finished);
        }
        self.image = Vec::new();
        let result = self.advance().await;
        let outcome = match &result {
            Ok(QrEvent::Waiting | QrEvent::Scanned) => return result,
            Ok(QrEvent::Expired) => "expired",
            Ok(QrEvent::Refused) => "refused",
            Ok(QrEvent::Done(_)) => "done",
            Err(e) => e.outcome(),
        };
        self.reported = Reported::Ended;
        self.session = None;
        self.inner.count(self.kind.as_str(), outcome);
        result
    }

    async fn advance(&mut self) -> Result<QrEvent, LoginError> {
        if self.reported == Reported::Nothing {
            self.reported = Reported::Waiting;
            return Ok(QrEvent::Waiting);
        }
        loop {
            let seen = match timeout_at(self.deadline, self.next_state()).await {
                Ok(Ok(seen)) => {
                    self.failed_polls = 0;
                    seen
                }
                // A poll only reads, so a passing failure is worth another
                // try at the next tick; a lasting one ends the login.
                Ok(Err(e)) if e.is_passing() && self.failed_polls < MAX_FAILED_POLLS => {
                    self.failed_polls += 1;
                    tracing::debug!(error = %e, "a QR login poll failed; polling again");
                    continue;
                }
                Ok(Err(e)) => return Err(e),
                Err(_) => return Ok(QrEvent::Expired),
            };
            let (now, event) = match seen {
                Seen::Waiting => (Reported::Waiting, QrEvent::Waiting),
                Seen::Scanned => (Reported::Scanned, QrEvent::Scanned),
                Seen::Expired => return Ok(QrEvent::Expired),
                Seen::Refused => return Ok(QrEvent::Refused),
                // Past confirmation the QR's deadline no longer applies:
                // each step has its own timeout.
                Seen::Confirmed(confirmed) => {
                    // Nothing more to hear: let go of the host first.
                    self.session = None;
                    let ctx = &self.inner.ctx;
                    let grant = confirmed.finish(ctx).await?;
                    let info = self.kind.info();
                    let result = ctx.result(info.account, grant, info.login_type).await?;
                    return Ok(QrEvent::Done(result));
                }
            };
            if now != self.reported {
                self.reported = now;
                return Ok(event);
            }
        }
    }

    /// The kind's next state. A polled kind's polls come no sooner than
    /// `poll_every` after the last, each with a token of the global rate; a
    /// pushed kind waits only to try again after a failure.
    async fn next_state(&mut self) -> Result<Seen<Box<dyn Confirmed>>, LoginError> {
        let polled = self.kind.info().delivery == Delivery::Polled;
        if polled || self.failed_polls > 0 {
            if let Some(last) = self.last_poll {
                sleep_until(last + self.inner.poll_every).await;
            }
        }
        if polled {
            self.inner.poll_token().await;
            self.inner
                .metrics
                .login_polls
                .with_label_values(&[self.kind.as_str()])
                .inc();
        }
        self.last_poll = Some(Instant::now());
        let session = self.session.as_mut().ok_or(LoginError::Finished)?;
        session.next_state(&self.inner.ctx, self.deadline).await
    }
}

impl Drop for QrLogin {
    fn drop(&mut self) {
        let kind = self.kind.as_str();
        self.inner
            .metrics
            .login_sessions
            .with_label_values(&[kind])
            .dec();
        if self.reported != Reported::Ended {
            self.inner.count(kind, "abandoned");
        }
    }
}

#[cfg(test)]
mod tests {
    //! The engine with a kind whose states are pushed, as the QQ Music
    //! app's QR will be: each login's "connection" is a channel the test
    //! writes to, which notes when it is closed.

    use super::super::provider::{register, Ctx, Entry, KindInfo, QrProvider};
    use super::super::{LoginService, QrKind};
    use super::*;
    use crate::config::Settings;
    use crate::login::LoginSettings;
    use crate::metrics::Metrics;
    use crate::upstream::LoginGrant;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;
    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

    /// A pushed state, as the test sends it.
    type Push = Seen<()>;

    /// The open connections, newest last: the test's end of each, and
    /// whether it was closed.
    static OPEN: Mutex<Vec<(UnboundedSender<Push>, Arc<AtomicBool>)>> = Mutex::new(Vec::new());

    struct Pushed;

    struct Connection {
        states: UnboundedReceiver<Push>,
        closed: Arc<AtomicBool>,
    }

    impl Drop for Connection {
        fn drop(&mut self) {
            self.closed.store(true, Ordering::SeqCst);
        }
    }

    impl QrProvider for Pushed {
        const INFO: KindInfo = KindInfo {
            name: "pushed",
            label_zh: "推送",
            label_en: "Pushed",
            mime: "image/png",
            account: None,
            delivery: Delivery::Pushed,
            login_type: 2,
        };
        type Handle = Connection;
        /// Whether the connection was closed by the time of `finish`.
        type Confirmed = Arc<AtomicBool>;

        fn new(_: &LoginSettings) -> Self {
            Pushed
        }

        async fn show(&self, _: &Ctx) -> Result<(Vec<u8>, Connection), LoginError> {
            let (tx, states) = unbounded_channel();
            let closed = Arc::new(AtomicBool::new(false));
            OPEN.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push((tx, closed.clone()));
            Ok((b"\x89PNG\r\n\x1a\n".to_vec(), Connection { states, closed }))
        }

        async fn next_state(
            &self,
            _: &Ctx,
            connection: &mut Connection,
            _: Instant,
        ) -> Result<Seen<Arc<AtomicBool>>, LoginError> {
            Ok(match connection.states.recv().await {
                Some(Seen::Waiting) => Seen::Waiting,
                Some(Seen::Scanned) => Seen::Scanned,
                Some(Seen::Expired) => Seen::Expired,
                Some(Seen::Refused) => Seen::Refused,
                Some(Seen::Confirmed(())) => Seen::Confirmed(connection.closed.clone()),
                None => return Err(LoginError::Protocol("the test hung up")),
            })
        }

        async fn finish(&self, _: &Ctx, closed: Arc<AtomicBool>) -> Result<LoginGrant, LoginError> {
            if closed.load(Ordering::SeqCst) {
                Err(LoginError::Protocol("finished after the connection closed"))
            } else {
                Err(LoginError::Protocol(
                    "finished with the connection still open",
                ))
            }
        }
    }

    static TEST_KINDS: &[Entry] = &[register::<Pushed>()];

    fn newest() -> (UnboundedSender<Push>, Arc<AtomicBool>) {
        OPEN.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .last()
            .cloned()
            .expect("a connection")
    }

    fn metric(metrics: &Metrics, line_start: &str) -> Option<String> {
        metrics
            .render()
            .lines()
            .find(|l| l.starts_with(line_start))
            .map(|l| l.rsplit(' ').next().unwrap_or_default().to_owned())
    }

    #[tokio::test]
    async fn a_pushed_kind_is_unpaced_and_its_connection_closes_when_the_login_ends_or_is_dropped()
    {
        // One poll a second: a polled kind could not report three changes
        // in well under a second.
        let mut settings = Settings::default();
        settings.login.polls_per_second = 1;
        let metrics = Arc::new(Metrics::new().expect("metrics"));
        let upstream = crate::startup::upstream_client(&settings).expect("upstream");
        let login = crate::startup::login_settings(&settings);
        let service = LoginService::with_kinds(&login, upstream, metrics.clone(), TEST_KINDS)
            .expect("service");
        let kind = QrKind(&TEST_KINDS[0]);

        let mut qr = service.start_qr(kind).await.expect("QR");
        assert_eq!(qr.image().1, "image/png");
        let (push, closed) = newest();
        let started = std::time::Instant::now();
        assert!(matches!(qr.next().await, Ok(QrEvent::Waiting)));
        assert!(qr.image().0.is_empty(), "the image is dropped");
        for state in [Seen::Waiting, Seen::Scanned, Seen::Scanned, Seen::Waiting] {
            push.send(state).expect("open");
        }
        assert!(matches!(qr.next().await, Ok(QrEvent::Scanned)));
        assert!(matches!(qr.next().await, Ok(QrEvent::Waiting)));
        push.send(Seen::Scanned).expect("open");
        assert!(matches!(qr.next().await, Ok(QrEvent::Scanned)));
        assert!(
            started.elapsed() < Duration::from_millis(900),
            "unpaced: {:?}",
            started.elapsed()
        );
        assert!(!closed.load(Ordering::SeqCst));
        push.send(Seen::Confirmed(())).expect("open");
        match qr.next().await {
            Err(LoginError::Protocol(why)) => {
                assert_eq!(why, "finished after the connection closed")
            }
            other => panic!("{other:?}"),
        }
        assert!(closed.load(Ordering::SeqCst), "closed when the login ended");
        assert!(matches!(qr.next().await, Err(LoginError::Finished)));
        assert_eq!(
            metric(&metrics, "qmkeys_login_polls_total{kind=\"pushed\"}"),
            None,
            "a pushed kind makes no polls"
        );
        drop(qr);

        // A caller that goes away mid-wait closes the connection.
        let mut qr = service.start_qr(kind).await.expect("QR");
        let (_push, closed) = newest();
        assert!(matches!(qr.next().await, Ok(QrEvent::Waiting)));
        assert!(tokio::time::timeout(Duration::from_millis(200), qr.next())
            .await
            .is_err());
        assert!(!closed.load(Ordering::SeqCst));
        assert_eq!(service.open_sessions(), 1);
        drop(qr);
        assert!(closed.load(Ordering::SeqCst), "closed when the caller went");
        assert_eq!(service.open_sessions(), 0);

        // So does the QR's deadline.
        let service = service.with_qr_deadline(Duration::from_millis(300));
        let mut qr = service.start_qr(kind).await.expect("QR");
        let (_push, closed) = newest();
        assert!(matches!(qr.next().await, Ok(QrEvent::Waiting)));
        assert!(matches!(qr.next().await, Ok(QrEvent::Expired)));
        assert!(closed.load(Ordering::SeqCst), "closed when the QR expired");

        for (outcome, count) in [("host_error", "1"), ("abandoned", "1"), ("expired", "1")] {
            let line = format!("qmkeys_logins_total{{kind=\"pushed\",outcome=\"{outcome}\"}}");
            assert_eq!(metric(&metrics, &line).as_deref(), Some(count), "{outcome}");
        }
    }
}
