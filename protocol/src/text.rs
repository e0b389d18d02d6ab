//! Making a text from outside safe to log, store, broadcast, serve or print.
//!
//! Texts that come from outside the coordinator (factomd's and the price APIs' error texts, the
//! miners' and relays' `error` messages and names, backend and device names in stats) can be long
//! and can hold control characters: a terminal showing a log line would obey an ANSI escape in
//! it, and a 2 MB error text would not fit a 64 KiB frame. [`sanitize`] is the one function every
//! role passes them through:
//!
//! * ANSI escape sequences are removed whole (`ESC [ … final`, `ESC ] … BEL` or `ESC \`, `ESC` and
//!   one character, and their one-character C1 forms such as U+009B);
//! * line breaks and tabs become a space; every other control character (C0, DEL, C1) and the
//!   Unicode bidirectional overrides (which reorder what a terminal shows) are dropped;
//! * the result is cut to at most [`MAX_TEXT`] bytes (200) at a character boundary, ending with
//!   `…` when something was cut.
//!
//! A text that is already short and clean is returned borrowed, without allocating.

use std::borrow::Cow;

/// The most bytes a sanitized outside text keeps.
pub const MAX_TEXT: usize = 200;

/// What marks a cut text (3 bytes, counted within the limit).
const ELLIPSIS: &str = "…";

/// `text` made safe to show: escape sequences and control characters removed, at most
/// [`MAX_TEXT`] bytes. See the [module](self) for the rules.
pub fn sanitize(text: &str) -> Cow<'_, str> {
    sanitize_to(text, MAX_TEXT)
}

/// [`sanitize`] with another limit: at most `max` bytes (for a text that joins a few sanitized
/// parts, such as a block's skip reason).
pub fn sanitize_to(text: &str, max: usize) -> Cow<'_, str> {
    if text.len() <= max && !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len().min(max));
    let mut chars = text.chars().peekable();
    let mut cut = false;
    while let Some(c) = chars.next() {
        let keep = match c {
            '\u{1b}' => {
                skip_escape(&mut chars);
                None
            }
            '\u{9b}' => {
                skip_csi(&mut chars);
                None
            }
            '\u{9d}' | '\u{90}' | '\u{9e}' | '\u{9f}' => {
                skip_string(&mut chars);
                None
            }
            '\n' | '\r' | '\t' => Some(' '),
            c if unsafe_char(c) => None,
            c => Some(c),
        };
        if let Some(k) = keep {
            if out.len() + k.len_utf8() > max {
                cut = true;
                break;
            }
            out.push(k);
        }
    }
    if cut {
        while out.len() + ELLIPSIS.len() > max {
            if out.pop().is_none() {
                break;
            }
        }
        if out.len() + ELLIPSIS.len() <= max {
            out.push_str(ELLIPSIS);
        }
    }
    Cow::Owned(out)
}

/// A control character, or a Unicode bidirectional control.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

/// After an ESC: a CSI (`[`), a string (`]`, `P`, `X`, `^`, `_`), intermediates (space to `/`)
/// and their final character, or one more character.
fn skip_escape(chars: &mut Chars<'_>) {
    match chars.next() {
        Some('[') => skip_csi(chars),
        Some(']' | 'P' | 'X' | '^' | '_') => skip_string(chars),
        Some(' '..='/') => {
            while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
            chars.next();
        }
        _ => {}
    }
}

/// A control sequence's parameters and intermediates, up to its final byte (`@` to `~`).
fn skip_csi(chars: &mut Chars<'_>) {
    while let Some(&c) = chars.peek() {
        if !('\u{20}'..='\u{3f}').contains(&c) {
            if ('\u{40}'..='\u{7e}').contains(&c) {
                chars.next();
            }
            return;
        }
        chars.next();
    }
}

