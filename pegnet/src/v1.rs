//! V1 content: JSON, parsed with Go `encoding/json` semantics and written byte-for-byte as PegNet's
//! Go miner wrote it (spec §3.4).

use crate::assets;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt::{self, Write};

/// A decoded V1 record.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct V1Content {
    /// `coinbase`: the miner's FA address as written (not validated in V1).
    pub coinbase: String,
    /// `dbht`: height of the block the record is for; must equal the block it is found in.
    pub dbht: i32,
    /// `winners`: short hashes as hex strings (or "").
    pub winners: Vec<String>,
    /// `minerid`: the miner's identity as written.
    pub minerid: String,
    /// `assets`: ticker → USD price (keys are case-sensitive; extra keys allowed).
    pub assets: BTreeMap<String, f64>,
}

/// Go's `EqualFold` for our ASCII field names, including its two non-ASCII folds (ſ = s, K = k).
fn fold(key: &str) -> String {
    key.chars()
        .map(|c| match c {
            '\u{17F}' => 's',
            '\u{212A}' => 'k',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

fn type_err<E: de::Error>(field: &str, v: &Value) -> E {
    E::custom(format!(
        "field {field}: cannot unmarshal {v} into its Go type"
    ))
}

fn go_string<E: de::Error>(field: &str, v: Value, into: &mut String) -> Result<(), E> {
    match v {
        Value::Null => Ok(()),
        Value::String(s) => {
            *into = s;
            Ok(())
        }
        other => Err(type_err(field, &other)),
    }
}

impl<'de> Deserialize<'de> for V1Content {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = V1Content;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a V1 OPR JSON object")
            }
            fn visit_unit<E: de::Error>(self) -> Result<V1Content, E> {
                Ok(V1Content::default()) // Go: `null` leaves the struct at its zero value
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<V1Content, A::Error> {
                let mut c = V1Content::default();
                // Keys in document order: a later duplicate (in any case) overrides.
                while let Some((key, v)) = map.next_entry::<String, Value>()? {
                    match fold(&key).as_str() {
                        "coinbase" => go_string("coinbase", v, &mut c.coinbase)?,
                        "minerid" => go_string("minerid", v, &mut c.minerid)?,
                        "dbht" => match &v {
                            Value::Null => {}
                            Value::Number(n) => {
                                c.dbht = n
                                    .as_i64()
                                    .and_then(|x| i32::try_from(x).ok())
                                    .ok_or_else(|| type_err::<A::Error>("dbht", &v))?
                            }
                            _ => return Err(type_err("dbht", &v)),
                        },
                        "winners" => match v {
                            Value::Null => c.winners = Vec::new(),
                            Value::Array(items) => {
                                c.winners = items
                                    .into_iter()
                                    .map(|x| match x {
                                        Value::Null => Ok(String::new()),
                                        Value::String(s) => Ok(s),
                                        other => Err(type_err::<A::Error>("winners", &other)),
                                    })
                                    .collect::<Result<_, _>>()?
                            }
                            other => return Err(type_err("winners", &other)),
                        },
                        "assets" => match v {
                            Value::Null => c.assets.clear(),
                            Value::Object(m) => {
                                // Go decodes into the existing map: keys accumulate.
                                for (k, x) in m {
                                    let price = match &x {
                                        Value::Null => 0.0,
                                        Value::Number(n) => n
                                            .as_f64()
                                            .ok_or_else(|| type_err::<A::Error>("assets", &x))?,
                                        _ => return Err(type_err("assets", &x)),
                                    };
                                    c.assets.insert(k, price);
                                }
                            }
                            other => return Err(type_err("assets", &other)),
                        },
                        _ => {}
                    }
                }
                Ok(c)
            }
        }
        d.deserialize_any(V)
    }
}

impl V1Content {
    /// Parses V1 JSON content as Go's `encoding/json` would (case-insensitive keys, unknown keys
    /// ignored); the error says which field failed.
    pub fn parse(content: &[u8]) -> Result<V1Content, String> {
        serde_json::from_slice(content).map_err(|e| format!("V1 JSON: {e}"))
    }

    /// Prices in V1 asset order, or the first missing asset.
    pub fn prices(&self) -> Result<Vec<f64>, &'static str> {
        assets::V1
            .iter()
            .map(|a| self.assets.get(*a).copied().ok_or(*a))
            .collect()
    }

    /// The JSON the Go miner wrote: fixed key order, assets in V1 order, Go's float and string
    /// formatting. Fails on a missing asset or a NaN/infinite price (Go refuses those too).
    pub fn encode(&self) -> Result<Vec<u8>, String> {
        let mut s = String::with_capacity(1024);
        s.push_str("{\"coinbase\":");
        go_quote(&mut s, &self.coinbase);
        let _ = write!(s, ",\"dbht\":{},\"winners\":[", self.dbht);
        for (k, w) in self.winners.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            go_quote(&mut s, w);
        }
        s.push_str("],\"minerid\":");
        go_quote(&mut s, &self.minerid);
        s.push_str(",\"assets\":{");
        for (k, a) in assets::V1.iter().enumerate() {
            let p = self
                .assets
                .get(*a)
                .ok_or_else(|| format!("asset {a} missing"))?;
            if k > 0 {
                s.push(',');
            }
            let _ = write!(s, "\"{a}\":{}", go_float(*p)?);
        }
        s.push_str("}}");
        Ok(s.into_bytes())
    }
}

