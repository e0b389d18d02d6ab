#!/usr/bin/env python3
"""Writes the hand-made seed corpora under fuzz/corpus/ (run from the repository root).

Real frames of every message type, the MainNet OPR entries of testdata/pegnet/, the example
configs of config/, factomd answers and price-source answers in the shapes the simulator and the
price fixture serve. The fuzzer-found inputs kept beside them are minimized corpus entries.
"""
import base64, hashlib, json, os, struct

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "fuzz", "corpus")


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def frame(msg):
    return json.dumps({"msg": msg}, separators=(",", ":"))


HEX32 = "11" * 32
FA = "FA2jK2HcLnRdS94dEcU27rF3meoJfpUcZPSinpb7AwQvPRY6RL1Q"
MESSAGES = {
    "challenge": {"type": "challenge", "version": 1, "challenge": HEX32},
    "auth": {"type": "auth", "version": 1, "identity": "rig01", "coinbase": FA,
             "challenge": "22" * 32, "mac": "33" * 64},
    "welcome": {"type": "welcome", "mac": "44" * 64},
    "rejected": {"type": "rejected", "code": "bad_secret", "reason": "wrong shared secret"},
    "job": {"type": "job", "job_id": 3, "opr": {"network": "mainnet", "height": 300001, "version": 5,
            "winners": ["0123456789abcdef"] * 25, "prices": [420000] + [100000000] * 4},
            "min_difficulty": "ffff000000000000", "records_wanted": 3},
    "skip": {"type": "skip", "height": 300001, "reason": "prices stale"},
    "minute": {"type": "minute", "height": 300001, "minute": 9},
    "stop": {"type": "stop", "job_id": 3},
    "submission": {"type": "submission", "job_id": 3,
                   "records": [{"nonce": "000102030405060708", "difficulty": "fffffffffffffffa"}]},
    "submission_result": {"type": "submission_result", "job_id": 3, "accepted": 1,
                          "rejected": ["duplicate record"]},
    "stats": {"type": "stats", "rate_10s": 68700.5, "rate_60s": 68000.0, "rate_15m": 1e5,
              "per_worker": [34000.25, 34700.25], "total_hashes": 123456789},
    "error": {"type": "error", "message": "something"},
    "ping": {"type": "ping", "nonce": 18446744073709551615},
    "pong": {"type": "pong", "nonce": 0},
}

for kind, msg in MESSAGES.items():
    put("frame", kind, frame(msg))
    f = frame(msg)
    # session: 2 bytes of position, the byte written there, a frame whose message is sealed.
    put("session", kind, struct.pack(">H", 0) + b"{" + f.encode())
    put("session", kind + "-mac", struct.pack(">H", 20) + b"0" + f.encode())
put("frame", "sealed", '{"seq":0,"mac":"' + "ab" * 64 + '","msg":' + json.dumps(MESSAGES["ping"]) + "}")
put("session", "sealed", '{"seq":0,"mac":"' + "ab" * 64 + '","msg":' + json.dumps(MESSAGES["ping"]) + "}")
put("coordinator_handshake", "auth", frame(MESSAGES["auth"]))
put("coordinator_handshake", "auth-names", frame(dict(MESSAGES["auth"], identity="a,b,C9", coinbase="x\u00e9\n")))
put("coordinator_handshake", "ping", frame(MESSAGES["ping"]))
put("miner_handshake", "welcome", frame(MESSAGES["challenge"]).encode() + b"\xff" + frame(MESSAGES["welcome"]).encode())
put("miner_handshake", "rejected-after", frame(MESSAGES["challenge"]).encode() + b"\xff" + frame(MESSAGES["rejected"]).encode())
put("miner_handshake", "rejected", frame(MESSAGES["rejected"]).encode() + b"\xff")
put("miner_handshake", "version", frame(dict(MESSAGES["challenge"], version=2)).encode() + b"\xff")

# --- PegNet OPR entries (real MainNet blocks) ---------------------------------------------------


def sha(b):
    return hashlib.sha256(b).digest()


OPR_CHAIN = sha(sha(b"PegNet") + sha(b"MainNet") + sha(b"OraclePriceRecords"))


def marshal(chain, ext_ids, content):
    ext = b"".join(struct.pack(">H", len(e)) + e for e in ext_ids)
    return b"\x00" + chain + struct.pack(">H", len(ext)) + ext + content


def block(path):
    b = json.load(open(os.path.join(ROOT, "testdata", "pegnet", path)))
    entries = [([base64.b64decode(x) for x in e["ExtIDs"]], base64.b64decode(e["Content"]))
               for e in b["Entries"]]
    return b["Height"], b.get("PreviousWinners") or [], entries


