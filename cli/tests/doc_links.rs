//! Every relative link of `README.md` and `docs/**/*.md` points at a file or folder that exists,
//! and a `#anchor` into a Markdown page names one of its headings (web links are not followed).

use netmine_cli::reference::anchor;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `dir`'s Markdown files, recursively.
fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

/// The targets of `[text](target)` and `![alt](target)` links and of `[label]: target`
/// definitions, with their line numbers; fenced code blocks and inline code are skipped.
fn links(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let mut fenced = false;
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix('[') {
            if let Some((_, target)) = rest.split_once("]: ") {
                found.push((n, target.trim().to_string()));
                continue;
            }
        }
        // Inline code spans (`…`) hold commands, not links.
        let prose: String = line
            .split('`')
            .enumerate()
            .filter(|(k, _)| k % 2 == 0)
            .map(|(_, s)| s)
            .collect::<Vec<_>>()
            .join(" ");
        let mut rest = prose.as_str();
        while let Some(at) = rest.find("](") {
            rest = &rest[at + 2..];
            let Some(end) = rest.find(')') else { break };
            found.push((n, rest[..end].to_string()));
            rest = &rest[end + 1..];
        }
    }
    found
}

/// The file a link target names and its anchor, or `None` for web links and anchors within the
/// page.
fn local_target(target: &str) -> Option<(&str, Option<&str>)> {
    let target = target.trim().trim_start_matches('<');
    let target = target.split_whitespace().next()?; // drops a "title"
    let target = target.trim_end_matches('>');
    if target.starts_with('#') || target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    (!path.is_empty()).then_some((path, anchor))
}

/// The anchors GitHub gives a page's headings (a repeated heading's get `-1`, `-2`, …).
fn anchors(text: &str) -> HashSet<String> {
    let mut found = HashSet::new();
    let mut fenced = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced || !line.starts_with('#') {
            continue;
        }
        let base = anchor(line.trim_start_matches('#').trim());
        let mut name = base.clone();
        let mut n = 0;
        while !found.insert(name.clone()) {
            n += 1;
            name = format!("{base}-{n}");
        }
    }
    found
}

#[test]
fn every_relative_link_of_the_docs_exists() {
    let root = root();
    let mut files = vec![root.join("README.md")];
    markdown_files(&root.join("docs"), &mut files);
    files.sort();
    let mut broken = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let dir = file.parent().unwrap();
        let shown = file.strip_prefix(&root).unwrap_or(file).display();
        for (line, target) in links(&text) {
            let Some((path, anchor)) = local_target(&target) else {
                continue;
            };
            let linked = dir.join(path);
            if !linked.exists() {
                broken.push(format!("{shown}:{line}: {target}: no such file"));
                continue;
            }
            let Some(anchor) = anchor else { continue };
            if linked.extension().is_some_and(|e| e == "md") {
                let page = std::fs::read_to_string(&linked).unwrap();
                if !anchors(&page).contains(anchor) {
                    broken.push(format!(
                        "{shown}:{line}: {target}: no heading for #{anchor}"
                    ));
                }
            }
        }
    }
    assert!(
        broken.is_empty(),
        "broken links in the docs:\n{}",
        broken.join("\n")
    );
    assert!(files.len() > 1, "no docs/ pages found");
}

#[test]
fn the_link_reader_finds_links_and_skips_code() {
    let text = "See [a](docs/a.md#x) and ![img](b.png \"title\").\n\
                `[not](code.md)`\n\
                ```\n[not](fenced.md)\n```\n\
                [def]: c.md\n\
                [web](https://example.invalid) [here](#anchor)\n";
    let targets: Vec<_> = links(text)
        .into_iter()
        .filter_map(|(n, t)| local_target(&t).map(|(p, a)| (n, p.to_string(), a.map(String::from))))
        .collect();
    assert_eq!(
        targets,
        [
            (1, "docs/a.md".to_string(), Some("x".to_string())),
            (1, "b.png".to_string(), None),
            (6, "c.md".to_string(), None)
        ]
    );
}

#[test]
fn headings_become_githubs_anchors() {
    let page = "# `netminer` (mining)\n## Backends: CPU and OpenCL\n```\n# not a heading\n```\n## Notes\n## Notes\n";
    let mut got: Vec<_> = anchors(page).into_iter().collect();
    got.sort();
    assert_eq!(
        got,
        [
            "backends-cpu-and-opencl",
            "netminer-mining",
            "notes",
            "notes-1"
        ]
    );
}