/// Go `encoding/json` float64 formatting.
pub fn go_float(f: f64) -> Result<String, String> {
    if !f.is_finite() {
        return Err(format!("unsupported value: {f}"));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        // Rust gives "1e-7" / "1e21"; Go's cleaned-up 'e' format gives "1e-7" / "1e+21".
        let e = format!("{f:e}");
        Ok(match e.split_once('e') {
            Some((m, exp)) if !exp.starts_with('-') => format!("{m}e+{exp}"),
            _ => e,
        })
    } else {
        Ok(format!("{f}"))
    }
}

/// Go `encoding/json` string quoting (with its HTML-safe escapes).
fn go_quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_float_format() {
        for (f, s) in [
            (1.0, "1"),
            (1.1093, "1.1093"),
            (0.0008, "0.0008"),
            (1e-7, "1e-7"),
            (1.5e21, "1.5e+21"),
            (10710.23, "10710.23"),
            (0.0, "0"),
        ] {
            assert_eq!(go_float(f).unwrap(), s);
        }
        assert!(go_float(f64::NAN).is_err());
    }

    #[test]
    fn go_semantics_of_the_parser() {
        let c = V1Content::parse(br#"{"COINBASE":"x","DbHt":5,"dbht":6,"minerid":null,"extra":[1],"assets":{"USD":1,"usd":2}}"#).unwrap();
        assert_eq!((c.coinbase.as_str(), c.dbht), ("x", 6));
        assert_eq!(c.assets.len(), 2, "asset keys are case-sensitive");
        assert!(V1Content::parse(br#"{"dbht":1.5}"#).is_err());
        assert!(V1Content::parse(br#"{"dbht":"5"}"#).is_err());
        assert!(V1Content::parse(br#"{"dbht":3000000000}"#).is_err());
        assert!(V1Content::parse(br#"{"winners":[1]}"#).is_err());
        assert!(V1Content::parse(br#"[1]"#).is_err());
        assert!(V1Content::parse(br#"{} x"#).is_err());
        assert_eq!(V1Content::parse(b"null").unwrap(), V1Content::default());
        let c = V1Content::parse("{\"a\u{17F}\u{17F}ets\":{\"USD\":3}}".as_bytes()).unwrap();
        assert_eq!(c.assets["USD"], 3.0, "Go folds long s to s");
    }

    #[test]
    fn quoting_matches_go() {
        let mut s = String::new();
        go_quote(&mut s, "a<b>&\"\\\n\u{1}");
        assert_eq!(s, r#""a\u003cb\u003e\u0026\"\\\n\u0001""#);
    }
}