/// An OSC or other string sequence, up to BEL, ST (U+009C) or `ESC \`.
fn skip_string(chars: &mut Chars<'_>) {
    while let Some(c) = chars.next() {
        match c {
            '\u{7}' | '\u{9c}' => return,
            '\u{1b}' => {
                if chars.peek() == Some(&'\\') {
                    chars.next();
                }
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_short_text_is_borrowed_as_it_is() {
        let t = "factomd: Internal error (code -32603)";
        assert!(matches!(sanitize(t), Cow::Borrowed(s) if s == t));
        assert_eq!(sanitize(""), "");
        assert_eq!(sanitize("prix 1,5 € – ok"), "prix 1,5 € – ok");
    }

    #[test]
    fn ansi_escapes_are_removed_whole() {
        assert_eq!(sanitize("\u{1b}[31mred\u{1b}[0m text"), "red text");
        assert_eq!(sanitize("a\u{1b}[2J\u{1b}[1;1Hb"), "ab");
        // A window title (OSC), ended by BEL or by ESC \.
        assert_eq!(sanitize("x\u{1b}]0;pwned\u{7}y"), "xy");
        assert_eq!(sanitize("x\u{1b}]8;;http://e\u{1b}\\y"), "xy");
        // The one-character C1 forms.
        assert_eq!(sanitize("x\u{9b}31my"), "xy");
        assert_eq!(sanitize("x\u{9d}title\u{9c}y"), "xy");
        // ESC and one character (a charset switch), and an ESC at the very end.
        assert_eq!(sanitize("x\u{1b}(By\u{1b}"), "xy");
        // An unfinished sequence takes nothing after its final byte.
        assert_eq!(sanitize("x\u{1b}[12"), "x");
    }

    #[test]
    fn control_characters_are_dropped_and_breaks_become_spaces() {
        assert_eq!(sanitize("a\0b\u{7}c\u{7f}d\u{85}e"), "abcde");
        assert_eq!(sanitize("line 1\nline 2\r\n\tend"), "line 1 line 2   end");
        // Bidirectional overrides would reorder what a terminal shows.
        assert_eq!(sanitize("abc\u{202e}fed\u{2066}x\u{2069}"), "abcfedx");
        for c in sanitize("\u{1b}[1m\0\u{1}\u{1f}\u{9f}ok").chars() {
            assert!(!c.is_control(), "{c:?}");
        }
    }

    #[test]
    fn long_text_is_cut_at_a_char_boundary_within_the_limit() {
        let long = "é".repeat(1000); // 2 bytes each
        let s = sanitize(&long);
        assert!(s.len() <= MAX_TEXT, "{}", s.len());
        assert!(s.ends_with('…'));
        assert_eq!(s.trim_end_matches('…').chars().count(), (MAX_TEXT - 3) / 2);
        // 4-byte characters next to the limit.
        let emoji = format!("a{}", "🦀".repeat(100));
        let s = sanitize(&emoji);
        assert!(s.len() <= MAX_TEXT && s.ends_with('…'), "{s}");
        // Exactly the limit is kept whole; one more byte is cut.
        let exact = "x".repeat(MAX_TEXT);
        assert_eq!(sanitize(&exact), exact);
        let over = "x".repeat(MAX_TEXT + 1);
        assert_eq!(sanitize(&over), format!("{}…", "x".repeat(MAX_TEXT - 3)));
        // A 2 MB text full of escapes.
        let huge = "\u{1b}[31mERR\n".repeat(200_000);
        let s = sanitize(&huge);
        assert!(s.len() <= MAX_TEXT && s.starts_with("ERR ERR"), "{s}");
        assert!(!s.contains('\u{1b}'));
    }

    #[test]
    fn other_limits() {
        assert_eq!(sanitize_to("abcdef", 5), "ab…");
        assert_eq!(sanitize_to("abcdef", 2), "");
        assert_eq!(sanitize_to("abc", 0), "");
        assert_eq!(sanitize_to("a\u{1b}[0mb", 1000), "ab");
    }
}
