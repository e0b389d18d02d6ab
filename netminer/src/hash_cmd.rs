//! `netminer hash`: LXRHash of hex inputs, one lowercase hex line per input.

use crate::cli::HashArgs;
use crate::table_setup;
use anyhow::{bail, Context, Result};
use std::io::{BufRead, Write};

pub fn run(args: &HashArgs) -> Result<()> {
    // Parse every input before loading the table: a typo should not cost a table load.
    let inputs = if args.inputs.is_empty() {
        read_stdin()?
    } else {
        args.inputs
            .iter()
            .enumerate()
            .map(|(k, s)| parse_hex(s).with_context(|| format!("argument {}", k + 1)))
            .collect::<Result<Vec<_>>>()?
    };
    let (table, _) = table_setup::load(&args.table)?;
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    for input in &inputs {
        writeln!(out, "{}", hex::encode(table.hash(input)))?;
    }
    out.flush()?;
    Ok(())
}

fn read_stdin() -> Result<Vec<Vec<u8>>> {
    let stdin = std::io::stdin();
    let mut inputs = Vec::new();
    for (k, line) in stdin.lock().lines().enumerate() {
        let line = line.with_context(|| format!("reading stdin line {}", k + 1))?;
        inputs.push(parse_hex(&line).with_context(|| format!("stdin line {}", k + 1))?);
    }
    Ok(inputs)
}

/// Hex (either case, surrounding whitespace ignored) to bytes; the empty string is the empty input.
fn parse_hex(s: &str) -> Result<Vec<u8>> {
    let s = s.trim();
    if let Some(pos) = s.find(|c: char| !c.is_ascii_hexdigit()) {
        bail!(
            "invalid hex {s:?}: character {:?} at position {} is not a hex digit",
            &s[pos..].chars().next().unwrap_or(' '),
            pos + 1
        );
    }
    if s.len() % 2 != 0 {
        bail!("invalid hex {s:?}: odd number of digits ({})", s.len());
    }
    Ok(hex::decode(s)?)
}

#[cfg(test)]
mod tests {
    use super::parse_hex;

    #[test]
    fn hex_parsing() {
        assert_eq!(parse_hex("").unwrap(), Vec::<u8>::new());
        assert_eq!(parse_hex(" 0aFf\r").unwrap(), vec![0x0a, 0xff]);
        let e = parse_hex("0g").unwrap_err().to_string();
        assert!(e.contains("'g'") && e.contains("position 2"), "{e}");
        assert!(parse_hex("abc").unwrap_err().to_string().contains("odd"));
    }
}
