//! Hardening for the commands that hold secrets for a long time (`testnet serve`, `quickstart`,
//! whose `--keep` runs until interrupted).
//!
//! On Linux the process makes itself non-dumpable (`prctl(PR_SET_DUMPABLE, 0)`: no core dump,
//! no `ptrace` attach and no `/proc/<pid>/mem` read by another process of the same user short
//! of `CAP_SYS_PTRACE`) and sets its core-file limit to zero, soft and hard, so that a crash
//! writes no core holding the venues' secrets or the vault's master key. Both go through
//! `rustix` (the workspace forbids `unsafe`). Elsewhere this does nothing: the other platforms
//! keyward builds on have no `PR_SET_DUMPABLE`.

use anyhow::Result;

/// Makes this process non-dumpable and limits its core files to zero bytes (Linux only).
pub fn protect_process_memory() -> Result<()> {
    #[cfg(target_os = "linux")]
    {
        use anyhow::Context as _;
        use rustix::process::{
            DumpableBehavior, Resource, Rlimit, set_dumpable_behavior, setrlimit,
        };
        setrlimit(
            Resource::Core,
            Rlimit {
                current: Some(0),
                maximum: Some(0),
            },
        )
        .context("could not turn core dumps off (setrlimit RLIMIT_CORE)")?;
        set_dumpable_behavior(DumpableBehavior::NotDumpable)
            .context("could not make the process non-dumpable (prctl PR_SET_DUMPABLE)")?;
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use rustix::process::{DumpableBehavior, Resource, dumpable_behavior, getrlimit};

    // Changes this test process only (nextest runs each test in a process of its own).
    #[test]
    fn the_process_becomes_non_dumpable_with_no_core_limit() {
        super::protect_process_memory().unwrap();
        assert_eq!(dumpable_behavior().unwrap(), DumpableBehavior::NotDumpable);
        let core = getrlimit(Resource::Core);
        assert_eq!((core.current, core.maximum), (Some(0), Some(0)));
    }
}
