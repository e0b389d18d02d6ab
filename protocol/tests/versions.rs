//! Protocol versions: a version-2 coordinator serves a version-1 miner byte for byte as version 1
//! did (a conversation recorded with the last version-1 build, `testdata/protocol-v1/`), version 2
//! adds the box key's signature, the role and the assigned coinbase, and neither version's proofs
//! verify as the other's.

use protocol::{
    BoxKey, CoordinatorHandshake, Message, MinerHandshake, PeerRole, ProtocolError, Secret,
};

const FA: &str = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q";
const FARM_FA: &str = "FA21TK6dzdJB31AG7aVJMLWhq4pGf5847QErH9gmfJqX8hgmSuwL";

fn fixture() -> serde_json::Value {
    let text = include_str!("../../testdata/protocol-v1/conversation.json");
    serde_json::from_str(text).unwrap()
}

#[test]
fn a_recorded_version_1_conversation_is_served_byte_for_byte() {
    let f = fixture();
    let s = |k: &str| f[k].as_str().unwrap().to_string();
    let secret = Secret::new(&s("secret"));
    let Message::Challenge { version, challenge } =
        protocol::decode_plain(&s("challenge")).unwrap()
    else {
        panic!("not a challenge")
    };
    assert_eq!(version, 1);
    let cc: [u8; 32] = challenge.0.try_into().unwrap();
    let hs = CoordinatorHandshake::with_challenge(&secret, 1, cc);
    let v = hs.verify(&s("auth"), |_, _| vec![secret.clone()]).unwrap();
    assert_eq!((v.version(), v.role(), v.key()), (1, PeerRole::Miner, None));
    assert_eq!(v.hello().identity, s("identity"));
    // Version 1 keeps the coinbase the miner asked for, whatever the caller passes.
    let (mut session, welcome) = v.welcome(FARM_FA);
    assert_eq!(
        welcome,
        s("welcome"),
        "the welcome changed for version-1 miners"
    );
    for (k, frame) in f["coordinator_frames"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let v: serde_json::Value = serde_json::from_str(frame.as_str().unwrap()).unwrap();
        let msg: Message =
            serde_json::from_value(v["msg"].clone()).unwrap_or_else(|e| panic!("frame {k}: {e}"));
        assert_eq!(session.seal(&msg).unwrap(), frame.as_str().unwrap());
    }
    for frame in f["miner_frames"].as_array().unwrap() {
        assert!(matches!(
            session.open(frame.as_str().unwrap()).unwrap(),
            Message::Submission { job_id: 3, .. }
        ));
    }
}

#[test]
fn a_version_2_miner_answers_a_version_1_challenge_as_version_1_did() {
    let f = fixture();
    let secret = Secret::new(f["secret"].as_str().unwrap());
    // A new miner (or relay) linking to a version-1 coordinator: its auth has the old shape.
    let (old, challenge) = CoordinatorHandshake::start_version(&secret, 1);
    let (pending, auth) = MinerHandshake::new(&secret, "rig01", FA)
        .with_key(BoxKey::generate())
        .respond(&challenge)
        .unwrap();
    assert!(!auth.contains("key") && !auth.contains("role"), "{auth}");
    let shape: serde_json::Value = serde_json::from_str(&auth).unwrap();
    let fields: Vec<&String> = shape["msg"].as_object().unwrap().keys().collect();
    let recorded: serde_json::Value = serde_json::from_str(f["auth"].as_str().unwrap()).unwrap();
    let recorded: Vec<&String> = recorded["msg"].as_object().unwrap().keys().collect();
    assert_eq!(
        fields, recorded,
        "a version-1 auth keeps version 1's fields"
    );
    let (_, hello, welcome) = old.finish(&auth).unwrap();
    assert_eq!(hello.coinbase, FA);
    let (_, coinbase) = pending.accept(&welcome).unwrap();
    assert_eq!(coinbase, FA);
}

