//! Limits checked on the request's text before any parser sees it: the number of tokens in a
//! GraphQL document and how deeply anything in it nests (selection sets, arguments, list and
//! object values), and how deeply a JSON text (a request body, `variables`) nests.
//!
//! Both scans are one pass over the bytes with a counter, no recursion and no allocation, so
//! their work is linear in the text, which the body limit bounds. Parsers and validators do
//! recurse: a list value nested a few thousand levels deep overflowed the stack of the
//! parser's callers before this check existed, and a document of a hundred thousand tokens
//! costs the parser time and memory before any later limit can look at it. Apollo Router,
//! graphql-java and Hot Chocolate added the same two limits for the same reasons.

/// The figures of a document: its tokens and its deepest nesting of `{`, `[` and `(`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextFigures {
    pub tokens: usize,
    pub nesting: usize,
}

/// Counts the tokens of a GraphQL document (punctuators, names, numbers, strings; comments,
/// white space and commas are not tokens) and its deepest nesting of brackets. Text the lexer
/// does not know counts one token per byte; the parser refuses it later.
pub fn scan_document(text: &str) -> TextFigures {
    let bytes = text.as_bytes();
    let mut figures = TextFigures::default();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                i = skip_comment(bytes, i);
                continue;
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                figures.nesting = figures.nesting.max(depth);
                i += 1;
            }
            b'}' | b']' | b')' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'"' => i = skip_string(bytes, i),
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'-' | b'0'..=b'9' => i = skip_word(bytes, i),
            _ => i += 1,
        }
        figures.tokens += 1;
    }
    figures
}

/// The index after a `#` comment (it ends at a line break).
fn skip_comment(bytes: &[u8], start: usize) -> usize {
    bytes[start..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map_or(bytes.len(), |n| start + n)
}

/// The index after a name or a number (`-`, digits, `.`, exponents are all one word here: the
/// parser splits them properly; this only needs to count each as one token).
fn skip_word(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'_' | b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => i += 1,
            // A fraction or exponent sign inside a number, not the start of `...`.
            b'.' if !bytes[i..].starts_with(b"...") => i += 1,
            b'+' | b'-' if matches!(bytes[i - 1], b'e' | b'E') => i += 1,
            _ => break,
        }
    }
    i
}

/// The index after a string starting at `start` (`"…"` with escapes, or a `"""` block
/// string, in which `\"""` is an escaped quote); an unterminated string runs to the end.
fn skip_string(bytes: &[u8], start: usize) -> usize {
    if bytes[start..].starts_with(b"\"\"\"") {
        let mut i = start + 3;
        while i < bytes.len() {
            if bytes[i..].starts_with(b"\\\"\"\"") {
                i += 4;
            } else if bytes[i..].starts_with(b"\"\"\"") {
                return i + 3;
            } else {
                i += 1;
            }
        }
        return bytes.len();
    }
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            // A line break ends a (malformed) single-line string for counting purposes.
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The deepest nesting of arrays and objects in a JSON text (strings skipped, escapes
/// honoured). Malformed JSON is measured as far as it goes; the JSON parser refuses it later.
pub fn json_nesting(bytes: &[u8]) -> usize {
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if in_string {
            match b {
                b'\\' => i += 1,
                b'"' => in_string = false,
                _ => {}
            }
        } else {
            match b {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        i += 1;
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_counted_as_the_grammar_has_them() {
        let figures = scan_document(
            "query Q($n: Int = -1.5e+3) { # a comment { [ (\n  a: pairings(first: $n, \
             search: \"x { [ \\\" ]\") { ...F } } fragment F on X { t(d: \"\"\"a \\\"\"\" {\"\"\") }",
        );
        // query Q ( $ n : Int = -1.5e+3 ) { a : pairings ( first : $ n search : "…" ) { ... F } }
        // fragment F on X { t ( d : """…""" ) }
        assert_eq!(figures.tokens, 40, "{figures:?}");
        assert_eq!(figures.nesting, 2, "{figures:?}");
    }

    #[test]
    fn nesting_counts_every_bracket_and_never_recurses() {
        let deep = format!(
            "{{ a(x: {}1{}) }}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        let figures = scan_document(&deep);
        assert_eq!(figures.nesting, 100_002);
        let objects = format!("{{ a(x: {}) }}", "{a: ".repeat(5000) + &"}".repeat(5000));
        assert_eq!(scan_document(&objects).nesting, 5002);
    }

    #[test]
    fn json_nesting_skips_strings() {
        assert_eq!(json_nesting(br#"{"a": [1, {"b": "[[[{{{\"]]]"}]}"#), 3);
        assert_eq!(json_nesting(&[b'['; 200_000]), 200_000);
        assert_eq!(json_nesting(b"\"unterminated [[["), 0);
    }
}
