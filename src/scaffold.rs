//! Templates → files, never overwriting. The files of a new project come from the one table
//! below; each is rendered by plain placeholder substitution, checked against what already exists,
//! and only then written, every file with `create_new`, so nothing is ever overwritten.

pub(crate) mod names;
pub(crate) mod vcs;
pub(crate) mod workspace;

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};

use crate::output;
use names::ProjectName;

/// The project layout `new` and `init` write (`--layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Layout {
    /// Rust only: the extension is the whole package
    #[default]
    Pure,
    /// Python package in `python/` around the extension `<module>._core`
    Mixed,
}

/// The pyo3 version requirement of new projects: the version that builds with maturin 1.16 and
/// CPython 3.11 here.
pub(crate) const PYO3_VERSION: &str = "0.29";

/// One entry of the template table.
struct Template {
    /// Where the rendered text goes, relative to the project root; may hold placeholders.
    destination: &'static str,
    /// Which projects get it.
    condition: Condition,
    /// What to do when the destination already exists (only `init` meets existing files).
    if_exists: IfExists,
    /// The file under `templates/`, for tests and error messages.
    source: &'static str,
    /// The file's text, embedded at compile time.
    text: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Condition {
    Always,
    Layout(Layout),
    /// Only when the project needs a `[workspace]` table of its own (see `workspace.rs`).
    OwnWorkspace,
}

/// What `init` does with a file the project would write but the directory already has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfExists {
    /// The project cannot work without our version: refuse to start.
    Refuse,
    /// A README or `.gitignore` the user already has is theirs: keep it and write nothing.
    Keep,
}

macro_rules! template {
    ($destination:literal, $condition:expr, $if_exists:expr, $source:literal) => {
        Template {
            destination: $destination,
            condition: $condition,
            if_exists: $if_exists,
            source: $source,
            text: include_str!(concat!("../templates/", $source)),
        }
    };
}

/// Every file a project can get, in the order they are written and listed. Entries with the same
/// destination are concatenated in this order (the workspace table is appended to Cargo.toml).
const TEMPLATES: &[Template] = &[
    template!(
        "Cargo.toml",
        Condition::Always,
        IfExists::Refuse,
        "shared/Cargo.toml.template"
    ),
    template!(
        "Cargo.toml",
        Condition::OwnWorkspace,
        IfExists::Refuse,
        "shared/cargo_workspace.toml"
    ),
    template!(
        "pyproject.toml",
        Condition::Layout(Layout::Pure),
        IfExists::Refuse,
        "pure/pyproject.toml"
    ),
    template!(
        "pyproject.toml",
        Condition::Layout(Layout::Mixed),
        IfExists::Refuse,
        "mixed/pyproject.toml"
    ),
    template!(
        "src/lib.rs",
        Condition::Layout(Layout::Pure),
        IfExists::Refuse,
        "pure/src/lib.rs"
    ),
    template!(
        "src/lib.rs",
        Condition::Layout(Layout::Mixed),
        IfExists::Refuse,
        "mixed/src/lib.rs"
    ),
    template!(
        "python/{{module_name}}/__init__.py",
        Condition::Layout(Layout::Mixed),
        IfExists::Refuse,
        "mixed/python/__init__.py"
    ),
    template!(
        "python/{{module_name}}/_core.pyi",
        Condition::Layout(Layout::Mixed),
        IfExists::Refuse,
        "mixed/python/_core.pyi"
    ),
    template!(
        "python/{{module_name}}/py.typed",
        Condition::Layout(Layout::Mixed),
        IfExists::Refuse,
        "mixed/python/py.typed"
    ),
    template!(
        "tests/test_{{module_name}}.py",
        Condition::Always,
        IfExists::Refuse,
        "shared/tests/test_module.py.template"
    ),
    template!(
        "README.md",
        Condition::Always,
        IfExists::Keep,
        "shared/README.md"
    ),
    template!(
        ".gitignore",
        Condition::Always,
        IfExists::Keep,
        "shared/.gitignore.template"
    ),
];

/// The values the placeholders stand for.
struct Placeholders<'a> {
    name: &'a ProjectName,
}

impl Placeholders<'_> {
    fn value(&self, key: &str) -> Option<&str> {
        Some(match key {
            "crate_name" => self.name.crate_name(),
            "dist_name" => self.name.dist_name(),
            "module_name" => self.name.module_name(),
            "pyo3_version" => PYO3_VERSION,
            _ => return None,
        })
    }
}

