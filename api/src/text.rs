//! Accent- and case-insensitive matching: "Malmo" finds Malmö, "Sao Leopoldo" finds São
//! Leopoldo. Names are stored beside a folded form (lowercase, diacritics removed), computed
//! here in Rust so that SQLite and PostgreSQL search the same way without `unaccent` or ICU.
//!
//! Also the one rule for what counts as plain text (`check_plain`), shared by the dataset files
//! and the API's writes.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Lowercase, without diacritics, with letters that do not decompose spelled out (ß → ss,
/// ø → o, æ → ae, ł → l …), and runs of white space collapsed.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        match c {
            'ß' => out.push_str("ss"),
            'æ' | 'Æ' => out.push_str("ae"),
            'œ' | 'Œ' => out.push_str("oe"),
            'ø' | 'Ø' => out.push('o'),
            'ł' | 'Ł' => out.push('l'),
            'đ' | 'Đ' | 'ð' | 'Ð' => out.push('d'),
            'þ' | 'Þ' => out.push_str("th"),
            'ı' => out.push('i'),
            '’' | '‘' | '`' => out.push('\''),
            c if c.is_whitespace() => {
                if !out.ends_with(' ') {
                    out.push(' ');
                }
            }
            c => out.extend(c.to_lowercase()),
        }
    }
    out.trim().to_owned()
}

/// Escapes `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Whether `text` is plain text: no control characters (Unicode category Cc: U+0000–U+001F,
/// U+007F–U+009F), except that `multiline` text (descriptions, notes) may hold tabs, line feeds
/// and carriage returns. The error says which character and where (counted in characters from
/// 1), in words fit for a person.
///
/// Why: a NUL is refused by PostgreSQL (`invalid byte sequence`) and cuts the text short in
/// some SQLite readers, so the same data would be stored differently on the two backends; other
/// controls (escape sequences, form feeds, the C1 range that mis-decoded Windows-1252 leaves)
/// are invisible garbage in every client that shows them.
pub fn check_plain(text: &str, multiline: bool) -> Result<(), String> {
    let Some((index, c)) = text
        .chars()
        .enumerate()
        .find(|(_, c)| c.is_control() && !(multiline && matches!(c, '\t' | '\n' | '\r')))
    else {
        return Ok(());
    };
    let at = index + 1;
    let code = c as u32;
    Err(if matches!(c, '\t' | '\n' | '\r') {
        format!(
            "contains a tab or line break (U+{code:04X}) at character {at}: this field is a \
             single line of plain text"
        )
    } else {
        format!(
            "contains the control character U+{code:04X} at character {at}: only plain text \
             is accepted"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::{check_plain, fold};

    #[test]
    fn plain_text_refuses_control_characters() {
        assert_eq!(check_plain("Malmö – Łódź", false), Ok(()));
        assert_eq!(check_plain("two\nlines\r\n\tand a tab", true), Ok(()));
        assert_eq!(
            check_plain("ab\0c", true).unwrap_err(),
            "contains the control character U+0000 at character 3: only plain text is accepted"
        );
        assert_eq!(
            check_plain("é\nx", false).unwrap_err(),
            "contains a tab or line break (U+000A) at character 2: this field is a single line \
             of plain text"
        );
        for c in ['\u{1}', '\u{1b}', '\u{7f}', '\u{85}', '\u{9f}'] {
            assert!(check_plain(&format!("a{c}"), true).is_err(), "{c:?}");
        }
    }

    #[test]
    fn folds_accents_case_and_special_letters() {
        assert_eq!(fold("Malmö"), "malmo");
        assert_eq!(fold("São  Leopoldo"), "sao leopoldo");
        assert_eq!(
            fold("Consórcio Intermunicipal Grande ABC"),
            "consorcio intermunicipal grande abc"
        );
        assert_eq!(fold("Nice Côte d’Azur"), "nice cote d'azur");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("Straße"), "strasse");
    }
}
