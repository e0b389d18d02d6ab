//! Helpers shared by the integration tests.
#![allow(dead_code)]

use hashcore::{Table, TableOptions};
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("testdata")
        .join(rel)
}

type TableList = std::sync::Mutex<Vec<(u32, Arc<Table>)>>;

pub fn small_table(bits: u32) -> Arc<Table> {
    static TABLES: OnceLock<TableList> = OnceLock::new();
    let m = TABLES.get_or_init(Default::default);
    let mut v = m.lock().unwrap();
    if let Some((_, t)) = v.iter().find(|(b, _)| *b == bits) {
        return t.clone();
    }
    let t = Arc::new(Table::generate(bits, &mut |_, _| {}).unwrap());
    v.push((bits, t.clone()));
    t
}

/// The real 30-bit table from `~/.lxrhash`, generated there first if missing (1 GiB, minutes).
/// Tests that call it are `#[ignore]`d with that reason, and run with `--include-ignored`.
pub fn full_table() -> Arc<Table> {
    static FULL: OnceLock<Arc<Table>> = OnceLock::new();
    FULL.get_or_init(|| {
        let (t, r) = hashcore::load_or_build(&TableOptions {
            bits: 30,
            dir: None,
            progress: None,
        })
        .expect("30-bit table");
        eprintln!("30-bit table {:?} in {:?}", r.origin, r.elapsed);
        t
    })
    .clone()
}

pub struct Vectors {
    pub tables: Vec<(u32, String)>,
    pub hashes: Vec<(u32, Vec<u8>, String)>,
}

pub fn vectors() -> Vectors {
    let text = std::fs::read_to_string(testdata("lxrhash/vectors.txt")).unwrap();
    let mut v = Vectors {
        tables: vec![],
        hashes: vec![],
    };
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let mut kind = "";
        let (mut bits, mut input, mut out) = (0u32, Vec::new(), String::new());
        for (k, field) in line.split_whitespace().enumerate() {
            if k == 0 {
                kind = field;
                continue;
            }
            let (key, val) = field.split_once('=').unwrap();
            match key {
                "bits" => bits = val.parse().unwrap(),
                "in" => input = hex::decode(val).unwrap(),
                "sha256" | "hash" => out = val.to_string(),
                other => panic!("unknown field {other}"),
            }
        }
        match kind {
            "TABLE" => v.tables.push((bits, out)),
            "VEC" => v.hashes.push((bits, input, out)),
            other => panic!("unknown line kind {other}"),
        }
    }
    v
}
