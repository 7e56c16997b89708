//! Personal data that citizens type into a request's free text — phone numbers, e-mail
//! addresses, people's names — masked for everyone who is not staff: the public request page,
//! Open311, the citizens' duplicate hints, open-data exports. The stored text is kept as it was
//! written, for the staff who answer it.
//!
//! Masking errs on the side of hiding: a ten-digit tax number reads like a phone number, and an
//! official's name is a name. Phone numbers need ten to twelve digits written with spaces,
//! hyphens or brackets (not dots, so dates stay); names are a capitalized word with a patronymic
//! (in any case) or with initials, or a surname after a word naming a trade or role
//! («сантехник Петров»). Apartment numbers go too, as the St. Petersburg portal hides them: a
//! flat's number points at a private home.

use regex::Regex;
use std::borrow::Cow;
use std::sync::LazyLock;

/// What a masked piece of text is replaced with.
pub const MASK: &str = "***";

static EMAIL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+").expect("a valid pattern"));

/// What may be a phone number, as Russians write them: `+7 (921) 555-12-34`, `8-812-123-45-67`,
/// `89215551234`; the digits are counted after.
static PHONE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:\+\s?7[\s\-]?|\b[78][\s\-]?)?\(?\b\d{3,5}\)?[\s\-]?\d{1,3}[\s\-]?\d{2}[\s\-]?\d{2}\b").expect("a valid pattern")
});

/// A Russian surname in any case: a capitalized word with a surname's ending (-ов, -ев, -ин,
/// -ский, -ко, -ук…), so that an ordinary word before a name («Заявитель») is not taken for one.
const SURNAME: &str = r"[А-ЯЁ][а-яё]*(?:ов|ев|ёв|ин|ын|ий|ой|ск|цк|ко|ук|юк|ых|их)(?:а|у|ым|ой|ом|е|ого|ую|ая|ий)?";

/// A Russian full name with its patronymic in any case: «Иванов Иван Иванович», «Ивану
/// Ивановичу», «Анна Сергеевна Петрова».
static FULL_NAME: LazyLock<Regex> = LazyLock::new(|| {
    let patronymic = r"[А-ЯЁ][а-яё]+(?:вич|вн|ичн|ьич)(?:а|у|ем|е|ой|ы|ом)?";
    Regex::new(&format!(r"(?:\b{SURNAME}\s+)?\b[А-ЯЁ][а-яё]+\s+{patronymic}\b(?:\s+{SURNAME}\b)?")).expect("a valid pattern")
});

/// A surname with initials: «Иванов И.И.», «И. И. Иванову».
static INITIALS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(r"\b{SURNAME}\s+[А-ЯЁ]\.\s?[А-ЯЁ]\.|\b[А-ЯЁ]\.\s?[А-ЯЁ]\.\s?{SURNAME}\b")).expect("a valid pattern")
});

/// An apartment's number (a private person's home), after «кв.», «квартира» and its cases; the
/// word stays, the number goes.
static APARTMENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(кв(?:арт?и?р[а-я]{0,3}|\.)?)(\s*(?:№|n|номер)?\s*)\d+(?:[а-я]\b)?(?:\s*[-–,]\s*\d+(?:[а-я]\b)?)*").expect("a valid pattern")
});

/// A surname after a word naming a person's role or trade: «Сантехник Петров», «председатель
/// ТСЖ Иванова», «инженеру Сидорову».
static ROLE_AND_SURNAME: LazyLock<Regex> = LazyLock::new(|| {
    let role = r"(?i:инженер|сантехник|электрик|дворник|техник|мастер|слесар|председател|сотрудни|директор|начальник|управляющ|управдом|исполнител|заявител|жител|жительниц|сосед|участков|диспетчер|оператор|прораб|бригадир|специалист|работни|инспектор|бухгалтер|консьерж|уборщи|гражданин|гражданк)[а-яё]*(?:\s+(?:ТСЖ|ЖСК|УК|ЖКС|ЖЭС|ГУЖА|ООО|АО|МО))?";
    Regex::new(&format!(r"\b({role})\s+{SURNAME}\b")).expect("a valid pattern")
});