h1, prev1, v1 = block("block-206422.json")
h2, prev2, v2 = block("block-210330.json")
for k in (0, 1, 7):
    put("opr_v1", f"206422-{k}", v1[k][1])
    put("entry", f"206422-{k}", marshal(OPR_CHAIN, *v1[k]))
for k in (0, 1, 7):
    put("opr_v2", f"210330-{k}", v2[k][1])
    put("entry", f"210330-{k}", marshal(OPR_CHAIN, *v2[k]))
# The E1 and E2 vectors of factom/src/entry.rs.
put("entry", "e1", bytes.fromhex("005a402200c5cf278e47905ce52d7d64529a0291829a7bd230072c5468be7090690035001854686973206973207468652066697273742065787469642e00195468697320697320746865207365636f6e642065787469642e546869732069732061207465737420456e7472792e"))
put("entry", "e2", bytes.fromhex("00954d5a49fd70d9b8bcdb35d252267829957f7ef7fa6c74f88419bdc5e82209f400060004746573747465737421"))


def grader_input(version, algorithm, height, prev, entries):
    """version, algorithm, height, previous winners, then length-prefixed entries whose nonces end
    in their difficulty (NoncePow: every record honest)."""
    out = bytes([version - 1, algorithm - 1]) + struct.pack(">I", height)
    out += bytes([len(prev)]) + b"".join(bytes.fromhex(w) if w else b"\0" * 8 for w in prev)
    for ext, content in entries:
        ext = [ext[0] + ext[1]] + ext[1:]
        m = marshal(OPR_CHAIN, ext, content)
        out += struct.pack(">H", len(m)) + m
    return out


put("grader", "v1", grader_input(1, 1, h1, prev1, v1[:12]))
put("grader", "v2", grader_input(2, 2, h2, prev2, v2[:28]))
put("grader", "v2-as-v5", grader_input(2, 5, h2, prev2, v2[:28]))

# --- factomd answers ----------------------------------------------------------------------------


def rpc(result=None, error=None):
    r = {"jsonrpc": "2.0", "id": 1}
    if error is not None:
        r["error"] = error
    else:
        r["result"] = result
    return json.dumps(r)


RESULTS = [
    {"leaderheight": 300000, "directoryblockheight": 300000, "minute": 3,
     "currentblockstarttime": 1700000000000000000, "currentminutestarttime": 1700000180000000000,
     "currenttime": 1700000190000000000, "directoryblockinseconds": 600, "stalldetected": False,
     "faulttimeout": 120, "roundtimeout": 30},
    {"directoryblockheight": 300000, "leaderheight": 300000, "entryblockheight": 300000, "entryheight": 300000},
    {"balance": 1000},
    {"message": "Entry Commit Success", "txid": HEX32, "entryhash": HEX32},
    {"message": "Entry Reveal Success", "entryhash": HEX32, "chainid": OPR_CHAIN.hex()},
    {"chainhead": HEX32, "chaininprocesslist": False},
    {"header": {"blocksequencenumber": 5, "chainid": OPR_CHAIN.hex(), "prevkeymr": "00" * 32,
                "timestamp": 1700000000, "dbheight": 300000},
     "entrylist": [{"entryhash": HEX32, "timestamp": 1700000060}]},
    {"chainid": OPR_CHAIN.hex(), "content": v2[0][1].hex(), "extids": [e.hex() for e in v2[0][0]]},
    {"dblock": {"dbhash": HEX32, "keymr": HEX32, "headerhash": None,
                "header": {"version": 0, "networkid": 4203931042, "bodymr": HEX32, "prevkeymr": HEX32,
                           "prevfullhash": HEX32, "timestamp": 28333333, "dbheight": 300000,
                           "blockcount": 4, "chainid": "00" * 31 + "0d"},
                "dbentries": [{"chainid": "00" * 31 + "0a", "keymr": HEX32},
                              {"chainid": OPR_CHAIN.hex(), "keymr": HEX32}]}},
]
for k, result in enumerate(RESULTS):
    put("factomd_response", f"{k}-ok", bytes([k]) + rpc(result).encode())
put("factomd_response", "7-null-extids", bytes([7]) + rpc(dict(RESULTS[7], extids=None)).encode())
put("factomd_response", "6-null-list", bytes([6]) + rpc(dict(RESULTS[6], entrylist=None)).encode())
put("factomd_response", "repeated-commit", bytes([16 + 3]) + rpc(error={
    "code": -32011, "message": "Repeated Commit", "data": {"info": "Repeated Commit", "entryhash": HEX32}}).encode())
put("factomd_response", "not-found", bytes([16 + 6]) + rpc(error={"code": -32008, "message": "Object not found"}).encode())
put("factomd_response", "proxy-500", bytes([32]) + b"<html>502 Bad Gateway</html>")

# --- price sources (the price fixture's shapes), in prices::sources::KINDS order ----------------

