//! Small text utilities shared by search and imports.

/// The form of a text that search compares against: lower case, `ё` folded to `е`,
/// runs of white space collapsed. Unicode-aware, so Cyrillic folds too.
pub fn search_key(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        for l in c.to_lowercase() {
            out.push(if l == 'ё' { 'е' } else { l });
        }
    }
    out
}

/// A readable ASCII code made from a name in Russian or English: transliterated, lower case,
/// words joined by `-` (e.g. "Администрация Приморского района" → "administratsiya-primorskogo-rayona").
pub fn slug(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in search_key(name).chars() {
        let piece: &str = match c {
            'a'..='z' | '0'..='9' => {
                out.push(c);
                continue;
            }
            'а' => "a", 'б' => "b", 'в' => "v", 'г' => "g", 'д' => "d", 'е' => "e", 'ж' => "zh",
            'з' => "z", 'и' => "i", 'й' => "y", 'к' => "k", 'л' => "l", 'м' => "m", 'н' => "n",
            'о' => "o", 'п' => "p", 'р' => "r", 'с' => "s", 'т' => "t", 'у' => "u", 'ф' => "f",
            'х' => "kh", 'ц' => "ts", 'ч' => "ch", 'ш' => "sh", 'щ' => "shch", 'ъ' | 'ь' => "",
            'ы' => "y", 'э' => "e", 'ю' => "yu", 'я' => "ya",
            _ => "-",
        };
        if piece == "-" {
            if !out.is_empty() && !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push_str(piece);
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_key_folds_case_yo_and_space() {
        assert_eq!(search_key("  Ёлка   на\tДВОРЕ "), "елка на дворе");
    }

    #[test]
    fn slug_transliterates() {
        assert_eq!(slug("Администрация Приморского района"), "administratsiya-primorskogo-rayona");
        assert_eq!(slug("СПб ГКУ ЖА №3 (Колпино)"), "spb-gku-zha-3-kolpino");
        assert_eq!(slug("Roads & Bridges"), "roads-bridges");
    }
}
