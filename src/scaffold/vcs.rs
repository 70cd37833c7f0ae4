//! Whether a new project gets its own git repository, and `git init` through the one subprocess
//! runner. Like cargo, a project inside an existing work tree gets none (it belongs to that
//! repository), and a missing git is not an error.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::process::Cmd;

/// Whether `new` and `init` start a repository (`--vcs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Vcs {
    /// `git init` unless the directory is already inside a repository
    #[default]
    Git,
    /// No version control
    None,
}

/// What to do about version control, decided before anything is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GitDecision {
    /// Run `git init` with this git.
    Initialize { git: PathBuf },
    /// `--vcs none`.
    Disabled,
    /// git is not on PATH.
    GitMissing,
    /// The project lies inside the work tree that `evidence` shows.
    InsideRepository { evidence: String },
}

/// Decides for a project at `project` (absolute; may not exist yet).
pub(crate) fn decide(vcs: Vcs, project: &Path) -> GitDecision {
    if vcs == Vcs::None {
        return GitDecision::Disabled;
    }
    let Ok(git) = which::which("git") else {
        return GitDecision::GitMissing;
    };
    let Some(nearest) = project.ancestors().find(|ancestor| ancestor.is_dir()) else {
        return GitDecision::Initialize { git };
    };
    let inside = git_command(&git)
        .args(["rev-parse", "--is-inside-work-tree"])
        .dir(nearest)
        .output();
    match inside {
        Ok(captured) if captured.status.success() && captured.stdout.trim() == "true" => {
            return GitDecision::InsideRepository {
                evidence: format!(
                    "`git rev-parse --is-inside-work-tree` in `{}`",
                    nearest.display()
                ),
            };
        }
        Err(_) => return GitDecision::GitMissing,
        Ok(_) => {}
    }
    // git can answer "no" where a repository still exists, for instance one owned by another
    // user (`safe.directory`); nesting a new repository inside it would be a surprise.
    if let Some(marker) = project
        .ancestors()
        .map(|ancestor| ancestor.join(".git"))
        .find(|marker| marker.exists())
    {
        return GitDecision::InsideRepository {
            evidence: format!("`{}`", marker.display()),
        };
    }
    GitDecision::Initialize { git }
}

/// Runs `git init` in `project`.
pub(crate) fn initialize(git: &Path, project: &Path) -> anyhow::Result<()> {
    git_command(git)
        .arg("init")
        .dir(project)
        .run_captured()
        .with_context(|| {
            format!(
                "failed to initialize a git repository in `{}`",
                project.display()
            )
        })?;
    Ok(())
}

fn git_command(git: &Path) -> Cmd {
    Cmd::new(git)
        .env_remove(crate::env::GIT_DIR)
        .env_remove(crate::env::GIT_WORK_TREE)
}
