//! # netmine-fuzz
//!
//! One plain function per parser that reads input from outside the process, each feeding the
//! bytes to the real parser and checking what is cheap to check (a decoded value re-encodes and
//! decodes to itself, an accepted frame is the one that was sealed, …). None of them may panic on
//! any input.
//!
//! The cargo-fuzz targets in `fuzz/` (nightly) each call one of these, and `tests/replay.rs`
//! replays every file of `fuzz/corpus/<name>/` and `fuzz/artifacts/<name>/` through the
//! function of the same name in the plain `cargo test`, so whatever the fuzzer found stays fixed.

use factom::entry::{hash_marshalled, ksize, Entry, MAX_PAYLOAD};
use factom::rpc::Response;
use factom::transport::{decode_response, ClientError};
use factom::types::*;
use pegnet::validate::winners_format_ok;
use pegnet::{Grader, Pow, V1Content, V2Content};
use protocol::{
    decode_plain, encode_plain, CoordinatorHandshake, HandshakeError, Message, MinerHandshake,
    MinerHello, Secret, Session, MAX_FRAME,
};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fmt::Debug;

/// One fuzz target: feeds arbitrary bytes to a parser and checks what must hold.
pub type Target = fn(&[u8]);

/// Every target, by name: what the replay test and `.ci/run` iterate over.
pub const TARGETS: &[(&str, Target)] = &[
    ("frame", frame),
    ("coordinator_handshake", coordinator_handshake),
    ("miner_handshake", miner_handshake),
    ("session", session),
    ("opr_v1", opr_v1),
    ("opr_v2", opr_v2),
    ("grader", grader),
    ("entry", entry),
    ("factomd_response", factomd_response),
    ("price_source", price_source),
    ("coordinator_config", coordinator_config),
    ("miner_config", miner_config),
    ("address", address),
    ("entry_block", entry_block),
    ("outside_text", outside_text),
];

const SECRET: &str = "fuzz farm secret";
const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// Splits at the first 0xFF, a byte that never occurs in UTF-8 text: two frames in one input.
fn split(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == 0xff) {
        Some(k) => (&data[..k], &data[k + 1..]),
        None => (data, &[]),
    }
}

/// A real handshake between a coordinator and a miner: their two sessions.
fn connect(secret: &Secret, identity: &str, coinbase: &str) -> (Session, Session) {
    let (c, challenge) = CoordinatorHandshake::start(secret);
    let (pending, auth) = MinerHandshake::new(secret, identity, coinbase)
        .respond(&challenge)
        .expect("a miner answers a real challenge");
    let (cs, hello, welcome) = c.finish(&auth).expect("a real auth is accepted");
    assert_eq!(
        hello,
        MinerHello {
            identity: identity.to_string(),
            coinbase: coinbase.to_string(),
        }
    );
    let ms = pending
        .finish(&welcome)
        .expect("a real welcome is accepted");
    (cs, ms)
}

/// A handshake frame (`{"msg":{…}}`): a decoded message re-encodes and decodes to itself.
pub fn frame(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let Ok(msg) = decode_plain(s) else { return };
    assert!(s.len() <= MAX_FRAME, "an oversized frame was read");
    let again = encode_plain(&msg);
    // Re-encoding may grow a frame (`1` becomes `1.0`), past the limit.
    if again.len() <= MAX_FRAME {
        assert_eq!(decode_plain(&again).expect("our own frame decodes"), msg);
    }
}

/// The coordinator's side of the handshake, reading the miner's `auth` frame.
pub fn coordinator_handshake(data: &[u8]) {
    let Some(s) = text(data) else { return };
    let secret = Secret::new(SECRET);
    let (c, _challenge) = CoordinatorHandshake::start(&secret);
    // The MAC must cover the coordinator's fresh random challenge: no fixed input can pass.
    assert!(
        c.finish(s).is_err(),
        "an auth frame made without the challenge was accepted"
    );
    // The same names through a real exchange: the handshake works for whatever names parse.
    // (Names that leave no room in the frame for a real challenge and MAC are refused as too
    // large, rightly: skip those.)
    if let Ok(Message::Auth {
        identity, coinbase, ..
    }) = decode_plain(s)
    {
        let quoted = |t: &str| serde_json::to_string(t).unwrap().len();
        if quoted(&identity) + quoted(&coinbase) > MAX_FRAME - 1024 {
            return;
        }
        let (mut cs, mut ms) = connect(&secret, &identity, &coinbase);
        let ping = Message::Ping { nonce: 7 };
        assert_eq!(ms.open(&cs.seal(&ping).unwrap()).unwrap(), ping);
        assert_eq!(cs.open(&ms.seal(&ping).unwrap()).unwrap(), ping);
    }
}

