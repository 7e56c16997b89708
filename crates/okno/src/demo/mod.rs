//! A deterministic demo on a real region (Leningrad oblast, or Ryazan oblast: [`DemoRegion`]):
//! its districts with their real boundaries and populations, agencies, a bilingual catalog with
//! the business services, a year and a half of requests ending on the day the demo is made (with
//! realistic Russian texts and lifecycles, gathered around the districts' administrative
//! centres in proportion to their people), and one user per role. The same seed and day always
//! give the same data; the requests and their authors are fictional.

mod region;

pub use region::{DemoRegion, District, Region, Spot};

use anyhow::{Context, Result};
use chrono::{DateTime, Duration, DurationRound, TimeZone, Utc};
use okno_core::lifecycle::{transition, Action};
use okno_core::clock::{replay, DeadlineRules, Fact};
use okno_core::deadline::DeadlineConfig;
use okno_core::{
    Agency, AgencyCode, Attribute, AttributeDatatype, AttributeValue, Channel, Contact, Coordinates, EventKind, NewEvent, NewRequest,
    Priority, Role, Service, Status, Territory, TerritoryCode,
};
use okno_classify::{train, Example, FeatureConfig, Model, TrainParams, TrainSpec};
use okno_geo::TerritoryIndex;
use okno_app::access::{create_user, CreateUser};
use okno_store::{ImportedRequest, Store, StoredShape};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;

/// Requests in the demo.
pub const DEMO_REQUESTS: usize = 6_000;
/// The seed of the demo's random choices.
pub const SEED: u64 = 20_261_121;
/// Source system name of demo requests.
pub const SOURCE: &str = "demo";

/// Demo users and their passwords (printed when the demo is created; for demonstration only).
pub const DEMO_USERS: [(&str, &str, Role, Option<&str>); 4] = [
    ("admin", "demo-admin-password", Role::Admin, None),
    ("operator", "demo-operator-password", Role::Operator, None),
    ("analyst", "demo-analyst-password", Role::Analyst, None),
    ("roads", "demo-roads-password", Role::AgencyStaff, Some("roads")),
];

const AGENCIES: [(&str, &str, &str); 10] = [
    ("roads", "Комитет по дорожному хозяйству", "Roads Committee"),
    ("housing", "Комитет по жилищно-коммунальному хозяйству", "Housing and Utilities Committee"),
    ("water", "Водоканал", "Water Utility"),
    ("heating", "Теплосеть", "District Heating Company"),
    ("transport", "Комитет по транспорту", "Transport Committee"),
    ("landscape", "Комитет по благоустройству", "Public Spaces Committee"),
    ("digital", "Комитет цифрового развития", "Digital Development Committee"),
    ("export", "Центр поддержки экспорта", "Export Support Center"),
    ("sme", "Центр «Мой бизнес»", "My Business Center"),
    ("invest", "Агентство инвестиций", "Investment Agency"),
];

struct DemoService {
    code: &'static str,
    ru: &'static str,
    en: &'static str,
    group: &'static str,
    agency: &'static str,
    regime: &'static str,
    keywords: &'static [&'static str],
    /// Relative frequency and the winter factor (snow, heating are seasonal).
    weight: u32,
    winter: u32,
    texts: &'static [&'static str],
}

