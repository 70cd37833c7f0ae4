//! How a run ends, decided in one place: which kind of failure an error is, and how each kind
//! is worded. Commands return an [`ExitStatus`] for what they judged themselves (a proof that
//! failed, a `verify` miss) and an error for everything else; [`report`] classifies that error
//! once and words it. The kinds and the exit-code contract themselves are plain data in
//! `failure.rs`.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::failure::{ExitStatus, Failure, UserError};
use crate::{output, process};

/// Classifies an error: an interrupt wins over whatever the interrupted step made of it, then
/// the kind of the first [`UserError`] in the chain that has one.
pub(crate) fn classify(error: &anyhow::Error) -> Failure {
    if process::interrupted() {
        return Failure::Interrupted;
    }
    error
        .chain()
        .filter_map(|cause| cause.downcast_ref::<UserError>())
        .find_map(|user_error| user_error.kind)
        .unwrap_or(Failure::Error)
}

/// Prints the error the way its kind is worded and returns the exit status it ends with.
pub(crate) fn report(error: &anyhow::Error) -> ExitStatus {
    let failure = classify(error);
    match failure {
        Failure::Interrupted => {
            output::error_with_hint(process::interruption(), interrupt_hint());
        }
        // Worded where the crash was seen (the Python runner), whatever step ran the script:
        // `dev` and `verify` meeting the same crash print the same thing.
        Failure::Crashed => {
            let crash = error
                .chain()
                .position(|cause| {
                    cause
                        .downcast_ref::<UserError>()
                        .is_some_and(|user_error| user_error.kind == Some(Failure::Crashed))
                })
                .unwrap_or(0);
            let hint = error
                .chain()
                .skip(crash)
                .filter_map(|cause| cause.downcast_ref::<UserError>())
                .find_map(|user_error| user_error.hint.as_deref());
            output::report_chain(error.chain().skip(crash), hint);
        }
        Failure::Refused | Failure::Error => output::report_error(error),
    }
    failure.exit_status()
}

/// Set once the project's install has begun: from then on an interrupt may leave it half-done.
static INSTALL_STARTED: AtomicBool = AtomicBool::new(false);

/// Marks the point after which an interrupt can no longer promise the previous install.
pub(crate) fn install_started() {
    INSTALL_STARTED.store(true, Ordering::SeqCst);
}

/// Marks the install as proven and complete: a `--watch` that is interrupted after this, before
/// its next install begins, has left nothing half-done.
pub(crate) fn install_settled() {
    INSTALL_STARTED.store(false, Ordering::SeqCst);
}

/// Whether an install has begun and was not proven since: the venv may not hold the last proven
/// build any more.
pub(crate) fn install_unsettled() -> bool {
    INSTALL_STARTED.load(Ordering::SeqCst)
}

fn interrupt_hint() -> &'static str {
    if install_unsettled() {
        "the install may be incomplete and no receipt was written; run `cargo pyo3 dev` again to \
         build, install and prove it"
    } else {
        "nothing was installed and the previous install is untouched"
    }
}

/// Marks an error as a refusal by the uv guard (exit 3), keeping its message, chain and hint.
pub(crate) fn refused(error: anyhow::Error) -> anyhow::Error {
    match error.downcast::<UserError>() {
        Ok(mut refusal) => {
            refusal.kind = Some(Failure::Refused);
            anyhow::Error::new(refusal)
        }
        Err(error) => anyhow::Error::new(UserError {
            kind: Some(Failure::Refused),
            message: "refused by the uv guard".to_owned(),
            hint: crate::failure::hint_of(&error).map(str::to_owned),
            source: Some(error),
        }),
    }
}

/// An interpreter that crashed while importing `module` (exit 1): a signal on Unix, an NTSTATUS
/// on Windows (`platform::crash`).
pub(crate) fn crashed(
    module: &str,
    status: std::process::ExitStatus,
    python: &std::path::Path,
    source: anyhow::Error,
) -> anyhow::Error {
    let description = process::describe_status(status);
    anyhow::Error::new(UserError {
        kind: Some(Failure::Crashed),
        message: format!("importing `{module}` crashed the interpreter ({description})"),
        hint: Some(format!(
            "the `#[pymodule]` init of `{module}`, or a library it loads, killed the interpreter; \
             run `{} -X faulthandler -c {}` to see where",
            python.display(),
            crate::platform::quote(&format!("import {module}"))
        )),
        source: Some(source),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_its_documented_code() {
        assert_eq!(Failure::Interrupted.exit_status().code(), 2);
        assert_eq!(Failure::Crashed.exit_status().code(), 1);
        assert_eq!(Failure::Refused.exit_status().code(), 3);
        assert_eq!(Failure::Error.exit_status().code(), 2);
    }

    #[test]
    fn a_kind_survives_context() {
        let refusal = refused(crate::failure::user_error("uv would reinstall", "fix it"));
        assert_eq!(refusal.to_string(), "uv would reinstall");
        assert_eq!(crate::failure::hint_of(&refusal), Some("fix it"));
        let wrapped = refusal.context("while checking");
        assert_eq!(classify(&wrapped), Failure::Refused);
        assert_eq!(
            classify(&crate::failure::user_error("plain", "hint")),
            Failure::Error
        );
        assert_eq!(classify(&anyhow::anyhow!("no hint")), Failure::Error);
    }

    #[test]
    fn a_crash_is_found_under_a_step_context() {
        let (status, description) = crate::platform::test_support::crashed_status();
        let crash = crashed(
            "m",
            status,
            std::path::Path::new("/venv/bin/python"),
            anyhow::anyhow!("process failed"),
        );
        let wrapped = crash.context("failed to look the names up");
        assert_eq!(classify(&wrapped), Failure::Crashed);
        let chain: Vec<String> = wrapped.chain().map(ToString::to_string).collect();
        assert_eq!(
            chain,
            [
                "failed to look the names up",
                format!("importing `m` crashed the interpreter ({description})").as_str(),
                "process failed"
            ]
        );
    }
}
