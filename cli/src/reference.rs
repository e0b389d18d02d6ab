//! The command-line reference in `docs/cli/<binary>.md`, generated from a binary's own `--help`.
//!
//! [`render`] runs `<binary> --help`, reads the subcommands from the `Commands:` section of the
//! help text, runs `<binary> <subcommand> --help` for each (recursively, so a new subcommand
//! appears without touching the generator) and writes every help text in a fenced block under a
//! `## <binary> <subcommand>` heading. [`check`] compares the result with the committed file and
//! panics, naming the first differing line, when they differ; with `NETMINE_BLESS=1` in the
//! environment it rewrites the file instead. Each binary's crate calls it from an integration
//! test (`tests/cli_reference.rs`), so a changed flag fails `cargo test` until the reference is
//! rewritten with
//!
//! ```text
//! NETMINE_BLESS=1 cargo test -p <crate> --test cli_reference
//! ```
//!
//! The rendering is the same on every machine: the binary runs with an empty environment (no
//! `NETMINE_SECRET` or other variable changing what help shows), `COLUMNS=100` and `NO_COLOR=1`,
//! and its stdout is a pipe, so clap neither wraps to the terminal nor colours the text.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The environment variable that makes [`check`] rewrite the file instead of comparing.
pub const BLESS_VAR: &str = "NETMINE_BLESS";

/// The width the help texts are wrapped at.
pub const COLUMNS: &str = "100";

/// One binary's reference: where the binary is and which crate's test checks it.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The binary's name as its help prints it (`netcoordinator`).
    pub name: String,
    /// The built binary (`env!("CARGO_BIN_EXE_<name>")` in an integration test).
    pub binary: PathBuf,
    /// The cargo package whose `cli_reference` test checks it (for the bless command).
    pub package: String,
}

impl Reference {
    /// The reference of `binary`, named `name`, checked by `package`'s `cli_reference` test.
    pub fn new(name: &str, binary: impl Into<PathBuf>, package: &str) -> Self {
        Self {
            name: name.to_string(),
            binary: binary.into(),
            package: package.to_string(),
        }
    }

    /// The command that rewrites the committed file.
    pub fn bless_command(&self) -> String {
        format!(
            "{BLESS_VAR}=1 cargo test -p {} --test cli_reference",
            self.package
        )
    }

    /// `<binary> <path…> --help`, as the reference shows it. Panics when the binary cannot run,
    /// fails, or prints colours.
    pub fn help(&self, path: &[String]) -> String {
        let mut cmd = Command::new(&self.binary);
        cmd.args(path).arg("--help").env_clear();
        // Only what running a binary may need; nothing here changes a help text.
        for keep in ["PATH", "LD_LIBRARY_PATH", "SYSTEMROOT", "LLVM_PROFILE_FILE"] {
            if let Some(v) = std::env::var_os(keep) {
                cmd.env(keep, v);
            }
        }
        cmd.env("COLUMNS", COLUMNS).env("NO_COLOR", "1");
        let shown = command_line(&self.name, path);
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("running `{shown} --help` ({:?}): {e}", self.binary));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "`{shown} --help` failed ({}):\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !stdout.contains('\u{1b}'),
            "`{shown} --help` printed terminal escape codes (colours) although its stdout is a pipe and NO_COLOR is set"
        );
        // Trailing spaces would make the Markdown depend on an editor's settings.
        let mut text: String = stdout
            .lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        while text.ends_with("\n\n") {
            text.pop();
        }
        text
    }

    /// The whole Markdown page: a header, a table of contents and one section per command.
    pub fn render(&self) -> String {
        let mut commands = Vec::new();
        self.collect(&mut Vec::new(), &mut commands);
        let mut md = format!("# `{}` command-line reference\n\n", self.name);
        md.push_str(&format!(
            "<!-- Generated from the binary's `--help` by the `cli_reference` test of the `{}` crate.\n     \
             Do not edit: after changing a flag, rewrite it with\n     {} -->\n\n",
            self.package,
            self.bless_command()
        ));
        let what = if commands.len() > 1 {
            " and of each of its subcommands"
        } else {
            ""
        };
        md.push_str(&format!(
            "Every flag of `{}`{what}, exactly as `--help` prints it. What the\n\
             program does is described in the [README](../../README.md) and the pages it links to.\n\n",
            self.name
        ));
        if commands.len() > 1 {
            for (path, _) in &commands {
                let line = command_line(&self.name, path);
                md.push_str(&format!("* [`{line}`](#{})\n", anchor(&line)));
            }
            md.push('\n');
        }
        for (path, help) in &commands {
            md.push_str(&format!(
                "## {}\n\n```text\n{help}```\n\n",
                command_line(&self.name, path)
            ));
        }
        md.pop();
        md
    }

    /// Appends `path`'s help and then each of its subcommands' (depth first, in help order).
    fn collect(&self, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        let help = self.help(path);
        let subs = subcommands(&help);
        out.push((path.clone(), help));
        for s in subs {
            path.push(s);
            self.collect(path, out);
            path.pop();
        }
    }

    /// Compares [`Reference::render`] with `file`; with `NETMINE_BLESS=1` writes it instead.
    /// Panics with the first differing line and the command that rewrites the file.
    pub fn check(&self, file: &Path) {
        let rendered = self.render();
        if std::env::var_os(BLESS_VAR).is_some_and(|v| !v.is_empty() && v != "0") {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir)
                    .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
            }
            std::fs::write(file, &rendered)
                .unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
            eprintln!("wrote {}", file.display());
            return;
        }
        let shown = file.canonicalize().unwrap_or_else(|_| file.to_path_buf());
        let Ok(committed) = std::fs::read_to_string(file) else {
            panic!(
                "{} is missing: create it with\n\n    {}\n\nand commit the result.",
                shown.display(),
                self.bless_command()
            );
        };
        if committed == rendered {
            return;
        }
        let (line, was, now) = first_difference(&committed, &rendered);
        panic!(
            "{} is stale: it no longer matches `{} --help` (first difference at line {line}:\n  \
             file:   {was}\n  binary: {now}\n).\nRewrite it with\n\n    {}\n\nand commit the result.",
            shown.display(),
            self.name,
            self.bless_command()
        );
    }
}