const SERVICES: &[DemoService] = &[
    DemoService { code: "pothole", ru: "Яма на дороге", en: "Pothole", group: "roads", agency: "roads", regime: "fz59",
        keywords: &["яма", "выбоина", "асфальт", "дорога"], weight: 14, winter: 1,
        texts: &["Огромная яма на проезжей части у дома {h} по {s}, машины объезжают по встречке.",
                 "На {s} напротив дома {h} провал асфальта, уже повредил колесо.",
                 "Выбоины по всей {s}, особенно у пешеходного перехода у дома {h}. Просьба отремонтировать."] },
    DemoService { code: "snow-road", ru: "Неубранный снег на дороге", en: "Snow not cleared from road", group: "roads", agency: "roads", regime: "fz59",
        keywords: &["снег", "гололед", "наледь", "уборка"], weight: 4, winter: 6,
        texts: &["Снег на дороге по {s} не убирается третий день, проехать невозможно.",
                 "Сплошной гололёд на тротуаре у дома {h} по {s}, люди падают.",
                 "Колейность и снежная каша на {s}, прошу направить технику."] },
    DemoService { code: "street-light", ru: "Не горит уличное освещение", en: "Street light out", group: "roads", agency: "roads", regime: "fz59",
        keywords: &["фонарь", "освещение", "темно"], weight: 6, winter: 2,
        texts: &["Не горят фонари вдоль {s} от дома {h} до остановки, очень темно.",
                 "Уже неделю не работает освещение во дворе дома {h} по {s}."] },
    DemoService { code: "yard", ru: "Благоустройство двора", en: "Courtyard upkeep", group: "housing", agency: "landscape", regime: "fz59",
        keywords: &["двор", "детская площадка", "скамейка", "газон"], weight: 9, winter: 1,
        texts: &["Во дворе дома {h} по {s} сломаны качели на детской площадке.",
                 "Просим установить скамейки и урны во дворе дома {h} по {s}.",
                 "Газон у дома {h} по {s} разъезжен машинами, нужна ограда."] },
    DemoService { code: "garbage", ru: "Мусор и контейнерные площадки", en: "Litter and bin areas", group: "housing", agency: "housing", regime: "fz59",
        keywords: &["мусор", "контейнер", "свалка", "вывоз"], weight: 10, winter: 1,
        texts: &["Контейнеры у дома {h} по {s} переполнены, мусор не вывозят неделю.",
                 "Несанкционированная свалка строительного мусора за домом {h} по {s}.",
                 "Крупногабаритный мусор лежит у площадки дома {h} по {s} уже месяц."] },
    DemoService { code: "stairwell", ru: "Содержание подъезда", en: "Stairwell upkeep", group: "housing", agency: "housing", regime: "fz59",
        keywords: &["подъезд", "парадная", "лифт", "уборка"], weight: 7, winter: 1,
        texts: &["В парадной дома {h} по {s} не убирают, грязь и запах.",
                 "Не работает лифт в доме {h} по {s}, пожилые жильцы не могут выйти.",
                 "Разбито окно на лестнице в доме {h} по {s}, дует."] },
    DemoService { code: "roof", ru: "Протечка кровли", en: "Roof leak", group: "housing", agency: "housing", regime: "fz59",
        keywords: &["крыша", "кровля", "протечка", "сосульки"], weight: 4, winter: 3,
        texts: &["Протекает крыша над последним этажом дома {h} по {s}, вода в квартире.",
                 "Сосульки и снег на крыше дома {h} по {s}, опасно ходить по тротуару."] },
    DemoService { code: "heating", ru: "Нет отопления", en: "No heating", group: "utilities", agency: "heating", regime: "fz59",
        keywords: &["отопление", "батареи", "холодно"], weight: 3, winter: 7,
        texts: &["В доме {h} по {s} холодные батареи, в квартирах +16.",
                 "Отопление так и не дали в дом {h} по {s}, дети болеют."] },
    DemoService { code: "water", ru: "Нет воды или плохое качество", en: "No water or poor quality", group: "utilities", agency: "water", regime: "fz59",
        keywords: &["вода", "водоснабжение", "ржавая", "напор"], weight: 5, winter: 1,
        texts: &["Третий день нет горячей воды в доме {h} по {s}.",
                 "Из крана идёт ржавая вода, дом {h} по {s}.",
                 "Слабый напор холодной воды на верхних этажах дома {h} по {s}."] },
    DemoService { code: "bus", ru: "Работа общественного транспорта", en: "Public transport service", group: "transport", agency: "transport", regime: "fz59",
        keywords: &["автобус", "маршрут", "остановка", "интервал"], weight: 6, winter: 1,
        texts: &["Автобус по {s} ходит раз в 40 минут вместо 15, люди не уезжают на работу.",
                 "Разбит павильон на остановке у дома {h} по {s}.",
                 "Просим вернуть маршрут, который отменили на {s}."] },
    DemoService { code: "internet", ru: "Подключение к интернету", en: "Internet connection", group: "digital", agency: "digital", regime: "fz59",
        keywords: &["интернет", "связь", "подключение", "оптика"], weight: 3, winter: 1,
        texts: &["В посёлке нет проводного интернета, школа у дома {h} по {s} без связи.",
                 "Плохая мобильная связь на {s}, просим установить вышку."] },
    DemoService { code: "export-support", ru: "Заявка на поддержку экспорта", en: "Export support request", group: "business", agency: "export", regime: "business_10wd",
        keywords: &["экспорт", "контракт", "выставка"], weight: 1, winter: 1,
        texts: &["Просим помочь с участием в международной выставке и поиском покупателей за рубежом.",
                 "Нужна консультация по сертификации продукции для экспорта."] },
    DemoService { code: "sme-consultation", ru: "Консультация для малого бизнеса", en: "SME consultation", group: "business", agency: "sme", regime: "business_5wd",
        keywords: &["бизнес", "консультация", "ип"], weight: 1, winter: 1,
        texts: &["Прошу проконсультировать по мерам поддержки для начинающего предпринимателя.",
                 "Нужна консультация по налоговому режиму для малого предприятия."] },
    DemoService { code: "sme-microloan", ru: "Микрозаём для малого бизнеса", en: "SME microloan", group: "business", agency: "sme", regime: "business_10wd",
        keywords: &["микрозаём", "кредит", "заём"], weight: 1, winter: 1,
        texts: &["Прошу рассмотреть заявку на микрозаём на закупку оборудования."] },
    DemoService { code: "green-corridor", ru: "Инвестпроект: «зелёный коридор»", en: "Investor green corridor", group: "business", agency: "invest", regime: "business_10wd",
        keywords: &["инвестиции", "проект", "участок"], weight: 1, winter: 1,
        texts: &["Просим сопровождения инвестиционного проекта по строительству склада, подбор участка."] },
];

