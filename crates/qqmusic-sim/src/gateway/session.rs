//! The login check shared by the calls that act for an account.

use super::creds::g_tk_matches;
use super::Call;
use crate::codes;
use crate::error::SimError;

/// The uin a login-required call acts for, or the code that refuses it:
/// 1000 unless the call carries the `uin` and `qqmusic_key` cookies, the key is
/// known and unexpired on the sim clock, belongs to the uin the call names
/// (if any), passes the `g_tk` rule and its account is not logged out;
/// 20277 when all that holds but the account is banned (as Login answers).
pub fn require_login(call: &Call<'_>) -> Result<Result<u64, i64>, SimError> {
    let Some(key) = call.creds.key.as_deref() else {
        return Ok(Err(codes::LOGIN_REQUIRED));
    };
    if !g_tk_matches(call.comm, key) {
        return Ok(Err(codes::LOGIN_REQUIRED));
    }
    let now = call.sim.clock.now();
    let view = call.sim.accounts()?.authenticate(key, call.creds.uin, now);
    Ok(match view {
        None => Err(codes::LOGIN_REQUIRED),
        Some(v) if v.banned => Err(codes::BANNED),
        Some(v) => Ok(v.uin),
    })
}
