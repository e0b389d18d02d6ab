//! Mutual authentication and frame integrity.

use protocol::{
    decode_plain, ConnectionRefusal, CoordinatorHandshake, Difficulty, HandshakeError, HexBytes,
    Message, MinerHandshake, ProtocolError, Secret, Session, SubmittedRecord, MAX_FRAME,
};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";

fn connect(coord: &Secret, miner: &Secret) -> Result<(Session, Session), String> {
    let (c, challenge) = CoordinatorHandshake::start(coord);
    let m = MinerHandshake::new(miner, "rig01", FA);
    let (pending, auth) = m.respond(&challenge).map_err(|e| e.to_string())?;
    let (cs, hello, welcome) = c.finish(&auth).map_err(|e| e.to_string())?;
    assert_eq!(
        (hello.identity.as_str(), hello.coinbase.as_str()),
        ("rig01", FA)
    );
    let ms = pending.finish(&welcome).map_err(|e| e.to_string())?;
    Ok((cs, ms))
}

#[test]
fn both_sides_authenticate_and_talk() {
    let s = Secret::new("correct horse battery staple");
    let (mut c, mut m) = connect(&s, &s).unwrap();
    let job = Message::Minute {
        height: 7,
        minute: 1,
    };
    assert_eq!(m.open(&c.seal(&job).unwrap()).unwrap(), job);
    let sub = Message::Submission {
        job_id: 3,
        records: vec![SubmittedRecord {
            nonce: HexBytes(vec![0, 1]),
            difficulty: Difficulty(u64::MAX - 5),
        }],
    };
    let frame = m.seal(&sub).unwrap();
    assert!(
        frame.contains("\"fffffffffffffffa\""),
        "difficulties travel as hex: {frame}"
    );
    assert_eq!(c.open(&frame).unwrap(), sub);
}

#[test]
fn a_wrong_secret_fails_on_both_sides() {
    let err = connect(
        &Secret::new("farm-secret-0123456789"),
        &Secret::new("farm-secret-0123456788"),
    )
    .unwrap_err();
    assert!(err.contains("wrong shared secret"), "{err}");
    // A fake coordinator (without the secret) cannot produce a welcome the miner accepts.
    let real = Secret::new("farm-secret-0123456789");
    let (fake, challenge) = CoordinatorHandshake::start(&Secret::new("impostor-secret-0123456789"));
    let (pending, auth) = MinerHandshake::new(&real, "rig01", FA)
        .respond(&challenge)
        .unwrap();
    assert!(fake.finish(&auth).is_err());
    let forged = protocol::encode_plain(&Message::Welcome {
        mac: HexBytes(vec![0; 64]),
        coinbase: Some(FA.into()),
    });
    assert!(matches!(
        pending.finish(&forged),
        Err(HandshakeError::Unproven)
    ));
}

#[test]
fn a_recorded_auth_cannot_be_replayed() {
    let s = Secret::new("farm-secret-0123456789");
    let (c1, ch1) = CoordinatorHandshake::start(&s);
    let (_, auth) = MinerHandshake::new(&s, "rig01", FA).respond(&ch1).unwrap();
    assert!(c1.finish(&auth).is_ok());
    // The attacker replays the same auth to a new connection: the challenge differs.
    let (c2, _) = CoordinatorHandshake::start(&s);
    assert_eq!(c2.finish(&auth).unwrap_err(), ProtocolError::WrongSecret);
}

