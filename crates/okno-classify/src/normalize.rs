//! Text normalization: what the classifier reads of a request's text.
//!
//! Lower case, `ё` folded to `е`, words as runs of letters; web addresses, numbers and masked
//! spans (`[скрыто]`, `[ТЕЛЕФОН]`, `[EMAIL]`, `[ФИО]`, as imports and intake leave them)
//! become one token each; everything else separates words. Only the first
//! [`MAX_NORMALIZED_CHARS`] characters of a text are read, so a huge input costs no more than
//! a long letter.

/// Characters of a text read at most.
pub const MAX_NORMALIZED_CHARS: usize = 20_000;

/// Token for a web address.
pub const URL_TOKEN: &str = "_url_";
/// Token for a number.
pub const NUMBER_TOKEN: &str = "_num_";
/// Token for a span hidden by masking (`[скрыто]`, `[ТЕЛЕФОН]`…).
pub const MASK_TOKEN: &str = "_mask_";

/// Longest bracketed span taken for a mask, in characters.
const MAX_MASK_CHARS: usize = 24;

/// Writes the normalized tokens of `text` into `out`, separated by single spaces (`out` is
/// cleared first). Returns the number of tokens.
pub fn normalize_into(text: &str, out: &mut String) -> usize {
    out.clear();
    let chars: Vec<char> = text.chars().take(MAX_NORMALIZED_CHARS).collect();
    let mut tokens = 0;
    let mut in_word = false;
    let mut i = 0;
    let start_token = |out: &mut String, tokens: &mut usize| {
        if !out.is_empty() {
            out.push(' ');
        }
        *tokens += 1;
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_alphabetic() {
            if !in_word {
                if let Some(len) = url_length(&chars[i..]) {
                    start_token(out, &mut tokens);
                    out.push_str(URL_TOKEN);
                    i += len;
                    continue;
                }
                start_token(out, &mut tokens);
                in_word = true;
            }
            push_lowercase(c, out);
            i += 1;
            continue;
        }
        in_word = false;
        if c.is_numeric() {
            start_token(out, &mut tokens);
            out.push_str(NUMBER_TOKEN);
            while i < chars.len() && (chars[i].is_numeric() || (matches!(chars[i], '.' | ',') && chars.get(i + 1).is_some_and(|n| n.is_numeric()))) {
                i += 1;
            }
            continue;
        }
        if c == '['
            && let Some(len) = mask_length(&chars[i..])
        {
            start_token(out, &mut tokens);
            out.push_str(MASK_TOKEN);
            i += len;
            continue;
        }
        i += 1;
    }
    tokens
}

/// Appends `c` in lower case with `ё` folded to `е`; Latin and Russian letters without the
/// general Unicode tables (the slowest step of normalization otherwise).
fn push_lowercase(c: char, out: &mut String) {
    match c {
        'A'..='Z' | 'a'..='z' => out.push(c.to_ascii_lowercase()),
        'А'..='Я' => out.push(char::from_u32(c as u32 + 0x20).unwrap_or(c)),
        'а'..='я' => out.push(c),
        'Ё' | 'ё' => out.push('е'),
        _ => {
            for lower in c.to_lowercase() {
                out.push(if lower == 'ё' { 'е' } else { lower });
            }
        }
    }
}

/// The normalized form of `text` as a new string.
pub fn normalize(text: &str) -> String {
    let mut out = String::new();
    normalize_into(text, &mut out);
    out
}

/// The length of a web address starting here (`http://`, `https://`, `www.`), up to white space.
fn url_length(chars: &[char]) -> Option<usize> {
    let starts = |prefix: &str| prefix.chars().enumerate().all(|(k, p)| chars.get(k).is_some_and(|c| c.to_ascii_lowercase() == p));
    if !(starts("http://") || starts("https://") || starts("www.")) {
        return None;
    }
    Some(chars.iter().position(|c| c.is_whitespace()).unwrap_or(chars.len()))
}

/// The length of a masked span starting at `[`: letters only inside, closed within a few characters.
fn mask_length(chars: &[char]) -> Option<usize> {
    let close = chars.iter().take(MAX_MASK_CHARS).position(|&c| c == ']')?;
    (close > 1 && chars[1..close].iter().all(|c| c.is_alphabetic())).then_some(close + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_case_yo_numbers_urls_and_masks() {
        assert_eq!(normalize("Ёлка у дома 47, кв.5!"), "елка у дома _num_ кв _num_");
        assert_eq!(normalize("см. https://gorod.gov.spb.ru/x?y=1 и WWW.Example.com"), "см _url_ и _url_");
        assert_eq!(normalize("звонить [ТЕЛЕФОН], [скрыто] [не маска 1]"), "звонить _mask_ _mask_ не маска _num_");
        assert_eq!(normalize("3.5 метра, 1,2,3"), "_num_ метра _num_");
        assert_eq!(normalize("Potholes on Main St."), "potholes on main st");
        assert_eq!(normalize("АБВЯабвя ЁЖИК ÄÖ Σ"), "абвяабвя ежик äö σ");
    }

    #[test]
    fn empty_binary_and_huge_texts_are_harmless() {
        assert_eq!(normalize(""), "");
        assert_eq!(normalize("\u{0}\u{1}\u{fffd}\u{7f}…—"), "");
        let huge = "яма ".repeat(100_000);
        let tokens = normalize_into(&huge, &mut String::new());
        assert_eq!(tokens, MAX_NORMALIZED_CHARS / 4);
    }

    #[test]
    fn mixed_scripts_stay_apart_only_at_separators() {
        assert_eq!(normalize("Яма на ул.Lenina-стрит"), "яма на ул lenina стрит");
    }
}
