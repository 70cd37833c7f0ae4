//! `cargo pyo3 new` and `cargo pyo3 init`: check the destination and the name, plan every file,
//! write them without overwriting anything, `git init` when wanted, and say what to run next.
//! Every check runs before the first write, so a refusal leaves the disk as it was.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::cli::{InitArgs, NewArgs, ScaffoldArgs};
use crate::failure::ExitStatus;
use crate::output;
use crate::scaffold::Layout;
use crate::scaffold::names::{self, ProjectName};
use crate::scaffold::vcs::{self, GitDecision};
use crate::scaffold::workspace::{self, Enclosing};
use crate::scaffold::{self, Shape};

/// The one kept file whose contents matter: without our lines, build outputs get committed.
const GITIGNORE: &str = ".gitignore";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Subcommand {
    New,
    Init,
}

impl Subcommand {
    fn word(self) -> &'static str {
        match self {
            Subcommand::New => "new",
            Subcommand::Init => "init",
        }
    }
}

/// `cargo pyo3 new PATH`: a project in a new (or empty) directory.
pub(crate) fn run_new(args: NewArgs) -> anyhow::Result<ExitStatus> {
    let NewArgs { path, scaffold } = args;
    check_new_destination(&path)?;
    create_project(Subcommand::New, &path, scaffold)
}

/// `cargo pyo3 init [PATH]`: a project in an existing directory, the current one by default.
pub(crate) fn run_init(args: InitArgs) -> anyhow::Result<ExitStatus> {
    let InitArgs { path, scaffold } = args;
    let path = path.unwrap_or_else(|| PathBuf::from("."));
    check_init_destination(&path)?;
    create_project(Subcommand::Init, &path, scaffold)
}

/// `new` accepts a path that does not exist yet or an empty directory.
fn check_new_destination(path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    let Some(metadata) = scaffold::lookup(path)? else {
        return Ok(());
    };
    let metadata = if metadata.is_symlink() {
        fs_err::metadata(path).with_context(|| format!("failed to follow `{shown}`"))?
    } else {
        metadata
    };
    if !metadata.is_dir() {
        return Err(crate::failure::user_error(
            format!("`{shown}` already exists and is not a directory"),
            "choose another path",
        ));
    }
    let mut entries = fs_err::read_dir(path)?;
    if entries.next().is_some() {
        return Err(crate::failure::user_error(
            format!("destination `{shown}` already exists and is not empty"),
            format!(
                "choose another path, or run `cargo pyo3 init {}` to add a project to this \
                 directory",
                shell_word(path)
            ),
        ));
    }
    Ok(())
}

/// `init` needs an existing directory that holds no Cargo or Python project yet.
fn check_init_destination(path: &Path) -> anyhow::Result<()> {
    let shown = path.display();
    match fs_err::metadata(path) {
        Ok(metadata) if metadata.is_dir() => {}
        Ok(_) => {
            return Err(crate::failure::user_error(
                format!("`{shown}` is not a directory"),
                "give `cargo pyo3 init` a directory",
            ));
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(crate::failure::user_error(
                format!("directory `{shown}` does not exist"),
                format!("`cargo pyo3 new {}` creates it", shell_word(path)),
            ));
        }
        Err(error) => return Err(error.into()),
    }
    let mut manifests = Vec::new();
    for manifest in ["Cargo.toml", "pyproject.toml"] {
        if scaffold::lookup(&path.join(manifest))?.is_some() {
            manifests.push(format!("`{manifest}`"));
        }
    }
    if !manifests.is_empty() {
        return Err(crate::failure::user_error(
            format!(
                "`{shown}` already holds {}: `cargo pyo3 init` never overwrites a project",
                manifests.join(" and ")
            ),
            "to build the project that is there, run `cargo pyo3 dev` in it; to start a new one, \
             use `cargo pyo3 new` with another path",
        ));
    }
    Ok(())
}

fn create_project(
    subcommand: Subcommand,
    path: &Path,
    scaffold_args: ScaffoldArgs,
) -> anyhow::Result<ExitStatus> {
    let ScaffoldArgs { name, layout, vcs } = scaffold_args;
    let (layout, vcs): (Layout, scaffold::vcs::Vcs) = (layout.into(), vcs.into());
    let root = scaffold::resolve_destination(path)?;
    let name = project_name(subcommand, path, &root, name)?;
    let enclosing = workspace::enclosing_workspace(&root);
    let shape = Shape {
        layout,
        own_workspace: matches!(enclosing, Enclosing::Outsider { .. }),
    };
    let plan = scaffold::plan(&root, &name, shape)?;
    let existing = plan.existing()?;
    if existing.blocks() {
        return Err(blocked_error(path, &existing));
    }
    let git = vcs::decide(vcs, &root);

    let written = plan.write(&existing.kept)?;
    report_created(path, &root, &name, layout, &written, &existing.kept, &plan);
    report_workspace(&enclosing);
    initialize_git(git, path, &root)?;
    let next = if is_current_directory(&root) {
        "cargo pyo3 dev".to_owned()
    } else {
        format!("cd {} && cargo pyo3 dev", shell_word(path))
    };
    output::status("Next", next);
    Ok(ExitStatus::Success)
}

fn report_created(
    path: &Path,
    root: &Path,
    name: &ProjectName,
    layout: Layout,
    written: &[String],
    kept: &[String],
    plan: &scaffold::Plan,
) {
    let layout_word = match layout {
        Layout::Pure => "pure",
        Layout::Mixed => "mixed",
    };
    output::status(
        "Created",
        format!(
            "{layout_word} PyO3 project `{}` (Python module `{}`) in `{}`",
            name.crate_name(),
            name.module_name(),
            path.display()
        ),
    );
    for file in written {
        output::line(format!("{:>12} {file}", ""));
    }
    for file in kept {
        output::status("Kept", format!("existing {file}"));
    }
    if kept.iter().any(|file| file == GITIGNORE) {
        warn_about_gitignore(root, plan);
    }
}