#[test]
fn a_rejection_reaches_the_miner_with_its_reason() {
    let s = Secret::new("farm-secret-0123456789");
    let (_, challenge) = CoordinatorHandshake::start(&s);
    let (pending, _) = MinerHandshake::new(&s, "rig01", FA)
        .respond(&challenge)
        .unwrap();
    let rej = protocol::encode_plain(&Message::Rejected {
        code: ConnectionRefusal::DuplicateIdentity,
        reason: "identity rig01 is already mining".into(),
    });
    match pending.finish(&rej) {
        Err(HandshakeError::Rejected { code, reason }) => {
            assert!(code.is_fatal());
            assert!(reason.contains("rig01"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tampering_injection_reordering_and_replay_are_detected() {
    let s = Secret::new("farm-secret-0123456789");
    let (mut c, mut m) = connect(&s, &s).unwrap();
    let f0 = c
        .seal(&Message::Minute {
            height: 1,
            minute: 1,
        })
        .unwrap();
    let f1 = c
        .seal(&Message::Minute {
            height: 1,
            minute: 2,
        })
        .unwrap();
    let f2 = c.seal(&Message::Stop { job_id: 1 }).unwrap();

    // Altered payload.
    let altered = f0.replace("\"minute\":1", "\"minute\":9");
    assert_ne!(altered, f0);
    assert_eq!(m.open(&altered).unwrap_err(), ProtocolError::BadMac);
    // Reordered: f1 before f0.
    assert!(matches!(
        m.open(&f1).unwrap_err(),
        ProtocolError::BadSequence { got: 1, want: 0 }
    ));
    assert!(m.open(&f0).is_ok());
    // Replayed.
    assert!(matches!(
        m.open(&f0).unwrap_err(),
        ProtocolError::BadSequence { got: 0, want: 1 }
    ));
    // Injected without a MAC, with a made-up MAC, or with the sequence number changed.
    let plain = protocol::encode_plain(&Message::Stop { job_id: 1 });
    assert_eq!(m.open(&plain).unwrap_err(), ProtocolError::MissingMac);
    let bumped = f2.replacen("\"seq\":2", "\"seq\":1", 1);
    assert_eq!(m.open(&bumped).unwrap_err(), ProtocolError::BadMac);
    // A frame from the miner's own direction reflected back is refused.
    let mut m2 = connect(&s, &s).unwrap().1;
    let reflected = m2.seal(&Message::Ping { nonce: 1 }).unwrap();
    let mut other_m = connect(&s, &s).unwrap().1;
    assert_eq!(other_m.open(&reflected).unwrap_err(), ProtocolError::BadMac);
    // The untouched stream still works.
    assert!(m.open(&f1).is_ok());
    assert!(m.open(&f2).is_ok());
}

#[test]
fn oversized_malformed_and_unknown_frames_are_refused() {
    let s = Secret::new("farm-secret-0123456789");
    let (mut c, mut m) = connect(&s, &s).unwrap();
    let big = format!("{{\"msg\":\"{}\"}}", "x".repeat(MAX_FRAME));
    assert!(matches!(m.open(&big), Err(ProtocolError::TooLarge(_))));
    assert!(matches!(
        decode_plain("{not json"),
        Err(ProtocolError::Malformed(_))
    ));
    assert_eq!(
        decode_plain(r#"{"msg":{"type":"gimme_coins"}}"#).unwrap_err(),
        ProtocolError::UnknownType("gimme_coins".into())
    );
    assert!(matches!(
        decode_plain(r#"{"msg":{"type":"stop"}}"#),
        Err(ProtocolError::Malformed(_))
    ));
    // A message that would not fit a frame is refused on the sending side too.
    let huge = Message::Error {
        message: "e".repeat(MAX_FRAME),
    };
    assert!(matches!(c.seal(&huge), Err(ProtocolError::TooLarge(_))));
}

#[test]
fn version_mismatch_is_clear() {
    // A version this build does not speak, and a version other than the one agreed.
    let frame = r#"{"msg":{"type":"challenge","version":4,"challenge":"00"}}"#;
    let err = MinerHandshake::new(&Secret::new("another-secret-0123456789"), "a", FA)
        .respond(frame)
        .unwrap_err();
    assert!(err.to_string().contains("version 4"), "{err}");
    let frame = r#"{"msg":{"type":"challenge","version":1,"challenge":"00"}}"#;
    let err = MinerHandshake::new(&Secret::new("another-secret-0123456789"), "a", FA)
        .speaking(2)
        .respond(frame)
        .unwrap_err();
    assert!(err.to_string().contains("version 1"), "{err}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn no_input_makes_the_decoders_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
            let text = String::from_utf8_lossy(&bytes);
            let _ = decode_plain(&text);
            let s = Secret::new("farm-secret-0123456789");
            let (mut c, _) = connect(&s, &s).unwrap();
            let _ = c.open(&text);
            let (hs, _) = CoordinatorHandshake::start(&s);
            let _ = hs.finish(&text);
            let _ = MinerHandshake::new(&s, "a", FA).respond(&text);
        }

        #[test]
        fn json_shaped_garbage_does_not_panic(seq in any::<u64>(), kind in "[a-z_]{0,12}", field in "[a-z_]{0,8}", n in any::<i64>()) {
            let frame = format!(r#"{{"seq":{seq},"mac":"00","msg":{{"type":"{kind}","{field}":{n}}}}}"#);
            let _ = decode_plain(&frame);
            let s = Secret::new("farm-secret-0123456789");
            let (mut c, _) = connect(&s, &s).unwrap();
            prop_assert!(c.open(&frame).is_err());
        }
    }
}

#[test]
fn short_secrets_are_refused_and_generated_ones_accepted() {
    let err = Secret::checked("farmsecret").unwrap_err();
    assert_eq!(err.chars, 10);
    let msg = err.to_string();
    assert!(msg.contains("at least 16"), "{msg}");
    assert!(!msg.contains("farmsecret"), "never shows the secret: {msg}");
    assert!(Secret::checked("sixteen-chars-ok").is_ok());
    let a = Secret::generate_text();
    assert_eq!(a.len(), 64);
    assert!(Secret::checked(&a).is_ok());
    assert_ne!(a, Secret::generate_text());
}