/// The miner's side of the handshake: the coordinator's challenge frame, then (after a 0xFF byte)
/// its welcome or rejection.
pub fn miner_handshake(data: &[u8]) {
    let (first, second) = split(data);
    let (Some(challenge), Some(welcome)) = (text(first), text(second)) else {
        return;
    };
    let secret = Secret::new(SECRET);
    let m = MinerHandshake::new(&secret, "rig01", FA);
    match m.respond(challenge) {
        Ok((pending, auth)) => {
            match decode_plain(challenge) {
                Ok(Message::Challenge { version, challenge }) => {
                    let known = protocol::auth::version::OLDEST..=protocol::auth::version::NEWEST;
                    assert!(known.contains(&version), "answered version {version}");
                    assert_eq!(challenge.0.len(), 32);
                }
                other => panic!("answered {other:?}"),
            }
            let Ok(Message::Auth {
                identity, coinbase, ..
            }) = decode_plain(&auth)
            else {
                panic!("the miner's answer is not an auth frame: {auth}")
            };
            assert_eq!((identity.as_str(), coinbase.as_str()), ("rig01", FA));
            // The welcome's MAC must cover the miner's fresh random challenge.
            assert!(
                pending.finish(welcome).is_err(),
                "a welcome made without the miner's challenge was accepted"
            );
        }
        Err(HandshakeError::Rejected { code, reason }) => {
            assert_eq!(
                decode_plain(challenge).ok(),
                Some(Message::Rejected { code, reason })
            );
        }
        Err(HandshakeError::Protocol(_) | HandshakeError::Unproven) => {}
    }
}

/// Authenticated frames. Raw input is refused by both ends of a real session (no key can be
/// guessed); and a sealed frame altered at one byte (input: 2 bytes of position, the new byte,
/// then a handshake frame whose message is sealed) is refused or reads as the sealed message.
pub fn session(data: &[u8]) {
    let secret = Secret::new(SECRET);
    let (mut c, mut m) = connect(&secret, "rig01", FA);
    if let Some(s) = text(data) {
        assert!(c.open(s).is_err(), "a forged frame was accepted");
        assert!(m.open(s).is_err(), "a forged frame was accepted");
    }
    let [hi, lo, byte, rest @ ..] = data else {
        return;
    };
    let Some(msg) = text(rest).and_then(|s| decode_plain(s).ok()) else {
        return;
    };
    let Ok(sealed) = c.seal(&msg) else { return };
    let mut altered = sealed.clone().into_bytes();
    let pos = usize::from(u16::from_be_bytes([*hi, *lo])) % altered.len();
    altered[pos] = *byte;
    let Ok(altered) = String::from_utf8(altered) else {
        return;
    };
    match m.open(&altered) {
        Ok(got) => {
            assert_eq!(got, msg, "an altered frame read as another message");
            // The sequence number moved on: the same frame again is a replay.
            assert!(m.open(&altered).is_err(), "a replayed frame was accepted");
            assert!(m.open(&sealed).is_err(), "a replayed frame was accepted");
        }
        Err(_) => assert_eq!(m.open(&sealed).expect("the sealed frame opens"), msg),
    }
}

/// A record's ExtIDs: a nonce, a difficulty and the version.
fn ext_ids(version: u8) -> Vec<Vec<u8>> {
    vec![vec![1, 2, 3], 42u64.to_be_bytes().to_vec(), vec![version]]
}