T = 1700000000
SOURCES = [
    ("FixedUSD", {}),
    ("PegnetMarketCap", {"PEG": {"ticker_symbol": "PEG", "exchange_price": "0.0042",
                                 "exchange_price_dateline": T}}),
    ("AlternativeMe", {"data": {"1": {"id": 1, "symbol": "BTC", "quotes": {"USD": {"price": 37000.5}},
                                      "last_updated": T}},
                       "metadata": {"timestamp": T, "num_cryptocurrencies": 1, "error": None}}),
    ("FreeForexAPI", {"rates": {"USDEUR": {"rate": 0.92, "timestamp": T}}, "code": 200}),
    ("OpenExchangeRates", {"disclaimer": "fixture", "timestamp": T, "base": "USD",
                           "rates": {"USD": 1, "EUR": 0.92, "XAU": 0.0005, "BTC": 0.000027}}),
    ("APILayer", {"success": True, "timestamp": T, "source": "USD", "quotes": {"USDEUR": 0.92, "USDJPY": 150.1}}),
    ("CoinMarketCap", {"status": {"error_code": 0, "error_message": None},
                       "data": {"1": {"id": 1, "symbol": "BTC",
                                      "quote": {"USD": {"price": 37000.5, "last_updated": "2026-11-22T12:00:00.000Z"}}}}}),
    ("CoinCap", {"data": [{"id": "bitcoin", "symbol": "BTC", "priceUsd": "37000.5"}], "timestamp": T * 1000}),
    ("CoinGecko", {"bitcoin": {"usd": 37000.5, "last_updated_at": T}, "pegnet": {"usd": 0.0042, "last_updated_at": T}}),
    ("1Forge", [{"s": "EUR/USD", "p": 1.08, "b": 1.08, "a": 1.08, "t": T * 1000}]),
]
for k, (name, body) in enumerate(SOURCES):
    put("price_source", name, bytes([k]) + json.dumps(body).encode())
put("price_source", "1Forge-error", bytes([9]) + b'{"error": true, "message": "API Key Not Valid."}')
put("price_source", "CoinMarketCap-error", bytes([6]) + b'{"status": {"error_code": 1001, "error_message": "This API Key is invalid."}}')
put("price_source", "APILayer-error", bytes([5]) + b'{"success": false, "error": {"code": 101, "type": "invalid_access_key", "info": "x"}}')
prices_toml = open(os.path.join(ROOT, "config", "devnet-prices.toml")).read()
put("price_source", "Fixed-toml", bytes([10]) + prices_toml.encode())
put("price_source", "Fixed-json", bytes([10]) + b'{"prices": {"USD": 1.0, "PEG": "NaN", "EUR": 1.08}}')

# --- configs ------------------------------------------------------------------------------------

coord = open(os.path.join(ROOT, "config", "netcoordinator.toml")).read()
put("coordinator_config", "example", coord)
put("coordinator_config", "uncommented", "\n".join(
    l[2:] if l.startswith("# ") and "=" in l and ("priority" in l or l.startswith("# Coin") or "secret" in l) else l
    for l in coord.splitlines()))
put("coordinator_config", "devnet", 'network = "devnet"\nsecret = "s"\nsubmit_window_secs = 0.5\n'
    'previous_winners = ["", "", "", "", "", "", "", "", "", ""]\n[prices.sources.Fixed]\npriority = 0\nfile = "p.toml"\n')
miner = open(os.path.join(ROOT, "config", "netminer.toml")).read()
put("miner_config", "example", miner)
put("miner_config", "uncommented", "\n".join(l[2:] if l.startswith("# ") and "=" in l else l for l in miner.splitlines()))

# --- addresses ----------------------------------------------------------------------------------

for name, a in [("fa", FA), ("ec", "EC2DKSYyRcNWf7RS963VFYgMExoHRYLHVeCfQ9PGPmNzwrcmgm2r"),
                ("es", "Es2Rf7iM6PdsqfYCo3D1tnAR65SkLENyWJG1deUzpRMQmbh9F3eG"),
                ("fa-bad-check", FA[:-1] + "R")]:
    put("address", name, a)

# --- entry blocks and texts from outside --------------------------------------------------------

for k, line in enumerate(l for l in open(os.path.join(ROOT, "testdata", "factom", "entry-blocks.txt"))
                         if l.strip() and not l.startswith("#")):
    put("entry_block", f"mainnet-{k}", bytes.fromhex(line.split()[0]))
put("outside_text", "ansi", "\x1b[31;1mfactomd-sim: simulated error text\x1b[0m\r\n" * 8)
put("outside_text", "osc", "x\x1b]0;title\x07y\x1b]8;;http://e\x1b\\z\u009b31m")
put("outside_text", "utf8", "é" * 150 + "🦀" * 10 + "\u202e")
