//! Texts that come from outside (a peer's messages and names, a node's or a price API's error
//! texts) made safe to log, store, send and print: cut to [`MAX_OUTSIDE_TEXT`] bytes at a
//! character boundary, with every control character (escape sequences included) removed.

/// The longest text from outside that is kept, in bytes.
pub const MAX_OUTSIDE_TEXT: usize = 200;

/// `text` without control characters, cut to at most [`MAX_OUTSIDE_TEXT`] bytes (an ellipsis
/// marks a cut).
pub fn sanitize(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !c.is_control()).collect();
    if clean.len() <= MAX_OUTSIDE_TEXT {
        return clean;
    }
    let mut end = MAX_OUTSIDE_TEXT - '…'.len_utf8();
    while !clean.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &clean[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_go_and_long_texts_are_cut_at_a_character() {
        assert_eq!(sanitize("a\u{1b}[31mb\0c\n"), "a[31mbc");
        let long = "é".repeat(300);
        let s = sanitize(&long);
        assert!(
            s.len() <= MAX_OUTSIDE_TEXT && s.ends_with('…'),
            "{}",
            s.len()
        );
    }
}
