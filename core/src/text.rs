//! Text folding for search: "Hélène", "HELENE" and "helene" are the same to a worker.

use unicode_normalization::UnicodeNormalization;

/// Lowercase, without accents (canonical decomposition, combining marks dropped), with `œ`/`æ`
/// spelled out and runs of white space folded.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut last_space = true;
    for c in text.nfd() {
        if ('\u{300}'..='\u{36f}').contains(&c) {
            continue;
        }
        if c.is_whitespace() {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
            continue;
        }
        last_space = false;
        match c {
            'œ' | 'Œ' => out.push_str("oe"),
            'æ' | 'Æ' => out.push_str("ae"),
            'ß' => out.push_str("ss"),
            c => out.extend(c.to_lowercase()),
        }
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn folds_accents_case_ligatures_and_spaces() {
        for (input, expected) in [
            ("Hélène", "helene"),
            ("HÉLÈNE", "helene"),
            ("  Jean-François   Dœuf ", "jean-francois doeuf"),
            ("Zoë", "zoe"),
            ("Ça", "ca"),
        ] {
            assert_eq!(fold(input), expected, "{input}");
        }
    }
}
