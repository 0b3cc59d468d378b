//! Child processes a test starts are killed and reaped when the test ends,
//! pass or fail: a failed assertion unwinds through the guard's `drop`, so no
//! `qmkeys serve`, redis-server or chromedriver outlives its test.

use std::ops::{Deref, DerefMut};
use std::process::{Child, Command};

/// A child that is killed (SIGKILL) and waited for when dropped. A child the
/// test has already killed, signalled or reaped is fine: those errors are
/// ignored, and std never signals a child it has reaped.
pub struct KillOnDrop {
    child: Child,
    group: bool,
}

impl KillOnDrop {
    pub fn new(child: Child) -> Self {
        Self {
            child,
            group: false,
        }
    }

    /// For a child started with `process_group(0)`: its whole group (e.g.
    /// chromedriver and the Chromium it starts) is killed too. Do not wait on
    /// such a child before the guard drops: until it is reaped its pid, and so
    /// the group id, cannot name anyone else's processes.
    #[allow(dead_code)] // used by the browser tests, which share this file
    pub fn group_leader(child: Child) -> Self {
        Self { child, group: true }
    }
}

impl Deref for KillOnDrop {
    type Target = Child;

    fn deref(&self) -> &Child {
        &self.child
    }
}

impl DerefMut for KillOnDrop {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.child
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.group {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.child.id())])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
