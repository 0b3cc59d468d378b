//! Internal failures. None of them may panic a request: each one becomes an
//! error response.

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A task panicked while holding a lock. The simulator never panics on
    /// purpose, so this means a bug; answer 500 instead of panicking again.
    #[error("internal state lock is poisoned: {0}")]
    Poisoned(&'static str),
}

/// Locks `m`, turning a poisoned lock into an error.
pub fn lock<'a, T>(
    m: &'a std::sync::Mutex<T>,
    what: &'static str,
) -> Result<std::sync::MutexGuard<'a, T>, SimError> {
    m.lock().map_err(|_| SimError::Poisoned(what))
}