/// V1 JSON content: what parses re-encodes as Go wrote it and parses back the same, and its
/// validation agrees with the parsed fields.
pub fn opr_v1(data: &[u8]) {
    let Ok(c) = V1Content::parse(data) else {
        return;
    };
    if let Ok(bytes) = c.encode() {
        let back = V1Content::parse(&bytes).expect("our own encoding parses");
        let mut want = c.clone();
        want.assets
            .retain(|k, _| pegnet::assets::V1.contains(&k.as_str()));
        assert_eq!(back, want);
        assert_eq!(back.encode().unwrap(), bytes, "encoding is stable");
    }
    let prev = if winners_format_ok(&c.winners, 10) {
        c.winners.clone()
    } else {
        Vec::new()
    };
    let height = u32::try_from(c.dbht).unwrap_or(0);
    let grader = Grader::new(1, height, &prev).expect("ten winners fit V1");
    if let Ok(r) = grader.validate(&[0; 32], &ext_ids(1), data) {
        assert_eq!(
            r.prices,
            c.prices().expect("a valid record has every asset")
        );
        assert!(r.prices[1..].iter().all(|p| *p != 0.0));
        assert_eq!((r.coinbase, r.identity), (c.coinbase, c.minerid));
    }
}

/// V2+ protobuf content: what decodes re-encodes canonically and decodes to the same value; its
/// validation under versions 2 to 5 agrees with the decoded fields.
pub fn opr_v2(data: &[u8]) {
    let Ok(c) = V2Content::parse(data) else {
        return;
    };
    let bytes = c.encode();
    if bytes.is_empty() {
        assert_eq!(c, V2Content::default());
    } else {
        assert_eq!(V2Content::parse(&bytes).as_ref(), Ok(&c));
    }
    let winners: Vec<String> = c.winners.iter().map(hex::encode).collect();
    let height = u32::try_from(c.height).unwrap_or(0);
    for version in 2..=5 {
        let grader = Grader::new(version, height, &winners)
            .or_else(|_| Grader::new(version, height, &[]))
            .expect("no previous winners fit every version");
        if let Ok(r) = grader.validate(&[0; 32], &ext_ids(version), data) {
            assert_eq!(r.prices.len(), pegnet::assets::for_version(version).len());
            assert!(pegnet::validate::valid_identity(&c.id));
            assert!(pegnet::validate::valid_coinbase(&c.address));
            assert_eq!(r.identity.as_bytes(), c.id.as_slice());
        }
    }
}

/// Proof of work for fuzzing: a nonce's last 8 bytes are its difficulty, so inputs choose which
/// records are honest.
struct NoncePow;

impl Pow for NoncePow {
    fn difficulty(&self, _opr_hash: &[u8; 32], nonce: &[u8]) -> u64 {
        match nonce.len().checked_sub(8) {
            Some(k) => u64::from_be_bytes(nonce[k..].try_into().unwrap()),
            None => 0,
        }
    }
}