/// `netcoordinator relay`: the binary's name and the subcommand path.
fn command_line(name: &str, path: &[String]) -> String {
    std::iter::once(name)
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The subcommands a help text lists in its `Commands:` section, in order, without `help`.
///
/// clap lists each as a line indented by two spaces, the name first; lines of a wrapped
/// description are indented further and are skipped, and the next heading (a line that is not
/// indented) ends the section.
pub fn subcommands(help: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut in_section = false;
    for line in help.lines() {
        if !in_section {
            in_section = line.trim_end() == "Commands:";
            continue;
        }
        if line.trim().is_empty() {
            continue; // clap separates entries by blank lines when descriptions wrap below
        }
        if !line.starts_with(' ') {
            break; // the next heading (`Options:`)
        }
        let is_entry = line.starts_with("  ") && !line[2..].starts_with(char::is_whitespace);
        if !is_entry {
            continue;
        }
        if let Some(name) = line.split_whitespace().next() {
            let name = name.trim_end_matches(',');
            if name != "help" {
                names.push(name.to_string());
            }
        }
    }
    names
}

/// The anchor GitHub gives a heading: lower case, spaces as dashes, punctuation dropped.
pub fn anchor(heading: &str) -> String {
    heading
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The first line (1-based) where `a` and `b` differ, with both lines (`<end of file>` past one's
/// end).
fn first_difference<'a>(a: &'a str, b: &'a str) -> (usize, &'a str, &'a str) {
    const END: &str = "<end of file>";
    let mut la = a.lines();
    let mut lb = b.lines();
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (x, y) => return (n, x.unwrap_or(END), y.unwrap_or(END)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELP: &str = "\
The PegNet farm coordinator.

Usage: netcoordinator [OPTIONS] [COMMAND]

Commands:
  grade           Grade a block of OPR entries (JSON in the test-data shape) and print the result
                  as JSON
  check-config    Load and validate a config
  gen-secret      Print a fresh random shared secret
  help            Print this message or the help of the given subcommand(s)

Options:
  -v, --verbose...
          More log output
";

    #[test]
    fn subcommands_come_from_the_commands_section_without_help() {
        assert_eq!(
            subcommands(HELP),
            ["grade", "check-config", "gen-secret"].map(String::from)
        );
        assert!(subcommands("Usage: x [OPTIONS]\n\nOptions:\n  -h, --help\n").is_empty());
        // Descriptions on their own lines (clap's `next_line_help`).
        let next_line =
            "Commands:\n  table\n          Build the table\n\n  bench\n          Measure\n";
        assert_eq!(subcommands(next_line), ["table", "bench"].map(String::from));
    }

    #[test]
    fn anchors_are_githubs() {
        assert_eq!(
            anchor("netcoordinator check-config"),
            "netcoordinator-check-config"
        );
        assert_eq!(anchor("`netminer` (mining)"), "netminer-mining");
    }

    #[test]
    fn the_first_difference_is_named() {
        assert_eq!(first_difference("a\nb\nc\n", "a\nx\nc\n"), (2, "b", "x"));
        assert_eq!(first_difference("a\n", "a\nb\n"), (2, "<end of file>", "b"));
    }
}