/// Replaces every `{{key}}` in `text` in one pass, so a value is never itself expanded. An
/// unknown or unclosed placeholder is an error: it can only be a mistake in a template.
fn render(text: &str, placeholders: &Placeholders<'_>) -> anyhow::Result<String> {
    let mut rendered = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        rendered.push_str(&rest[..start]);
        let after_open = &rest[start + 2..];
        let Some(end) = after_open.find("}}") else {
            bail!("unclosed placeholder `{{{{` in a template");
        };
        let key = &after_open[..end];
        let Some(value) = placeholders.value(key) else {
            bail!("unknown placeholder `{{{{{key}}}}}` in a template");
        };
        rendered.push_str(value);
        rest = &after_open[end + 2..];
    }
    rendered.push_str(rest);
    Ok(rendered)
}

/// What the project looks like, decided before anything is written.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) layout: Layout,
    /// Append an empty `[workspace]` table to Cargo.toml.
    pub(crate) own_workspace: bool,
}

/// One file to write.
#[derive(Debug)]
pub(crate) struct PlannedFile {
    /// Relative to the project root, with `/` separators.
    pub(crate) relative_path: String,
    pub(crate) contents: String,
    pub(crate) if_exists: IfExists,
}

/// Every file of the project, rendered, before anything touches the disk.
#[derive(Debug)]
pub(crate) struct Plan {
    root: PathBuf,
    files: Vec<PlannedFile>,
}

/// Renders the templates for a project at `root`.
pub(crate) fn plan(root: &Path, name: &ProjectName, shape: Shape) -> anyhow::Result<Plan> {
    let placeholders = Placeholders { name };
    let mut files: Vec<PlannedFile> = Vec::new();
    for template in TEMPLATES {
        let wanted = match template.condition {
            Condition::Always => true,
            Condition::Layout(layout) => layout == shape.layout,
            Condition::OwnWorkspace => shape.own_workspace,
        };
        if !wanted {
            continue;
        }
        let rendered = || format!("failed to render template `templates/{}`", template.source);
        let relative_path = render(template.destination, &placeholders).with_context(rendered)?;
        let contents = render(template.text, &placeholders).with_context(rendered)?;
        match files
            .iter_mut()
            .find(|file| file.relative_path == relative_path)
        {
            Some(file) => file.contents.push_str(&contents),
            None => files.push(PlannedFile {
                relative_path,
                contents,
                if_exists: template.if_exists,
            }),
        }
    }
    Ok(Plan {
        root: root.to_owned(),
        files,
    })
}

/// What is already in the way of a plan.
#[derive(Debug, Default)]
pub(crate) struct Existing {
    /// Files that exist and that the project needs: writing must not start.
    pub(crate) refused: Vec<String>,
    /// Files that exist and are kept as they are.
    pub(crate) kept: Vec<String>,
    /// Paths that must be directories but are something else.
    pub(crate) not_directories: Vec<String>,
}

impl Existing {
    pub(crate) fn blocks(&self) -> bool {
        !self.refused.is_empty() || !self.not_directories.is_empty()
    }
}

impl Plan {
    pub(crate) fn files(&self) -> &[PlannedFile] {
        &self.files
    }

    /// Looks at every destination (and the directories above it) without changing anything.
    pub(crate) fn existing(&self) -> anyhow::Result<Existing> {
        let mut existing = Existing::default();
        for file in &self.files {
            let mut directory = String::new();
            let mut parents_are_directories = true;
            for component in parent_components(&file.relative_path) {
                if !directory.is_empty() {
                    directory.push('/');
                }
                directory.push_str(component);
                let is_directory = match lookup(&self.root.join(&directory))? {
                    Some(metadata) => metadata.is_dir(),
                    None => true,
                };
                if !is_directory {
                    parents_are_directories = false;
                    if !existing.not_directories.contains(&directory) {
                        existing.not_directories.push(directory.clone());
                    }
                    break;
                }
            }
            if !parents_are_directories {
                continue;
            }
            // Any kind of entry counts, a dangling symlink too: `create_new` would fail on it.
            if lookup(&self.root.join(&file.relative_path))?.is_some() {
                match file.if_exists {
                    IfExists::Refuse => existing.refused.push(file.relative_path.clone()),
                    IfExists::Keep => existing.kept.push(file.relative_path.clone()),
                }
            }
        }
        Ok(existing)
    }

    /// Writes every file except those in `kept`, creating directories as needed. If anything
    /// fails, the files and directories this call created are removed again.
    pub(crate) fn write(&self, kept: &[String]) -> anyhow::Result<Vec<String>> {
        let mut created = Created::default();
        let result = self.write_files(kept, &mut created);
        match result {
            Ok(()) => Ok(created.relative_files),
            Err(error) => {
                created.undo();
                Err(error)
            }
        }
    }