/// A block of OPR entries, validated and graded. Input: version byte, algorithm byte, height
/// (4 bytes, big-endian), the number of previous winners and their 8-byte short hashes, then
/// entries, each a 2-byte big-endian length and a marshalled Factom entry.
pub fn grader(data: &[u8]) {
    let [v, a, h0, h1, h2, h3, n, rest @ ..] = data else {
        return;
    };
    let version = v % 5 + 1;
    let algorithm = a % 5 + 1;
    let height = u32::from_be_bytes([*h0, *h1, *h2, *h3]) & 0x7fff_ffff;
    let Some((prev, mut rest)) = rest.split_at_checked(usize::from(*n) * 8) else {
        return;
    };
    let prev: Vec<String> = prev.chunks(8).map(hex::encode).collect();
    let Ok(grader) = Grader::new(version, height, &prev) else {
        return;
    };
    let Ok(mut grader) = grader.with_algorithm(algorithm) else {
        return;
    };
    while let [l0, l1, tail @ ..] = rest {
        let len = usize::from(u16::from_be_bytes([*l0, *l1])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        if let Ok(e) = Entry::unmarshal(bytes) {
            let _ = grader.add(&hash_marshalled(bytes), &e.ext_ids, &e.content);
        }
    }
    let valid = grader.valid().len();
    let block = grader.grade(&NoncePow);
    assert_eq!(block.valid, valid);
    assert!(block.graded.len() <= pegnet::grade::GRADED_SET.min(valid));
    let need = pegnet::grade::winner_count(algorithm);
    assert_eq!(block.has_winners, block.graded.len() >= need);
    if block.has_winners {
        let firsts: Vec<String> = block.graded[..need]
            .iter()
            .map(|r| r.short_hash())
            .collect();
        assert_eq!(block.winners, firsts);
    } else if !prev.is_empty() {
        assert_eq!(block.winners, prev);
    }
    for r in &block.graded {
        assert_eq!(NoncePow.difficulty(&r.opr_hash, &r.nonce), r.srd);
    }
}

/// A marshalled Factom entry: what unmarshals marshals back to the same bytes (or is over the
/// size limit), with a consistent hash and cost.
pub fn entry(data: &[u8]) {
    let Ok(e) = Entry::unmarshal(data) else {
        return;
    };
    match e.marshal() {
        Ok(m) => {
            assert_eq!(m, data, "unmarshal then marshal changed the bytes");
            assert_eq!(e.hash().unwrap(), hash_marshalled(data));
            let cost = usize::from(e.cost().unwrap());
            assert!((1..=10).contains(&cost));
            assert!(ksize(data.len()) <= cost);
        }
        Err(_) => assert!(e.payload_len() > MAX_PAYLOAD),
    }
}

/// Decodes a response body as `R`; what decodes re-encodes as a node would and decodes the same.
fn decode_as<R>(status: u16, body: &[u8])
where
    R: DeserializeOwned + Serialize + PartialEq + Debug,
{
    const URL: &str = "http://fuzz.invalid/v2";
    match decode_response::<R>(URL, "fuzz", status, body) {
        Ok(r) => {
            let again = Response::ok(1.into(), serde_json::to_value(&r).unwrap());
            let again = serde_json::to_vec(&again).unwrap();
            let back: R = decode_response(URL, "fuzz", 200, &again).expect("our own answer");
            assert_eq!(back, r);
        }
        Err(e @ ClientError::Transport { .. }) => {
            assert!((500..600).contains(&status), "{e}");
            assert!(serde_json::from_slice::<Response>(body).is_err(), "{e}");
        }
        Err(ClientError::Rpc { error, .. }) => {
            let parsed: Response = serde_json::from_slice(body).expect("an RPC error was read");
            let sent = parsed.error.expect("an RPC error was sent");
            // The node's texts come back sanitized: short, without control characters.
            assert_eq!(error.code, sent.code);
            assert_eq!(error.message, protocol::text::sanitize(&sent.message));
            let shown = error.describe();
            assert!(shown.len() < 500, "{shown}");
            assert!(!shown.chars().any(char::is_control), "{shown:?}");
        }
        Err(_) => {}
    }
}

/// A factomd JSON-RPC answer. The first byte picks the HTTP status and the result type the client
/// asks for; the rest is the body.
pub fn factomd_response(data: &[u8]) {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let status = [200, 400, 500][usize::from(pick / 16) % 3];
    match pick % 16 {
        0 => decode_as::<CurrentMinute>(status, body),
        1 => decode_as::<Heights>(status, body),
        2 => decode_as::<Balance>(status, body),
        3 => decode_as::<CommitResult>(status, body),
        4 => decode_as::<RevealResult>(status, body),
        5 => decode_as::<ChainHead>(status, body),
        6 => decode_as::<EntryBlock>(status, body),
        7 => decode_as::<EntryResult>(status, body),
        8 => decode_as::<DBlockByHeight>(status, body),
        _ => decode_as::<serde_json::Value>(status, body),
    }
}

/// A price source's answer. The first byte picks the source (in `prices::sources::KINDS` order;
/// `Fixed` reads a price file); the rest is the body. A source only returns assets it prices.
pub fn price_source(data: &[u8]) {
    use prices::sources::{self, fixed, KINDS};
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let kind = &KINDS[usize::from(pick) % KINDS.len()];
    if kind.name == "Fixed" {
        if let Some(t) = text(body) {
            let _ = fixed::parse(t, "fuzz");
        }
        return;
    }
    let source = sources::build(kind.name, None, Some("fuzz-key".into()), None)
        .expect("every HTTP source builds");
    if let Ok(quotes) = source.parse(body) {
        for asset in quotes.keys() {
            assert!(
                source.supports(asset),
                "{} returned {asset}, which it does not price",
                kind.name
            );
        }
    }
}

/// The example price file, which every `Fixed` source of a fuzzed config reads instead of the
/// file the input names (a fuzzer must not read arbitrary files, `/dev/zero` for one).
const PRICE_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/devnet-prices.toml");

/// The coordinator's TOML config, parsed and checked as the daemon does at start.
pub fn coordinator_config(data: &[u8]) {
    use prices::config::SourceEntry;
    let Some(t) = text(data) else { return };
    let Ok(mut c) = toml::from_str::<coordinator::config::CoordinatorConfig>(t) else {
        return;
    };
    c.prices.resolve_files(std::path::Path::new("/fuzz"));
    for entry in c.prices.sources.values_mut() {
        if let SourceEntry::Settings(s) = entry {
            if s.file.is_some() {
                s.file = Some(PRICE_FILE.into());
            }
        }
    }
    let _ = c.listen_addr();
    let _ = c.validate();
}

/// The miner's TOML config, parsed, and its names checked as the miner does before mining.
pub fn miner_config(data: &[u8]) {
    let Some(t) = text(data) else { return };
    let Ok(f) = netminer::config::MinerFile::parse(t) else {
        return;
    };
    if let Some(id) = &f.identity {
        let _ = pegnet::validate::valid_identity(id.as_bytes());
        let _ = pegnet::record::check_identity_cost(id);
    }
    if let Some(cb) = &f.coinbase {
        let _ = pegnet::validate::valid_coinbase(cb.as_bytes());
    }
}

/// Factom address strings (`FA…`, `Fs…`, `EC…`, `Es…`): what decodes encodes back to the same
/// text (the typed parsers trim whitespace first), and an error never repeats a string that could
/// be a secret.
pub fn address(data: &[u8]) {
    use factom::address::{decode, encode};
    use factom::{EcAddress, EcSecret, FactoidAddress, FactoidSecret};
    let Some(s) = text(data) else { return };
    match decode(s) {
        Ok((kind, body)) => assert_eq!(encode(kind, &body), s),
        Err(e) => {
            if s.len() >= 40 && !s.starts_with("FA") && !s.starts_with("EC") {
                assert!(!e.to_string().contains(s), "an error shows {s:?}: {e}");
            }
        }
    }
    // The typed parsers trim surrounding whitespace (a value read from a file or the
    // environment), so they give back the trimmed text.
    let s = s.trim();
    if let Ok(a) = s.parse::<EcAddress>() {
        assert_eq!(a.to_string(), s);
    }
    if let Ok(a) = s.parse::<FactoidAddress>() {
        assert_eq!(a.to_string(), s);
    }
    if let Ok(k) = s.parse::<EcSecret>() {
        assert_eq!(k.to_secret_string(), s);
    }
    if let Ok(k) = s.parse::<FactoidSecret>() {
        assert_eq!(k.to_secret_string(), s);
    }
}

/// An entry block's binary form (what `raw-data` serves): what parses marshals back to the same
/// bytes, its key MR checks, and any other key MR, chain or height is a fault, never a panic.
pub fn entry_block(data: &[u8]) {
    use factom::check::check_entry_block;
    use factom::eblock::EBlock;
    let Ok(b) = EBlock::unmarshal(data) else {
        return;
    };
    assert_eq!(
        b.marshal(),
        data,
        "unmarshal then marshal changed the bytes"
    );
    let keymr = b.key_mr();
    let consistent = b.body_mr() == b.header_body_mr;
    let checked = check_entry_block(&keymr, &b.chain_id, b.db_height, data);
    assert_eq!(checked.is_ok(), consistent, "{checked:?}");
    let mut other = keymr;
    other[0] ^= 1;
    assert!(check_entry_block(&other, &b.chain_id, b.db_height, data).is_err());
    assert!(b.entry_hashes().count() <= b.body.len());
}

/// A text from outside (an error message, a name): sanitized, it is at most 200 bytes, holds no
/// control character, and sanitizing it again changes nothing.
pub fn outside_text(data: &[u8]) {
    use protocol::text::{sanitize, MAX_TEXT};
    let t = String::from_utf8_lossy(data);
    let s = sanitize(&t);
    assert!(s.len() <= MAX_TEXT, "{} bytes", s.len());
    assert!(!s.chars().any(char::is_control), "{s:?}");
    assert_eq!(sanitize(&s), s, "not idempotent");
}