fn report_workspace(enclosing: &Enclosing) {
    match enclosing {
        Enclosing::Nothing => {}
        Enclosing::Member { root } => output::line(format!(
            "note: the project joins the Cargo workspace at `{}`, whose `members` include it",
            root.display()
        )),
        Enclosing::Outsider { root } => output::line(format!(
            "note: the project lies inside the Cargo workspace at `{}`, which does not list it \
             in `members`; Cargo.toml has an empty `[workspace]` table so the project builds on \
             its own (to join that workspace instead, delete the table and add the project to \
             its `members`)",
            root.display()
        )),
    }
}

/// Runs the decision made before writing. A failed `git init` is an error even though the files
/// are in place: the user asked for a repository and must learn that there is none.
fn initialize_git(decision: GitDecision, path: &Path, root: &Path) -> anyhow::Result<()> {
    match decision {
        GitDecision::Initialize { git } => {
            vcs::initialize(&git, root).map_err(|error| {
                let hint = format!(
                    "the files are in place: run `git init` in `{}` yourself, or pass \
                     `--vcs none`",
                    path.display()
                );
                crate::failure::user_error(format!("{error:#}"), hint)
                    .context("created the project, but `git init` failed")
            })?;
            output::status("Initialized", "git repository");
        }
        GitDecision::Disabled => {}
        GitDecision::GitMissing => {
            output::verbose("git is not on PATH: no repository initialized");
        }
        GitDecision::InsideRepository { evidence } => {
            output::verbose(format!(
                "no git repository initialized: the project is already inside one ({evidence})"
            ));
        }
    }
    Ok(())
}

/// The name from `--name`, else the directory's name; either way validated.
fn project_name(
    subcommand: Subcommand,
    path: &Path,
    root: &Path,
    flag: Option<String>,
) -> anyhow::Result<ProjectName> {
    let from_flag = flag.is_some();
    let name = match flag {
        Some(name) => name,
        None => {
            let Some(file_name) = path.file_name().or_else(|| root.file_name()) else {
                return Err(crate::failure::user_error(
                    format!("cannot take a project name from `{}`", path.display()),
                    "pass one with `--name NAME`",
                ));
            };
            file_name.to_string_lossy().into_owned()
        }
    };
    ProjectName::parse(&name).map_err(|invalid| {
        let suggestion = names::suggest(&name);
        let mut command = format!("cargo pyo3 {}", subcommand.word());
        if subcommand == Subcommand::New || path != Path::new(".") {
            command.push(' ');
            command.push_str(&shell_word(path));
        }
        if from_flag {
            crate::failure::user_error(
                format!("invalid project name: {invalid}"),
                format!("`{suggestion}` would work: `{command} --name {suggestion}`"),
            )
        } else {
            crate::failure::user_error(
                format!("invalid project name `{name}`, taken from the directory name: {invalid}"),
                format!(
                    "name the project differently from its directory: \
                     `{command} --name {suggestion}`"
                ),
            )
        }
    })
}

fn blocked_error(path: &Path, existing: &scaffold::Existing) -> anyhow::Error {
    let quoted = |paths: &[String]| {
        paths
            .iter()
            .map(|path| format!("`{path}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut problems = Vec::new();
    if !existing.refused.is_empty() {
        problems.push(format!(
            "it already has files the project needs: {}",
            quoted(&existing.refused)
        ));
    }
    if !existing.not_directories.is_empty() {
        problems.push(format!(
            "these must be directories but are not: {}",
            quoted(&existing.not_directories)
        ));
    }
    crate::failure::user_error(
        format!(
            "cannot create the project in `{}`: {}",
            path.display(),
            problems.join("; ")
        ),
        "move them out of the way and run the command again, or create the project elsewhere \
         with `cargo pyo3 new`",
    )
}

/// An existing `.gitignore` is kept as it is; say which of our lines it lacks, since build
/// outputs and the venv would otherwise end up in commits. The project exists by now, so a
/// failure to read the file is only a warning.
fn warn_about_gitignore(root: &Path, plan: &scaffold::Plan) {
    let Some(ours) = plan
        .files()
        .iter()
        .find(|file| file.relative_path == GITIGNORE)
    else {
        return;
    };
    let theirs = match fs_err::read_to_string(root.join(GITIGNORE)) {
        Ok(theirs) => theirs,
        Err(error) => {
            output::warning(format!("could not check the existing .gitignore: {error}"));
            return;
        }
    };
    let present: Vec<&str> = theirs.lines().map(str::trim).collect();
    let missing: Vec<&str> = ours
        .contents
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !present.contains(line))
        .collect();
    if !missing.is_empty() {
        output::warning(format!(
            "the existing .gitignore was kept and lacks these lines: {}",
            missing.join(" ")
        ));
    }
}

/// Whether `root` is the current directory, so the next command needs no `cd`. When the current
/// directory cannot be read, showing the `cd` is the safe answer.
fn is_current_directory(root: &Path) -> bool {
    std::env::current_dir()
        .and_then(fs_err::canonicalize)
        .is_ok_and(|current| current == root)
}

/// A path as one word a user can paste into a shell.
fn shell_word(path: &Path) -> String {
    shell_escape::unix::escape(path.to_string_lossy()).into_owned()
}
