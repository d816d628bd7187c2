//! The OpenMP wait policy a run uses unless the user set one (benches/RESULTS.md, issue 20).
//! ggml's thread teams come from libgomp, whose default spins at every barrier: when another
//! job takes one of the two cores, the spinning thread burns the time slices its partner needs
//! and a run takes 10–25× longer. Passive waiting sleeps instead.

#[cfg(unix)]
const OMP_WAIT_POLICY: &str = "passive";

/// Before a run: unless the user set `OMP_WAIT_POLICY` or `GOMP_SPINCOUNT`, run this program
/// again with `OMP_WAIT_POLICY=passive`. Returns only when the policy was set (the variable
/// being set is what stops a second round) or the restart failed (then with a warning, and
/// the run goes on with libgomp's default).
pub fn ensure_passive() {
    #[cfg(unix)]
    if wait_policy_unset() {
        let e = reexec_with_wait_policy();
        eprintln!(
            "warning: cannot restart with OMP_WAIT_POLICY={OMP_WAIT_POLICY}: {e}\nhint: set it in the environment; without it a run on a busy machine can be many times slower"
        );
    }
}

/// libgomp reads `OMP_WAIT_POLICY` and `GOMP_SPINCOUNT` when the program is loaded, before
/// `main`, so setting them now is too late: run this program again with the policy set, once.
/// Returns only if that fails.
#[cfg(unix)]
fn reexec_with_wait_policy() -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => return e,
    };
    let mut args = std::env::args_os();
    let arg0 = args.next().unwrap_or_else(|| exe.clone().into_os_string());
    std::process::Command::new(exe)
        .arg0(arg0)
        .args(args)
        .env("OMP_WAIT_POLICY", OMP_WAIT_POLICY)
        .exec()
}

/// Whether the user left libgomp's waiting to us.
#[cfg(unix)]
fn wait_policy_unset() -> bool {
    ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT"]
        .iter()
        .all(|v| std::env::var_os(v).is_none())
}