/// Digits a phone number has, at least and at most.
const PHONE_DIGITS: std::ops::RangeInclusive<usize> = 10..=12;

/// `text` with the personal data in it masked ([`MASK`]); borrowed when there is none.
pub fn mask_personal_data(text: &str) -> Cow<'_, str> {
    let mut masked = Cow::Borrowed(text);
    for pattern in [&*EMAIL, &*FULL_NAME, &*INITIALS] {
        if pattern.is_match(&masked) {
            masked = Cow::Owned(pattern.replace_all(&masked, MASK).into_owned());
        }
    }
    if APARTMENT.is_match(&masked) {
        masked = Cow::Owned(APARTMENT.replace_all(&masked, format!("${{1}}${{2}}{MASK}")).into_owned());
    }
    if ROLE_AND_SURNAME.is_match(&masked) {
        masked = Cow::Owned(ROLE_AND_SURNAME.replace_all(&masked, format!("${{1}} {MASK}")).into_owned());
    }
    if PHONE.is_match(&masked) {
        let phoned = PHONE.replace_all(&masked, |found: &regex::Captures<'_>| {
            let run = &found[0];
            if PHONE_DIGITS.contains(&run.chars().filter(char::is_ascii_digit).count()) { MASK.to_owned() } else { run.to_owned() }
        });
        if phoned != masked {
            masked = Cow::Owned(phoned.into_owned());
        }
    }
    masked
}

/// `request` with the personal data typed into its free texts masked: its description, address
/// and last answer.
pub fn mask_request(request: &mut crate::Request) {
    let mask = |text: &mut String| {
        if let Cow::Owned(masked) = mask_personal_data(text) {
            *text = masked;
        }
    };
    mask(&mut request.text);
    request.address.iter_mut().chain(request.last_answer.iter_mut()).for_each(mask);
}

/// `event` with the personal data typed into its text masked.
pub fn mask_event(event: &mut crate::Event) {
    if let Some(text) = event.text.as_mut()
        && let Cow::Owned(masked) = mask_personal_data(text)
    {
        *text = masked;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_emails_and_names_are_masked_and_the_rest_is_kept() {
        let cases = [
            ("Звоните +7 (921) 555-12-34 или 8-812-123-45-67", "Звоните *** или ***"),
            ("мой номер 89215551234.", "мой номер ***."),
            ("пишите на ivan.petrov@example.ru, спасибо", "пишите на ***, спасибо"),
            ("Прошу передать Петрову Ивану Сергеевичу", "Прошу передать ***"),
            ("Заявитель Анна Сергеевна Кузнецова", "Заявитель ***"),
            ("ответ дал Сидоров П.П. вчера", "ответ дал *** вчера"),
            ("по словам И. И. Иванова", "по словам ***"),
            ("течёт в квартире 145, кв.12 и кв 3а", "течёт в квартире ***, кв.*** и кв ***"),
            ("над кв. 32,33, 34 и квартирами 40-45", "над кв. *** и квартирами ***"),
            ("Сантехник Петров не пришёл, председатель ТСЖ Иванова молчит", "Сантехник *** не пришёл, председатель ТСЖ *** молчит"),
        ];
        for (text, expected) in cases {
            assert_eq!(mask_personal_data(text), expected, "{text}");
        }
    }

    #[test]
    fn dates_addresses_and_ordinary_numbers_stay() {
        for text in [
            "Яма у дома 15 корп. 2 с 12.03.2021 10:30, 3 этаж",
            "Невский проспект, 28; кадастровый номер 78:07:0003119:1",
            "Уже 3 недели 120 семей без горячей воды",
            "Управляющая компания ЖКС № 2 Приморского района",
            "П.С. За уборкой будем следить; заявки 1553849 2012937 не исполнены",
        ] {
            assert!(matches!(mask_personal_data(text), Cow::Borrowed(_)), "{text} → {}", mask_personal_data(text));
        }
    }
}