/// Streets as a text names them ("по улице Ленина") and as an address does ("ул. Ленина").
const STREETS: [(&str, &str); 14] = [
    ("улице Ленина", "ул. Ленина"), ("Садовой улице", "Садовая ул."), ("проспекту Мира", "пр. Мира"),
    ("Заводской улице", "Заводская ул."), ("улице Гагарина", "ул. Гагарина"), ("Набережной улице", "Набережная ул."),
    ("Лесной улице", "Лесная ул."), ("Школьной улице", "Школьная ул."), ("улице Победы", "ул. Победы"),
    ("Октябрьскому проспекту", "Октябрьский пр."), ("Молодёжной улице", "Молодёжная ул."), ("Советской улице", "Советская ул."),
    ("Парковой улице", "Парковая ул."), ("Вокзальной улице", "Вокзальная ул."),
];

const SURNAMES: [&str; 8] = ["Смирнова", "Кузнецов", "Попова", "Васильев", "Новикова", "Морозов", "Волкова", "Соколов"];

const ANSWERS: [&str; 4] = [
    "Работы выполнены, проблема устранена.",
    "Заявка включена в план работ текущего месяца; выполнение проконтролировано.",
    "Проведено обследование, нарушение устранено подрядной организацией.",
    "Меры приняты, ответственные лица привлечены к работе.",
];

fn catalog() -> Vec<Service> {
    SERVICES
        .iter()
        .map(|s| Service {
            code: s.code.into(),
            name_ru: s.ru.into(),
            name_en: s.en.into(),
            description_ru: String::new(),
            description_en: String::new(),
            group: s.group.into(),
            keywords: s.keywords.iter().map(|k| (*k).to_owned()).collect(),
            attributes: if s.code == "pothole" {
                vec![Attribute {
                    code: "size".into(), description_ru: "Размер ямы".into(), description_en: "Size of the pothole".into(),
                    datatype: AttributeDatatype::Singlevaluelist, required: false, order: 1, variable: true,
                    values: [("small", "меньше 30 см", "under 30 cm"), ("medium", "30–100 см", "30–100 cm"), ("large", "больше метра", "over a metre")]
                        .iter()
                        .map(|(k, ru, en)| AttributeValue { key: (*k).into(), name_ru: (*ru).into(), name_en: (*en).into() })
                        .collect(),
                }]
            } else {
                Vec::new()
            },
            default_agency: Some(s.agency.into()),
            deadline_regime: s.regime.into(),
            electronic: true,
            active: true,
        })
        .collect()
}

/// The demo's "today" for a demo made at `now`: the start of that hour. Its requests span the
/// 540 days before it, so the demo lives on the day it is made (the default windows are full).
fn demo_today(now: DateTime<Utc>) -> DateTime<Utc> {
    now.duration_trunc(Duration::hours(1)).unwrap_or(now)
}

/// A fixed day to make the demo's requests for where only their texts matter (the topic
/// model, which must be the same model whenever it is trained) and in tests.
fn reference_day() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).single().expect("valid date")
}

/// A burst of complaints the demo's spike alerts find: a heating main failing in the region's
/// second most populous district.
struct Incident {
    service: &'static str,
    requests: usize,
    days_before_today: i64,
}