    fn write_files(&self, kept: &[String], created: &mut Created) -> anyhow::Result<()> {
        for file in &self.files {
            if kept.contains(&file.relative_path) {
                continue;
            }
            let path = self.root.join(&file.relative_path);
            if let Some(parent) = path.parent() {
                create_directories(parent, created)?;
            }
            let mut handle = match fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(handle) => handle,
                Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => {
                    return Err(crate::failure::user_error(
                        format!(
                            "refusing to overwrite `{}`, which appeared while the project was \
                             being written",
                            path.display()
                        ),
                        "run the command again: nothing was left behind",
                    ));
                }
                Err(error) => {
                    return Err(error)
                        .with_context(|| format!("failed to create `{}`", path.display()));
                }
            };
            created.files.push(path.clone());
            created.relative_files.push(file.relative_path.clone());
            handle
                .write_all(file.contents.as_bytes())
                .and_then(|()| handle.flush())
                .with_context(|| format!("failed to write `{}`", path.display()))?;
        }
        Ok(())
    }
}

/// What one `write` created, so a failure can take it back.
#[derive(Debug, Default)]
struct Created {
    files: Vec<PathBuf>,
    relative_files: Vec<String>,
    /// In creation order: parents before children.
    directories: Vec<PathBuf>,
}

impl Created {
    fn undo(self) {
        for file in self.files.iter().rev() {
            if let Err(error) = fs_err::remove_file(file) {
                output::warning(format!(
                    "could not remove a file created before the error: {error}"
                ));
            }
        }
        for directory in self.directories.iter().rev() {
            if let Err(error) = fs_err::remove_dir(directory) {
                output::warning(format!(
                    "could not remove a directory created before the error: {error}"
                ));
            }
        }
    }
}

/// Creates `directory` and any missing parents one by one, recording each one it made.
fn create_directories(directory: &Path, created: &mut Created) -> anyhow::Result<()> {
    let mut missing = Vec::new();
    for ancestor in directory.ancestors() {
        if ancestor.as_os_str().is_empty() || lookup(ancestor)?.is_some() {
            break;
        }
        missing.push(ancestor);
    }
    for directory in missing.into_iter().rev() {
        fs_err::create_dir(directory)
            .with_context(|| format!("failed to create directory `{}`", directory.display()))?;
        created.directories.push(directory.to_owned());
    }
    Ok(())
}

/// The directories above a relative file path: `a/b/c.txt` → `a`, `b`.
fn parent_components(relative_path: &str) -> impl Iterator<Item = &str> {
    let mut parts: Vec<&str> = relative_path.split('/').collect();
    parts.pop();
    parts.into_iter()
}

/// The metadata of `path` itself (a symlink is not followed), `None` when nothing is there.
pub(crate) fn lookup(path: &Path) -> anyhow::Result<Option<std::fs::Metadata>> {
    match fs_err::symlink_metadata(path) {
        Ok(metadata) => Ok(Some(metadata)),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(error).with_context(|| format!("failed to inspect `{}`", path.display())),
    }
}