#[test]
fn version_2_signs_with_the_box_key_and_assigns_the_coinbase() {
    let secret = Secret::new("farm-secret-0123456789");
    let key = BoxKey::generate();
    // Version 3 (remote control) has version 2's handshake; both are served.
    let (c3, challenge) = CoordinatorHandshake::start(&secret);
    let (_, auth) = MinerHandshake::new(&secret, "rig01", FA)
        .with_key(key.clone())
        .respond(&challenge)
        .unwrap();
    let v3 = c3.verify(&auth, |_, _| vec![secret.clone()]).unwrap();
    assert_eq!((v3.version(), v3.key()), (3, Some(key.public())));
    let (c, challenge) = CoordinatorHandshake::start_version(&secret, 2);
    let (pending, auth) = MinerHandshake::new(&secret, "rig01", FA)
        .with_key(key.clone())
        .respond(&challenge)
        .unwrap();
    let v = c.verify(&auth, |_, _| vec![secret.clone()]).unwrap();
    assert_eq!(v.version(), 2);
    assert_eq!(v.key(), Some(key.public()));
    assert_eq!(v.hello().coinbase, FA);
    // The coordinator pays every record to the farm's address: the miner learns it, proven.
    let (mut cs, welcome) = v.welcome(FARM_FA);
    let (mut ms, assigned) = pending.accept(&welcome).unwrap();
    assert_eq!(assigned, FARM_FA);
    let m = Message::Stop { job_id: 1 };
    assert_eq!(ms.open(&cs.seal(&m).unwrap()).unwrap(), m);
    // A welcome whose coinbase was swapped on the way does not verify.
    let (c, challenge) = CoordinatorHandshake::start(&secret);
    let (pending, auth) = MinerHandshake::new(&secret, "rig01", FA)
        .respond(&challenge)
        .unwrap();
    let (_, welcome) = c
        .verify(&auth, |_, _| vec![secret.clone()])
        .unwrap()
        .welcome(FA);
    let swapped = welcome.replace(FA, FARM_FA);
    assert!(pending.accept(&swapped).is_err());
}

#[test]
fn a_signature_by_another_key_or_over_another_transcript_is_refused() {
    let secret = Secret::new("farm-secret-0123456789");
    let (c, challenge) = CoordinatorHandshake::start(&secret);
    let (_, auth) = MinerHandshake::new(&secret, "rig01", FA)
        .with_key(BoxKey::generate())
        .respond(&challenge)
        .unwrap();
    // Swap in another key: the MAC still verifies only if the attacker knows the secret, but
    // the signature is the first key's.
    let mut v: serde_json::Value = serde_json::from_str(&auth).unwrap();
    v["msg"]["key"] = serde_json::Value::String(hex::encode(BoxKey::generate().public().0));
    let forged = v.to_string();
    assert!(c.verify(&forged, |_, _| vec![secret.clone()]).is_err());
    // A relay says so: its auth carries the role and no coinbase.
    let (c, challenge) = CoordinatorHandshake::start(&secret);
    let (_, auth) = MinerHandshake::new(&secret, "site1", FA)
        .as_relay()
        .with_key(BoxKey::generate())
        .respond(&challenge)
        .unwrap();
    let v = c.verify(&auth, |_, _| vec![secret.clone()]).unwrap();
    assert_eq!(v.role(), PeerRole::Relay);
    assert_eq!(v.hello().coinbase, "");
}

#[test]
fn the_previous_secret_is_accepted_while_it_is_offered() {
    let (old, new) = (
        Secret::new("old-farm-secret-012345"),
        Secret::new("new-farm-secret-012345"),
    );
    let (c, challenge) = CoordinatorHandshake::start(&new);
    let (pending, auth) = MinerHandshake::new(&old, "rig01", FA)
        .respond(&challenge)
        .unwrap();
    let v = c
        .verify(&auth, |_, _| vec![new.clone(), old.clone()])
        .unwrap();
    let (_, welcome) = v.welcome(FA);
    assert!(
        pending.accept(&welcome).is_ok(),
        "the welcome proves the secret the miner has"
    );
    let (c, challenge) = CoordinatorHandshake::start(&new);
    let (_, auth) = MinerHandshake::new(&old, "rig01", FA)
        .respond(&challenge)
        .unwrap();
    assert_eq!(
        c.verify(&auth, |_, _| vec![new.clone()]).unwrap_err(),
        ProtocolError::WrongSecret
    );
}