const INCIDENT: Incident = Incident { service: "heating", requests: 45, days_before_today: 4 };

/// A cause that keeps coming back, which the demo's systemic-problem scan finds: the roof of one
/// building in the region's most populous district (beside its administrative centre) leaking
/// after every rain for six weeks.
struct Recurring {
    service: &'static str,
    every_days: i64,
    texts: &'static [&'static str],
}

const RECURRING: Recurring = Recurring {
    service: "roof",
    every_days: 5,
    texts: &[
        "Протекает крыша в подъезде, вода течёт по стенам на пятом этаже.",
        "Снова течёт крыша после дождя, в подъезде лужи.",
        "Протечка кровли над подъездом, мокрые стены и потолок.",
        "Крыша протекает уже месяц, управляющая компания не реагирует.",
        "После дождя опять протекает крыша, вода в квартире на пятом этаже.",
        "Течёт кровля, в подъезде вода на лестнице.",
        "Протекает крыша дома, потолок в подъезде промок.",
        "Опять течёт крыша в подъезде, ремонт так и не сделали.",
        "Протечка крыши, вода течёт по стенам подъезда.",
    ],
};

/// Where the recurring roof leak is: the most populous district and the building's point
/// (latitude, longitude), its administrative centre.
pub fn recurring_place(region: &Region) -> (&District, (f64, f64)) {
    let district = region.by_population()[0];
    (district, district.hub)
}

/// The district of the heating failure: the second most populous.
pub fn incident_district(region: &Region) -> &District {
    region.by_population()[1]
}

fn is_winter(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    matches!(t.month(), 11 | 12 | 1 | 2 | 3)
}