/// The absolute path of a destination that may not exist yet: the part that exists is
/// canonicalized (symlinks resolved), the rest appended as given. A `..` in the missing part is
/// refused, because creating it would leave a stray directory behind.
pub(crate) fn resolve_destination(path: &Path) -> anyhow::Result<PathBuf> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("failed to make `{}` absolute", path.display()))?;
    // The longest prefix that exists; everything after it is created later.
    let components: Vec<Component<'_>> = absolute.components().collect();
    let mut existing = PathBuf::new();
    let mut existing_count = 0;
    for component in &components {
        let candidate = existing.join(component);
        if lookup(&candidate)?.is_none() {
            break;
        }
        existing = candidate;
        existing_count += 1;
    }
    let missing = &components[existing_count..];
    if missing.contains(&Component::ParentDir) {
        return Err(crate::failure::user_error(
            format!(
                "`{}` goes through `..` below a directory that does not exist",
                path.display()
            ),
            "give the path without `..`",
        ));
    }
    let mut resolved = fs_err::canonicalize(&existing)
        .with_context(|| format!("failed to resolve `{}`", existing.display()))?;
    resolved.extend(missing);
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> ProjectName {
        ProjectName::parse(text).unwrap()
    }

    fn plan_for(layout: Layout, own_workspace: bool) -> Plan {
        let shape = Shape {
            layout,
            own_workspace,
        };
        plan(Path::new("/nowhere/my-pkg"), &name("my-pkg"), shape).unwrap()
    }

    fn file<'a>(plan: &'a Plan, relative_path: &str) -> &'a str {
        &plan
            .files()
            .iter()
            .find(|file| file.relative_path == relative_path)
            .unwrap_or_else(|| panic!("{relative_path} is not planned"))
            .contents
    }

    fn destinations(plan: &Plan) -> Vec<&str> {
        plan.files()
            .iter()
            .map(|file| file.relative_path.as_str())
            .collect()
    }

    #[test]
    fn render_substitutes_once() {
        let project = name("my-pkg");
        let placeholders = Placeholders { name: &project };
        let rendered = render(
            "{{crate_name}} {{dist_name}} {{module_name}} pyo3 {{pyo3_version}}",
            &placeholders,
        )
        .unwrap();
        assert_eq!(rendered, "my-pkg my-pkg my_pkg pyo3 0.29");
        assert_eq!(
            render("no placeholders", &placeholders).unwrap(),
            "no placeholders"
        );
    }

    #[test]
    fn render_rejects_unknown_and_unclosed_placeholders() {
        let project = name("my-pkg");
        let placeholders = Placeholders { name: &project };
        let unknown = render("{{nope}}", &placeholders).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "unknown placeholder `{{nope}}` in a template"
        );
        assert!(render("{{module_name", &placeholders).is_err());
    }

    #[test]
    fn pure_layout_files() {
        let plan = plan_for(Layout::Pure, false);
        assert_eq!(
            destinations(&plan),
            [
                "Cargo.toml",
                "pyproject.toml",
                "src/lib.rs",
                "tests/test_my_pkg.py",
                "README.md",
                ".gitignore"
            ]
        );
        assert!(file(&plan, "src/lib.rs").contains("fn my_pkg(module: &Bound<'_, PyModule>)"));
    }

    #[test]
    fn mixed_layout_files() {
        let plan = plan_for(Layout::Mixed, false);
        assert_eq!(
            destinations(&plan),
            [
                "Cargo.toml",
                "pyproject.toml",
                "src/lib.rs",
                "python/my_pkg/__init__.py",
                "python/my_pkg/_core.pyi",
                "python/my_pkg/py.typed",
                "tests/test_my_pkg.py",
                "README.md",
                ".gitignore"
            ]
        );
        assert!(file(&plan, "src/lib.rs").contains("fn _core(module: &Bound<'_, PyModule>)"));
        assert!(file(&plan, "python/my_pkg/__init__.py").contains("from ._core import"));
    }

    #[test]
    fn every_template_renders_completely() {
        for layout in [Layout::Pure, Layout::Mixed] {
            for file in plan_for(layout, true).files() {
                assert!(!file.contents.contains("{{"), "{}", file.relative_path);
                assert!(!file.contents.contains("}}"), "{}", file.relative_path);
            }
        }
    }

    #[test]
    fn manifests_agree_on_the_module_name() {
        for layout in [Layout::Pure, Layout::Mixed] {
            let plan = plan_for(layout, false);
            let cargo: toml_edit::DocumentMut = file(&plan, "Cargo.toml").parse().unwrap();
            assert_eq!(cargo["package"]["name"].as_str(), Some("my-pkg"));
            assert_eq!(cargo["lib"]["name"].as_str(), Some("my_pkg"));
            assert_eq!(cargo["dependencies"]["pyo3"].as_str(), Some(PYO3_VERSION));
            assert!(cargo.get("workspace").is_none());
            let pyproject: toml_edit::DocumentMut = file(&plan, "pyproject.toml").parse().unwrap();
            assert_eq!(pyproject["project"]["name"].as_str(), Some("my-pkg"));
            let module_name = pyproject["tool"]["maturin"]
                .get("module-name")
                .and_then(|item| item.as_str());
            match layout {
                Layout::Pure => assert_eq!(module_name, None),
                Layout::Mixed => assert_eq!(module_name, Some("my_pkg._core")),
            }
            let cache_keys = pyproject["tool"]["uv"]["cache-keys"].as_array().unwrap();
            assert_eq!(cache_keys.len(), 4);
        }
    }

    #[test]
    fn own_workspace_appends_an_empty_workspace_table() {
        let plan = plan_for(Layout::Pure, true);
        let cargo: toml_edit::DocumentMut = file(&plan, "Cargo.toml").parse().unwrap();
        let workspace = cargo["workspace"].as_table().unwrap();
        assert!(workspace.is_empty());
        assert_eq!(cargo["lib"]["name"].as_str(), Some("my_pkg"));
    }

    #[test]
    fn every_template_file_is_in_the_table() {
        let templates = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk = Vec::new();
        let mut pending = vec![templates.clone()];
        while let Some(directory) = pending.pop() {
            for entry in fs_err::read_dir(&directory).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    pending.push(path);
                } else {
                    let relative = path.strip_prefix(&templates).unwrap();
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.retain(|source| source != "README.md");
        on_disk.sort();
        let mut in_table: Vec<String> = TEMPLATES
            .iter()
            .map(|template| template.source.to_owned())
            .collect();
        in_table.sort();
        assert_eq!(on_disk, in_table);
    }

    #[test]
    fn parent_components_of_nested_paths() {
        assert_eq!(
            parent_components("python/pkg/__init__.py").collect::<Vec<_>>(),
            ["python", "pkg"]
        );
        assert_eq!(parent_components("Cargo.toml").count(), 0);
    }
}
