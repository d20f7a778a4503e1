//! Accent- and case-insensitive matching: "Malmo" finds Malmö, "Sao Leopoldo" finds São
//! Leopoldo. Names are stored beside a folded form (lowercase, diacritics removed), computed
//! here in Rust so that SQLite and PostgreSQL search the same way without `unaccent` or ICU.

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

#[cfg(test)]
mod tests {
    use super::fold;

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
