//! Replays every committed fuzz input (`fuzz/corpus/<target>/*` and `fuzz/artifacts/<target>/*`)
//! through its target function, so the crashes the fuzzer found stay fixed without nightly.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = rd
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn every_corpus_and_artifact_file_replays() {
    let mut total = 0;
    for (name, run) in netmine_fuzz::TARGETS {
        let corpus = files(&root().join("corpus").join(name));
        assert!(!corpus.is_empty(), "fuzz/corpus/{name} has no seeds");
        for path in corpus
            .into_iter()
            .chain(files(&root().join("artifacts").join(name)))
        {
            let data = std::fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(outcome.is_ok(), "{name}: {} panics", path.display());
            total += 1;
        }
    }
    println!("replayed {total} inputs");
}

#[test]
fn every_target_has_a_fuzz_target_file_and_no_other_exists() {
    let dir = root().join("fuzz_targets");
    let mut on_disk: Vec<String> = files(&dir)
        .iter()
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    on_disk.sort();
    let mut names: Vec<String> = netmine_fuzz::TARGETS
        .iter()
        .map(|(n, _)| n.to_string())
        .collect();
    names.sort();
    assert_eq!(on_disk, names);
    for name in &names {
        let src = std::fs::read_to_string(dir.join(format!("{name}.rs"))).unwrap();
        assert!(
            src.contains(&format!("netmine_fuzz::{name}(data)")),
            "fuzz_targets/{name}.rs does not call netmine_fuzz::{name}"
        );
    }
}