/// Walks a request through its lifecycle with the real state machine, returning its events and
/// final state.
struct Life {
    status: Status,
    agency: Option<AgencyCode>,
    events: Vec<NewEvent>,
    last_answer: Option<String>,
    rating: Option<i16>,
    closed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl Life {
    /// When the first event of one of `kinds` happened.
    fn first(&self, kinds: &[EventKind]) -> Option<DateTime<Utc>> {
        self.events.iter().find(|e| kinds.contains(&e.kind)).map(|e| e.at)
    }

    fn step(&mut self, action: Action, at: DateTime<Utc>, kind: EventKind, actor: &str, text: Option<&str>) -> bool {
        let Ok(next) = transition(self.status, action) else { return false };
        let mut e = NewEvent::new(at, kind, actor);
        e.status = Some(next);
        e.text = text.map(String::from);
        if action == Action::Route {
            e.agency = self.agency.clone();
        }
        self.status = next;
        self.updated_at = at;
        self.closed_at = if next.is_final() { Some(at) } else { None };
        self.events.push(e);
        true
    }
}

/// Of the requests of the last [`STUCK_DAYS`] days, the share that stays with its agency
/// unanswered, so that the demo has overdue work (some 60 requests, most past their deadline).
const STUCK_SHARE: f64 = 0.08;
/// See [`STUCK_SHARE`].
const STUCK_DAYS: i64 = 90;

fn simulate(rng: &mut StdRng, created: DateTime<Utc>, agency: &str, today: DateTime<Utc>) -> Life {
    let mut registered = NewEvent::new(created, EventKind::Registered, "web");
    registered.status = Some(Status::Registered);
    let mut life = Life {
        status: Status::Registered, agency: Some(agency.into()), events: vec![registered],
        last_answer: None, rating: None, closed_at: None, updated_at: created,
    };
    let mut at = created + Duration::minutes(rng.gen_range(20..600));
    let next = |rng: &mut StdRng, at: &mut DateTime<Utc>, max_hours: i64| -> bool {
        *at += Duration::hours(rng.gen_range(2..max_hours.max(3)));
        *at < today
    };
    if at >= today || !life.step(Action::Route, at, EventKind::Routed, "operator", Some("по компетенции")) {
        return life;
    }
    if rng.gen_bool(0.04) {
        next(rng, &mut at, 48);
        life.step(Action::Reject, at, EventKind::Rejected, "operator", Some("Обращение не содержит сути вопроса"));
        return life;
    }
    if !next(rng, &mut at, 72) { return life; }
    life.step(Action::Start, at, EventKind::Started, agency, None);
    if created > today - Duration::days(STUCK_DAYS) && rng.gen_bool(STUCK_SHARE) {
        // Stuck with the agency: the backlog the deadline queues are for.
        return life;
    }
    if rng.gen_bool(0.25) {
        if !next(rng, &mut at, 240) { return life; }
        let text = "Работы запланированы, срок выполнения уточняется.";
        life.step(Action::IntermediateAnswer, at, EventKind::IntermediateAnswer, agency, Some(text));
        life.last_answer = Some(text.into());
    }
    let slow = rng.gen_bool(0.15);
    if !next(rng, &mut at, if slow { 900 } else { 300 }) { return life; }
    let answer = *ANSWERS.choose(rng).expect("answers");
    life.step(Action::Answer, at, EventKind::Answered, agency, Some(answer));
    life.last_answer = Some(answer.into());
    if rng.gen_bool(0.5) {
        if !next(rng, &mut at, 96) { return life; }
        let rating: i16 = *[5, 5, 4, 4, 3, 2, 1].choose(rng).expect("ratings");
        let mut e = NewEvent::new(at, EventKind::Rated, "citizen");
        e.rating = Some(rating);
        e.status = Some(life.status);
        life.events.push(e);
        life.rating = Some(rating);
        if rating <= 2 && rng.gen_bool(0.6) {
            if !next(rng, &mut at, 24) { return life; }
            life.step(Action::Reopen, at, EventKind::Reopened, "citizen", Some("Проблема не решена"));
            if !next(rng, &mut at, 300) { return life; }
            life.step(Action::Answer, at, EventKind::Answered, agency, Some(ANSWERS[0]));
            life.last_answer = Some(ANSWERS[0].into());
        }
    }
    if next(rng, &mut at, 240) {
        life.step(Action::Close, at, EventKind::Closed, "system", Some("ответ принят"));
    }
    life
}

/// Runs the deadline clock over a simulated timeline, writes each deadline change into the event
/// that caused it, and returns the deadline the timeline ends with.
fn record_deadlines(rules: DeadlineRules<'_>, events: &mut [NewEvent]) -> Option<DateTime<Utc>> {
    let (state, changes) = replay(rules, events.iter().map(Fact::from));
    for change in changes {
        events[change.index].old_due_at = change.old;
        events[change.index].new_due_at = change.new;
    }
    state.due_at
}

/// Builds the demo's requests (deterministic).
pub fn requests(region: &Region, today: DateTime<Utc>) -> Vec<ImportedRequest> {
    let deadlines = DeadlineConfig::shipped();
    let mut rng = StdRng::seed_from_u64(SEED);
    let start = today - Duration::days(540);
    let channels = [(Channel::Web, 55), (Channel::Api, 5), (Channel::Phone, 20), (Channel::Email, 8), (Channel::Social, 12)];
    let index = TerritoryIndex::new(region.districts.iter().map(|d| (d.territory.code.to_string(), d.shape.clone())).collect());
    let mut out = Vec::with_capacity(DEMO_REQUESTS);
    let incident_service = SERVICES.iter().find(|s| s.code == INCIDENT.service).expect("the incident's service is in the catalog");
    let incident_district = incident_district(region);
    let incident_start = today - Duration::days(INCIDENT.days_before_today);
    let recurring_service = SERVICES.iter().find(|s| s.code == RECURRING.service).expect("the recurring cause's service is in the catalog");
    let (recurring_district, recurring_point) = recurring_place(region);
    let recurring_from = DEMO_REQUESTS - INCIDENT.requests - RECURRING.texts.len();
    for i in 0..DEMO_REQUESTS {
        let incident = i >= DEMO_REQUESTS - INCIDENT.requests;
        let recurring = (recurring_from..DEMO_REQUESTS - INCIDENT.requests).contains(&i).then(|| i - recurring_from);
        let (created, service, district) = if incident {
            // The last requests are the incident: one service, one district, two days.
            (incident_start + Duration::seconds(rng.gen_range(0..2 * 86_400)), incident_service, incident_district)
        } else if let Some(k) = recurring {
            // Before them, the recurring cause: one every few days, the latest a day ago.
            let days = 1 + RECURRING.every_days * k as i64;
            (today - Duration::days(days) + Duration::seconds(rng.gen_range(0..36_000)), recurring_service, recurring_district)
        } else {
            // Requests grow a little over time; pick a uniform second in the window, biased later.
            let frac: f64 = rng.gen_range(0.0..1.0f64).powf(0.85);
            let created = start + Duration::seconds((frac * 540.0 * 86_400.0) as i64);
            let weights: Vec<u32> = SERVICES.iter().map(|s| s.weight * if is_winter(created) { s.winter } else { 1 }).collect();
            let total: u32 = weights.iter().sum();
            let mut pick = rng.gen_range(0..total);
            let service = SERVICES.iter().zip(&weights).find(|(_, w)| if pick < **w { true } else { pick -= **w; false }).map(|(s, _)| s).expect("a service");
            (created, service, region.pick(&mut rng))
        };
        let (street, street_in_address) = STREETS[rng.gen_range(0..STREETS.len())];
        let house = rng.gen_range(1..120);
        let template = service.texts[rng.gen_range(0..service.texts.len())];
        let mut text = template.replace("{s}", street).replace("{h}", &house.to_string());
        let mut spot = district.spot(&mut rng);
        if let Some(k) = recurring {
            // Within some 40 metres of the building, each worded differently.
            text = RECURRING.texts[k].to_owned();
            spot = Spot { lat: recurring_point.0 + rng.gen_range(-0.0003..0.0003), lon: recurring_point.1 + rng.gen_range(-0.0005..0.0005), in_centre: true };
        }
        let coordinates = Coordinates::new(spot.lat, spot.lon);
        let placement = index.place(spot.lat, spot.lon);
        let mut pick = rng.gen_range(0..100);
        let channel = channels.iter().find(|(_, w)| if pick < *w { true } else { pick -= *w; false }).map_or(Channel::Web, |c| c.0);
        let contact = if rng.gen_bool(0.7) {
            Contact {
                name: Some(format!("{} {}.", SURNAMES[rng.gen_range(0..SURNAMES.len())], ["А", "Е", "И", "О", "С"][rng.gen_range(0..5)])),
                phone: Some(format!("+7 9{:02} {:03}-{:02}-{:02}", rng.gen_range(0..100), rng.gen_range(0..1000), rng.gen_range(0..100), rng.gen_range(0..100))),
                email: None,
            }
        } else {
            Contact::default()
        };
        let mut attributes = BTreeMap::new();
        if service.code == "pothole" {
            attributes.insert("size".to_owned(), vec![["small", "medium", "large"][rng.gen_range(0..3)].to_owned()]);
        }
        let mut life = simulate(&mut rng, created, service.agency, today);
        life.events[0].actor = channel.as_str().to_owned();
        let agency = if life.status == Status::Registered { None } else { life.agency.clone() };
        let first_reaction_at = life.first(&[EventKind::Started, EventKind::IntermediateAnswer, EventKind::Answered]);
        let first_answer_at = life.first(&[EventKind::IntermediateAnswer, EventKind::Answered]);
        let rules = deadlines.rules_for(service.code, service.regime);
        let intake_due = rules.map(|r| r.due_at_intake(created, false)).unwrap_or_default();
        let due_at = rules.and_then(|r| record_deadlines(r, &mut life.events));
        let token = okno_app::intake::tracking_token(created, &mut rng);
        let mut request = NewRequest::recorded(service.code, channel, Some((SOURCE.into(), format!("demo-{i}"))), text, created)
            .expect("the demo's services and ids are not blank");
        request.coordinates = coordinates;
        request.address = Some(format!("{}, {}, {house}", district.settlement(&spot), street_in_address));
        request.territory = placement.territory.clone().map(TerritoryCode::from);
        request.agency = agency;
        request.priority = if service.code == "heating" { Priority::High } else { Priority::Normal };
        request.attributes = attributes;
        request.contact = contact;
        request.category = Some(service.group.into());
        request.location = okno_app::places::location(&placement);
        out.push(ImportedRequest {
            request,
            token,
            status: life.status,
            updated_at: life.updated_at,
            closed_at: life.closed_at,
            due_at,
            last_answer: life.last_answer,
            rating: life.rating,
            first_reaction_due_at: intake_due.first_reaction,
            routing_due_at: intake_due.routing,
            first_reaction_at,
            first_answer_at,
            events: life.events,
        });
    }
    out.sort_by_key(|r| r.request.created_at);
    out
}

/// Days before the demo's last day that its creation scans for spikes.
const ALERT_SCAN_DAYS: i64 = 60;

/// Scans the demo's last weeks for spikes with the default rules, as `serve` does day by day,
/// so that the alerts screens have something to show; returns how many were raised.
async fn scan_demo_alerts(store: &dyn Store, today: DateTime<Utc>) -> Result<usize> {
    let zone = DeadlineConfig::shipped().timezone;
    let last = today.with_timezone(&zone).date_naive();
    let rules = okno_analytics::spikes::SpikeRules::default();
    let report = okno_app::alerts::scan_stored(store, zone, last - Duration::days(ALERT_SCAN_DAYS), last, &rules, chrono::Utc::now()).await?;
    Ok(report.raised)
}

/// Whether the database's catalog is the demo's (every demo service is in it).
pub async fn holds_demo(store: &dyn Store) -> Result<bool> {
    let services = store.services().await?;
    Ok(SERVICES.iter().all(|d| services.iter().any(|s| s.code == d.code)))
}

/// Trains the topic model the demo's intake uses for requests filed without a service: each
/// demo request's text labelled with its service code. Deterministic (the same demo gives the
/// same model), so that "let Okno choose" on the portal and the triage queue have a real model
/// behind them without a training step of the user's. The demo's texts come from a few
/// templates, which a model fits perfectly: with the usual settings it would be sure of any
/// text sharing one word with a template ("невозможно спать" → snow on the road, 100 %). A
/// stronger L2 penalty and no temperature fitted on (equally templated) held-out texts keep it
/// sure of texts like the templates and unsure of others, which then wait for triage.
pub fn topic_model() -> Result<Model> {
    let requests = requests(&DemoRegion::default().load()?, reference_day());
    let examples: Vec<Example<'_>> =
        requests.iter().map(|r| Example { text: &r.request.text, extras: Vec::new(), label: &r.request.service_code }).collect();
    let spec = TrainSpec {
        target: "reason".into(),
        extra_fields: Vec::new(),
        features: FeatureConfig::default(),
        params: TrainParams { l2: 3e-4, calibration_share: 0.0, ..TrainParams::default() },
        roles: None,
        routing: None,
    };
    Ok(train(&examples, &spec)?)
}

/// Creates the demo region unless the database already holds requests or services.
pub async fn ensure_demo(store: &dyn Store, region: DemoRegion) -> Result<()> {
    if store.totals().await?.0 > 0 || !store.services().await?.is_empty() {
        eprintln!("the database already has data: not adding the demo region");
        return Ok(());
    }
    let region = region.load()?;
    eprintln!("creating the demo on {}…", region.territory.name_en);
    store.upsert_territory(&region.territory).await?;
    let shapes: Vec<(Territory, StoredShape)> = region
        .districts
        .iter()
        .map(|d| (d.territory.clone(), okno_app::imports::territories::stored_shape(&d.territory.code, &d.shape, Some(&region.attribution))))
        .collect();
    store.put_territory_shapes(&shapes).await?;
    for (code, ru, en) in AGENCIES {
        store.upsert_agency(&Agency { code: code.into(), name_ru: ru.into(), name_en: en.into(), parent: None }).await?;
    }
    for service in catalog() {
        store.upsert_service(&service).await?;
    }
    let today = demo_today(chrono::Utc::now());
    let requests = requests(&region, today);
    for chunk in requests.chunks(okno_app::imports::BATCH_SIZE) {
        store.import_batch(chunk).await?;
    }
    let alerts = scan_demo_alerts(store, today).await?;
    let zone = DeadlineConfig::shipped().timezone;
    let problems = okno_app::problems::scan(store, &okno_core::problem::ProblemRules::default(), zone, today).await?;
    for (login, password, role, agency) in DEMO_USERS {
        let form = CreateUser { login: login.into(), password: password.into(), role, agency: agency.map(AgencyCode::from) };
        create_user(store, form, "demo", chrono::Utc::now()).await.with_context(|| format!("creating demo user {login}"))?;
    }
    eprintln!("demo created: {} districts, {} requests, {alerts} spike alerts, {} systemic problems; sign in as (demo passwords):", region.districts.len(), requests.len(), problems.created);
    for (login, password, role, _) in DEMO_USERS {
        eprintln!("  {login:<9} {password:<24} {}", role.as_str());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_topic_model_is_sure_of_clear_texts_and_leaves_vague_ones_to_triage() {
        let model = topic_model().unwrap();
        let best = |text: &str| {
            let query = okno_classify::Query { text, ..Default::default() };
            model.ranked(&query, 3, &mut okno_classify::Workspace::default()).remove(0)
        };
        let threshold = 0.6;
        for (text, service) in [("Огромная яма на проезжей части", "pothole"), ("Контейнеры переполнены, мусор не вывозят", "garbage")] {
            let (label, p) = best(text);
            assert!(label == service && p >= threshold, "{text}: {label} {p}");
        }
        for text in ["Соседи шумят по ночам, невозможно спать", "Во дворе глубокая яма на проезде, машины не проходят"] {
            let (label, p) = best(text);
            assert!(p < threshold, "{text}: {label} {p}");
        }
    }

    fn leningrad() -> Region {
        DemoRegion::Leningrad.load().unwrap()
    }

    #[test]
    fn the_demo_is_deterministic_and_plausible() {
        let a = requests(&leningrad(), reference_day());
        let b = requests(&leningrad(), reference_day());
        assert_eq!(a, b);
        assert_eq!(a.len(), DEMO_REQUESTS);
        let closed = a.iter().filter(|r| r.status == Status::Closed).count();
        assert!(closed > DEMO_REQUESTS / 2, "most old requests are finished: {closed}");
        assert!(a.iter().any(|r| r.status == Status::Registered || r.status == Status::InProgress));
        assert!(a.iter().all(|r| r.events.windows(2).all(|w| w[0].at <= w[1].at)), "timelines are ordered");
        let first = a.first().unwrap().request.created_at;
        assert!(reference_day() - first > Duration::days(365), "more than a year of requests");
    }

    #[test]
    fn the_demo_lives_on_the_day_it_is_made() {
        let now = Utc::now();
        let made = requests(&leningrad(), demo_today(now));
        let last = made.iter().map(|r| r.request.created_at).max().unwrap();
        assert!(last <= now && now - last < Duration::days(1), "the newest request is from today: {last}");
        let last_week = made.iter().filter(|r| r.request.created_at > now - Duration::days(7)).count();
        assert!(last_week > 50, "the default windows are full: {last_week} requests in the last week");
    }

    #[test]
    fn the_demo_holds_one_systemic_problem_the_recurring_roof_leak() {
        use okno_core::duplicates::Trigrams;
        use okno_core::problem::{find, Member, ProblemRules};
        let rules = ProblemRules::default();
        for region in [DemoRegion::Leningrad, DemoRegion::Ryazan] {
            let region = region.load().unwrap();
            let members: Vec<Member> = requests(&region, reference_day())
                .iter()
                .enumerate()
                .filter(|(_, r)| r.request.created_at > reference_day() - Duration::days(rules.days))
                .map(|(i, r)| Member {
                    id: okno_core::RequestId(i as i64), topic: r.request.category.clone().unwrap_or_default(), at: r.request.created_at,
                    point: r.request.coordinates.expect("demo requests have points"), grams: Trigrams::of(&r.request.text),
                    text: r.request.text.clone(), territory: r.request.territory.clone(), agency: r.request.agency.clone(),
                })
                .collect();
            let found = find(&members, &rules, DeadlineConfig::shipped().timezone);
            assert_eq!(found.len(), 1, "{}: {found:#?}", region.territory.name_en);
            let summary = &found[0].summary;
            let district = recurring_place(&region).0.territory.code.to_string();
            assert_eq!((summary.topic.as_str(), found[0].members.len(), summary.territory.as_deref()), ("housing", RECURRING.texts.len(), Some(district.as_str())));
        }
    }

    #[test]
    fn every_demo_request_lies_in_its_district_has_a_cell_and_the_districts_share_them_by_population() {
        for region in [DemoRegion::Leningrad, DemoRegion::Ryazan] {
            let region = region.load().unwrap();
            let made = requests(&region, reference_day());
            for r in &made {
                let request = &r.request;
                assert!(request.location.flag.is_none() && request.location.cell.is_some(), "{:?} placed as {:?}", request.source_id, request.location);
                let district = region.districts.iter().find(|d| Some(&d.territory.code) == request.territory.as_ref()).expect("a district");
                let point = request.coordinates.expect("a point");
                assert!(district.shape.contains(point.lon, point.lat), "{:?} outside {}", request.source_id, district.territory.code);
                assert!(request.address.as_deref().is_some_and(|a| a.starts_with(&district.centre) || a.starts_with(&district.territory.name_ru)), "{:?}", request.address);
            }
            let largest = region.by_population()[0];
            let share = made.iter().filter(|r| r.request.territory.as_ref() == Some(&largest.territory.code)).count() as f64 / made.len() as f64;
            let people = largest.territory.population.unwrap() as f64 / region.territory.population.unwrap() as f64;
            assert!((share - people).abs() < 0.05, "{}: {share:.2} of the requests, {people:.2} of the people", largest.territory.name_en);
        }
    }
}
