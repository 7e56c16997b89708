// Russian (the default) and English texts of the UI, the chosen language kept in the browser,
// and number and date formatting in that language.
import { Observable, useObservable } from './state';

/** A language of the UI. */
export type Lang = 'ru' | 'en';

const STORAGE_KEY = 'okno.lang';

function initialLang(): Lang {
  const stored = localStorage.getItem(STORAGE_KEY);
  return stored === 'en' ? 'en' : 'ru';
}

/** The language the UI speaks now. */
export const lang = new Observable<Lang>(initialLang());

/** Switches the language and remembers the choice. */
export function setLang(next: Lang): void {
  localStorage.setItem(STORAGE_KEY, next);
  document.documentElement.lang = next;
  lang.set(next);
}
document.documentElement.lang = lang.get();

const messages = {
  app_name: ['Окно', 'Okno'],
  app_tagline: ['Региональный центр управления', 'Regional management center'],
  nav_portal: ['Подать обращение', 'Report a problem'],
  nav_map: ['Карта', 'Map'],
  nav_console: ['Консоль оператора', 'Operator console'],
  nav_agency: ['Ведомство', 'Agency'],
  nav_dashboards: ['Показатели', 'Dashboards'],
  nav_login: ['Войти', 'Sign in'],
  nav_logout: ['Выйти', 'Sign out'],
  nav_stats: ['Статистика', 'Statistics'],
  language: ['Язык', 'Language'],
  loading: ['Загрузка…', 'Loading…'],
  error_network: ['Сервер недоступен. Проверьте соединение и повторите.', 'The server cannot be reached. Check the connection and try again.'],
  not_found: ['Страница не найдена', 'Page not found'],
  forbidden: ['Нет доступа', 'Access denied'],
  error_invalid: ['Проверьте данные', 'Please check the input'],
  error_bad_request: ['Запрос не удалось прочитать', 'The request could not be read'],
  error_rate_limited: ['Слишком много запросов. Повторите через минуту.', 'Too many requests. Try again in a minute.'],
  error_internal: ['Ошибка на сервере. Повторите позже.', 'Something went wrong on the server. Try again later.'],
  error_not_found_item: ['Не найдено', 'Not found'],
  error_conflict: ['Действие не выполнено: состояние изменилось. Обновите страницу.', 'Not done: the state has changed. Reload the page.'],
  refusal_not_permitted: ['У вас нет права на действие «{action}» с этим обращением.', 'You may not “{action}” this request.'],
  refusal_transition: ['Действие «{action}» недоступно: обращение в статусе «{status}».', '“{action}” is not possible: the request is {status}.'],
  refusal_clock_not_stopped: ['Срок не приостановлен — возобновлять нечего.', 'The deadline is not paused, so there is nothing to resume.'],
  refusal_clock_already_stopped: ['Срок уже приостановлен.', 'The deadline is already paused.'],
  refusal_extensions_used: ['Все продления срока ({allowed}) уже использованы.', 'All deadline extensions ({allowed}) are used.'],
  need_login: ['Войдите, чтобы открыть эту страницу.', 'Sign in to open this page.'],
  none: ['—', '—'],
  save: ['Сохранить', 'Save'],
  cancel: ['Отмена', 'Cancel'],
  search: ['Поиск', 'Search'],
  apply: ['Применить', 'Apply'],
  more: ['Ещё', 'More'],
  all: ['Все', 'All'],
  any: ['Любой', 'Any'],
  days: ['дн.', 'days'],

  login_title: ['Вход для сотрудников', 'Staff sign-in'],
  login_name: ['Логин', 'Login'],
  login_password: ['Пароль', 'Password'],
  login_submit: ['Войти', 'Sign in'],
  login_failed: ['Неверный логин или пароль.', 'Wrong login or password.'],

  portal_title: ['Сообщите о проблеме', 'Report a problem'],
  portal_lead: [
    'Опишите, что случилось и где. Обращение попадёт в ответственное ведомство, а вы сможете следить за ответом.',
    'Say what is wrong and where. The request goes to the body responsible, and you can follow the answer.',
  ],
  portal_service: ['Тема', 'Topic'],
  portal_service_search: ['Найдите тему по словам', 'Find a topic by words'],
  portal_service_pick: ['Выберите тему', 'Choose a topic'],
  portal_service_auto: ['Не знаю — пусть Окно определит по описанию', 'Not sure — let Okno tell from the description'],
  portal_place: ['Место', 'Place'],
  portal_place_hint: ['Нажмите на карту, чтобы поставить метку, или найдите адрес выше.', 'Click the map to place a pin, or find the address above.'],
  portal_address: ['Адрес', 'Address'],
  portal_address_hint: ['Начните вводить район, улицу или адрес — выберите из найденных, и метка встанет на карту.', 'Start typing a district, a street or an address, pick one of those found, and the pin moves there.'],
  portal_address_places: ['Известные места', 'Known places'],
  place_kind_territory: ['территория', 'territory'],
  place_kind_street: ['улица', 'street'],
  place_kind_address: ['адрес', 'address'],
  place_requests: ['обращений: {n}', 'requests: {n}'],
  portal_text: ['Описание', 'Description'],
  portal_text_hint: ['Что случилось? Чем подробнее, тем быстрее решат.', 'What is wrong? The more detail, the faster it is fixed.'],
  portal_media: ['Ссылка на фото', 'Photo link'],
  portal_name: ['Ваше имя', 'Your name'],
  portal_email: ['Эл. почта для ответа', 'E-mail for the answer'],
  portal_phone: ['Телефон', 'Phone'],
  portal_contact_note: [
    'Контакты видят только сотрудники, которые работают с обращением; каждый просмотр записывается.',
    'Only the staff handling the request see your contact; every look is recorded.',
  ],
  portal_submit: ['Отправить', 'Send'],
  portal_sending: ['Отправляем…', 'Sending…'],
  portal_duplicates: ['Похожие обращения рядом', 'Similar requests nearby'],
  portal_duplicates_lead: [
    'Возможно, об этом уже сообщили. Можно следить за существующим обращением вместо нового.',
    'This may already be reported. You can follow the existing request instead of filing a new one.',
  ],
  portal_follow: ['Следить за этим', 'Follow this one'],
  portal_sent_title: ['Обращение принято', 'Request received'],
  portal_sent_token: ['Код для отслеживания', 'Tracking code'],
  portal_sent_keep: ['Сохраните ссылку — по ней видно статус и ответ.', 'Keep the link: it shows the status and the answer.'],
  portal_open_track: ['Открыть страницу обращения', 'Open the request page'],
  portal_track_title: ['Проверить статус', 'Check a status'],
  portal_track_token: ['Код отслеживания', 'Tracking code'],
  portal_track_go: ['Проверить', 'Check'],
  required: ['Обязательное поле', 'Required'],
  text_too_short: ['Опишите проблему подробнее (не меньше 10 символов).', 'Describe the problem in more detail (at least 10 characters).'],
  bad_email: ['Адрес почты выглядит неверно.', 'This e-mail address looks wrong.'],
  bad_url: ['Нужна ссылка, начинающаяся с http:// или https://', 'A link starting with http:// or https:// is needed'],

  track_title: ['Обращение №{id}', 'Request #{id}'],
  track_status: ['Статус', 'Status'],
  track_due: ['Срок ответа', 'Answer due'],
  track_answer: ['Ответ', 'Answer'],
  track_history: ['История', 'History'],
  track_rate: ['Оцените ответ', 'Rate the answer'],
  track_rated: ['Ваша оценка: {rating} из 5', 'Your rating: {rating} of 5'],
  track_reopen: ['Проблема не решена — вернуть в работу', 'Not fixed — send back'],
  track_reopen_reason: ['Что осталось нерешённым?', 'What is still wrong?'],
  track_not_found: ['Обращение с таким кодом не найдено.', 'No request has this code.'],

  map_title: ['Ситуационный экран', 'Situation screen'],
  map_public_title: ['Карта обращений', 'Map of requests'],
  map_mode_cells: ['Соты', 'Hexagons'],
  map_mode_territories: ['Территории', 'Territories'],
  map_measure: ['Показатель', 'Measure'],
  map_measure_count: ['Число обращений', 'Requests'],
  map_measure_rate: ['На 1000 жителей', 'Per 1,000 residents'],
  map_measure_change: ['Изменение к прошлому периоду', 'Change vs previous period'],
  map_window: ['Период', 'Window'],
  map_window_days: ['{n} дн. по {date}', '{n} days to {date}'],
  map_play: ['Показать динамику', 'Play'],
  map_stop: ['Стоп', 'Stop'],
  map_total: ['Всего {count}, было {previous}', '{count} in all, {previous} before'],
  map_topic: ['Тема', 'Topic'],
  map_agency: ['Ведомство', 'Agency'],
  map_status: ['Состояние', 'Status'],
  map_channel: ['Канал', 'Channel'],
  map_status_open: ['Открытые', 'Open'],
  map_status_closed: ['Закрытые', 'Closed'],
  map_requests_here: ['Обращения здесь', 'Requests here'],
  map_count: ['Обращений: {count}', 'Requests: {count}'],
  map_previous: ['В прошлом периоде: {count}', 'Previous period: {count}'],
  map_per_1000: ['На 1000 жителей: {rate}', 'Per 1,000 residents: {rate}'],
  chart_count: ['обращений: {count}', 'requests: {count}'],
  chart_year_before: ['год назад: {count}', 'a year before: {count}'],
  chart_now: ['этот год', 'this year'],
  chart_year_ago: ['год назад', 'a year before'],
  map_legend_change: ['Изменение к прошлому периоду', 'Change vs the previous period'],
  map_legend_none: ['нет обращений', 'no requests'],
  map_nothing: ['С {from} по {to} обращений нет. Выберите другой период или снимите фильтры.', 'No requests from {from} to {to}. Choose another window or clear the filters.'],
  map_cell: ['Участок карты', 'Map cell'],
  map_change: ['Изменение: {change}', 'Change: {change}'],
  map_table: ['Таблица мест ({n})', 'Places as a table ({n})'],
  map_table_territory: ['Территория', 'Territory'],
  map_table_cell: ['Ячейка H3', 'H3 cell'],
  map_table_previous: ['В прошлом периоде', 'Previous period'],
  map_table_change: ['Изменение', 'Change'],
  map_series: ['По дням', 'By day'],
  panel_alerts: ['Всплески', 'Spike alerts'],
  panel_overdue: ['Просрочено по ведомствам', 'Overdue by agency'],
  panel_no_alerts: ['Новых всплесков нет.', 'No new spikes.'],
  alert_line: ['{observed} при ожидаемых {expected}', '{observed} vs {expected} expected'],
  alert_period_day: ['день', 'day'],
  alert_period_week: ['неделя', 'week'],
  alert_region: ['весь регион', 'whole region'],
  alert_ack: ['Принять', 'Acknowledge'],
  alert_resolve: ['Закрыть', 'Resolve'],
  alert_days: ['Период', 'Days'],
  alert_counts: ['Обращений', 'Requests'],
  alert_score: ['Сила', 'Score'],
  alert_on_map: ['На карте', 'On the map'],
  alert_requests: ['Обращения', 'Requests'],
  alert_moved: ['Всплеск «{topic}» теперь в списке «{state}».', 'The “{topic}” spike is now under “{state}”.'],

  console_requests: ['Обращения', 'Requests'],
  console_triage: ['Разбор', 'Triage'],
  console_queues: ['Контроль сроков', 'Deadlines'],
  console_alerts: ['Всплески', 'Alerts'],
  console_problems: ['Системные проблемы', 'Systemic problems'],
  panel_problems: ['Системные проблемы', 'Systemic problems'],
  problems_none: ['Системных проблем нет.', 'No systemic problems.'],
  problems_members: ['обращений: {n}', '{n} requests'],
  problems_what: ['Проблема', 'Problem'],
  problems_topic: ['Тема', 'Topic'],
  problems_requests: ['Обращения', 'Requests'],
  problems_span: ['Период', 'Period'],
  problems_owner: ['Ответственное ведомство', 'Owner'],
  problems_extent: ['Охват', 'Extent'],
  problems_radius: ['в радиусе {m} м', 'within {m} m'],
  metres: ['{m} м', '{m} m'],
  map_zoom_in: ['Приблизить', 'Zoom in'],
  map_boundaries_credit: ['Границы', 'Boundaries'],
  map_zoom_out: ['Отдалить', 'Zoom out'],
  event_escalated_step: ['Эскалация, ступень {level}: срок {due} прошёл', 'Escalation step {level}: the deadline {due} has passed'],
  problems_note: ['Примечание', 'Note'],
  problems_sample: ['Что пишут жители', 'What residents write'],
  problems_decision: ['Решение', 'Decision'],
  problems_name: ['Название', 'Name'],
  problems_need_name: ['Назовите проблему, чтобы принять её в работу', 'Name the problem to accept it'],
  problems_weeks: ['Обращений по неделям', 'Requests per week'],
  problems_map: ['Обращения на карте', 'Requests on the map'],
  problems_to_accepted: ['Принять в работу', 'Accept'],
  problems_to_dismissed: ['Отклонить', 'Dismiss'],
  problems_to_closed: ['Устранена', 'Close as fixed'],
  problems_to_proposed: ['Вернуть в предложенные', 'Back to proposed'],
  problem_title: ['Системная проблема №{id}', 'Systemic problem #{id}'],
  agency_problems: ['Системные проблемы ведомства', "The agency's systemic problems"],
  console_filter_text: ['Слова в тексте или адресе', 'Words in the text or address'],
  console_no_requests: ['Ничего не найдено.', 'Nothing found.'],
  console_triage_empty: ['Все обращения разобраны.', 'Nothing waits for triage.'],
  console_triage_empty_unrouted: ['Модель ни в чём не сомневается, но {n} обращ. ещё не направлены — они в списке ниже.', 'The model is sure of everything, but {n} requests are not routed yet: they are listed below.'],
  console_triage_confirm: ['Нажмите {n} ещё раз или Enter, чтобы принять; Esc — отмена.', 'Press {n} again or Enter to take it; Esc cancels.'],
  console_triage_keys: [
    'Клавиши: 1–3 — выбрать предложенную тему или ведомство (та же клавиша или Enter — принять и направить, Esc — отмена), j/k — следующее/предыдущее, Enter — открыть.',
    'Keys: 1–3 choose a suggested topic or agency (the same key or Enter takes it and routes, Esc cancels), j/k next/previous, Enter opens.',
  ],
  console_because: ['Почему', 'Because of'],
  console_filter_from: ['Поданы с', 'Filed from'],
  export_csv: ['Скачать CSV', 'Download CSV'],
  export_xlsx: ['Скачать XLSX', 'Download XLSX'],
  page_previous: ['← Предыдущая страница', '← Previous page'],
  page_next: ['Следующая страница →', 'Next page →'],
  console_filter_to: ['по', 'to'],
  console_unrouted: ['Не направлено', 'Not routed'],
  col_id: ['№', '#'],
  col_created: ['Создано', 'Created'],
  col_service: ['Тема', 'Topic'],
  col_text: ['Текст', 'Text'],
  col_address: ['Адрес', 'Address'],
  col_agency: ['Ведомство', 'Agency'],
  col_territory: ['Территория', 'Territory'],
  col_status: ['Статус', 'Status'],
  col_due: ['Срок', 'Due'],
  col_overdue: ['Просрочено', 'Overdue'],
  col_due_today: ['Сегодня', 'Due today'],
  col_due_soon: ['Скоро', 'Due soon'],
  col_no_reaction: ['Без реакции', 'No first reaction'],

  request_title: ['Обращение №{id}', 'Request #{id}'],
  request_timeline: ['История', 'Timeline'],
  request_contact: ['Контакты заявителя', "Citizen's contact"],
  request_reveal: ['Показать контакты (просмотр записывается)', 'Show contact (recorded)'],
  request_duplicates: ['Возможные дубликаты', 'Possible duplicates'],
  request_no_duplicates: ['Похожих открытых обращений рядом нет.', 'No similar open requests nearby.'],
  request_merge: ['Объединить: это дубликат №{id}', 'Merge: this duplicates #{id}'],
  request_merged_into: ['Объединено с обращением №{id} как дубликат.', 'Merged into request #{id} as a duplicate.'],
  request_merged_here: ['Объединённые дубликаты', 'Merged duplicates'],
  track_merged: [
    'Об этой же проблеме уже сообщили: ваше обращение объединено с обращением №{id}. Ответ и ход работы смотрите там.',
    'The same problem was already reported: your request was merged into request #{id}. Follow it for the answer.',
  ],
  track_followers: ['Ещё жителей сообщили об этом: {n}', 'Other residents who reported it: {n}'],
  request_actions: ['Действия', 'Actions'],
  request_agency_pick: ['Ведомство', 'Agency'],
  request_new_due: ['Новый срок', 'New deadline'],
  request_done: ['Действие «{action}» выполнено', '“{action}” done'],
  request_no_actions: ['Сейчас с обращением нельзя ничего сделать.', 'Nothing can be done with this request now.'],
  action_do: ['Выполнить: {action}', 'Do: {action}'],
  action_text_answer: ['Текст ответа', 'Answer text'],
  action_text_reason: ['Причина', 'Reason'],
  action_text_comment: ['Комментарий', 'Comment'],
  action_service: ['Новая тема', 'New topic'],
  action_duplicate_of: ['Номер основного обращения', 'Number of the original request'],
  action_rating: ['Оценка', 'Rating'],
  action_due_hint: ['Время московское', 'Moscow time'],
  request_channel: ['Канал', 'Channel'],
  request_territory: ['Территория', 'Territory'],
  request_overdue: ['просрочено', 'overdue'],

  agency_title: ['Рабочее место ведомства', 'Agency workspace'],
  agency_queue: ['Очередь', 'Queue'],
  agency_templates: ['Шаблоны ответов', 'Answer templates'],
  agency_scorecard: ['Показатели ведомства', "The agency's scorecard"],
  agency_no_scorecard: ['За период обращений не поступало.', 'No requests in the period.'],
  template_done: ['Работы выполнены, проблема устранена. Спасибо за обращение.', 'The work is done and the problem is fixed. Thank you for reporting it.'],
  template_planned: ['Работы включены в план и будут выполнены в ближайшее время.', 'The work is scheduled and will be done shortly.'],
  template_not_ours: ['Вопрос не относится к нашему ведению; обращение передано по принадлежности.', 'This is not within our remit; the request has been passed on.'],

  dash_title: ['Показатели', 'Dashboards'],
  dash_period_choice: ['Период', 'Period'],
  dash_days: ['{n} дн.', '{n} days'],
  dash_league: ['Рейтинг ведомств', 'Agency league table'],
  dash_league_territories: ['Рейтинг территорий', 'Territory league table'],
  dash_by_agency: ['Ведомства', 'Agencies'],
  dash_by_territory: ['Территории', 'Territories'],
  dash_territory: ['Динамика и каналы:', 'Dynamics and channels for'],
  dash_whole_region: ['весь регион', 'the whole region'],
  dash_dynamics: ['Динамика по темам', 'Dynamics by topic'],
  dash_channels: ['Каналы поступления', 'Channel mix'],
  dash_period: ['За 30 дней по {date}', '30 days to {date}'],
  sc_rank: ['Место', 'Rank'],
  sc_received: ['Поступило', 'Received'],
  sc_per_1000: ['На 1 000 жителей', 'Per 1,000 residents'],
  sc_closed: ['Закрыто', 'Closed'],
  sc_on_time: ['В срок', 'On time'],
  sc_first_answer: ['До ответа, раб. дн.', 'To answer, working days'],
  sc_overdue: ['Просрочено сейчас', 'Overdue now'],
  sc_rating: ['Оценка', 'Rating'],
  sc_unranked: ['мало обращений', 'too few'],
  sc_no_territory: ['Вне территорий', 'Outside every territory'],
} satisfies Record<string, [string, string]>;

/** A key of the UI's texts. */
export type MessageKey = keyof typeof messages;

/** The text of `key` in `language`, with `{name}` placeholders filled from `params`. */
export function translate(language: Lang, key: MessageKey, params: Record<string, string | number> = {}): string {
  const text = messages[key][language === 'ru' ? 0 : 1];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(params[name] ?? `{${name}}`));
}

/** The translator for the current language, re-rendering the component when it changes. */
export function useT(): { t: (key: MessageKey, params?: Record<string, string | number>) => string; lang: Lang } {
  const current = useObservable(lang);
  return { t: (key, params) => translate(current, key, params), lang: current };
}

const STATUS: Record<string, [string, string]> = {
  registered: ['Зарегистрировано', 'Registered'],
  routed: ['Направлено', 'Routed'],
  in_progress: ['В работе', 'In progress'],
  intermediate_answer: ['Промежуточный ответ', 'Interim answer'],
  answered: ['Дан ответ', 'Answered'],
  closed: ['Закрыто', 'Closed'],
  reopened: ['Возвращено в работу', 'Reopened'],
  rejected: ['Отклонено', 'Rejected'],
  duplicate: ['Дубликат', 'Duplicate'],
};

const EVENT: Record<string, [string, string]> = {
  registered: ['Зарегистрировано', 'Registered'],
  routed: ['Направлено в ведомство', 'Routed to an agency'],
  started: ['Взято в работу', 'Taken into work'],
  status_changed: ['Изменён статус', 'Status changed'],
  citizen_message: ['Сообщение заявителя', "Citizen's message"],
  deadline_recomputed: ['Срок пересчитан', 'Deadline recomputed'],
  intermediate_answer: ['Промежуточный ответ', 'Interim answer'],
  answered: ['Дан ответ', 'Answered'],
  closed: ['Закрыто', 'Closed'],
  reopened: ['Возвращено в работу', 'Reopened'],
  rejected: ['Отклонено', 'Rejected'],
  marked_duplicate: ['Отмечено как дубликат', 'Marked as a duplicate'],
  deadline_extended: ['Срок продлён', 'Deadline extended'],
  deadline_paused: ['Срок приостановлен', 'Deadline paused'],
  deadline_resumed: ['Срок возобновлён', 'Deadline resumed'],
  rated: ['Оценка заявителя', "Citizen's rating"],
  comment: ['Комментарий', 'Comment'],
  reclassified: ['Изменена тема', 'Topic changed'],
  escalated: ['Эскалация', 'Escalated'],
};

const CHANNEL: Record<string, [string, string]> = {
  web: ['Портал', 'Web portal'],
  api: ['API', 'API'],
  phone: ['Телефон', 'Phone'],
  email: ['Эл. почта', 'E-mail'],
  social: ['Соцсети', 'Social media'],
  open311: ['Open311', 'Open311'],
  import: ['Импорт', 'Import'],
};

const TOPIC: Record<string, [string, string]> = {
  business: ['Бизнес', 'Business'],
  digital: ['Связь и интернет', 'Internet and telecoms'],
  housing: ['Жильё и двор', 'Housing and yards'],
  roads: ['Дороги', 'Roads'],
  transport: ['Транспорт', 'Transport'],
  utilities: ['Коммунальные услуги', 'Utilities'],
};

const ACTION: Record<string, [string, string]> = {
  route: ['Направить', 'Route'],
  start: ['Взять в работу', 'Start'],
  'intermediate-answer': ['Промежуточный ответ', 'Interim answer'],
  answer: ['Ответить', 'Answer'],
  'extend-deadline': ['Продлить срок', 'Extend deadline'],
  'mark-duplicate': ['Дубликат', 'Duplicate'],
  close: ['Закрыть', 'Close'],
  reopen: ['Вернуть в работу', 'Reopen'],
  reject: ['Отклонить', 'Reject'],
  comment: ['Комментарий', 'Comment'],
  'pause-deadline': ['Приостановить срок', 'Pause deadline'],
  'resume-deadline': ['Возобновить срок', 'Resume deadline'],
  rate: ['Оценить', 'Rate'],
  reclassify: ['Сменить тему', 'Change topic'],
};

const ALERT_STATE: Record<string, [string, string]> = {
  new: ['Новые', 'New'],
  acknowledged: ['Принятые', 'Acknowledged'],
  resolved: ['Закрытые', 'Resolved'],
};

const PROBLEM_STATE: Record<string, [string, string]> = {
  proposed: ['Предложена', 'Proposed'],
  accepted: ['Принята в работу', 'Accepted'],
  dismissed: ['Отклонена', 'Dismissed'],
  closed: ['Устранена', 'Closed'],
};

function pick(table: Record<string, [string, string]>, code: string, language: Lang): string {
  const names = table[code];
  return names ? names[language === 'ru' ? 0 : 1] : code;
}

/** A status's name. */
export const statusName = (code: string, language: Lang) => pick(STATUS, code, language);

/** What a field error's stable code says, in either language. */
const ERROR_CODE: Record<string, [string, string]> = {
  required: ['обязательное поле', 'is required'],
  too_long: ['слишком длинно', 'is too long'],
  too_short: ['слишком коротко', 'is too short'],
  too_many: ['слишком много значений', 'has too many values'],
  out_of_range: ['значение вне допустимых пределов', 'is out of range'],
  invalid_format: ['неверный формат', 'has the wrong format'],
  unknown_value: ['такого значения нет', 'is not a known value'],
  not_allowed: ['недопустимое значение', 'is not allowed'],
  taken: ['уже занято', 'is taken'],
  wrong_type: ['неверный тип значения', 'has the wrong type'],
  unknown_field: ['лишнее поле', 'is not a field here'],
  invalid: ['неверное значение', 'is invalid'],
};

/** The fields the server may name, as a person calls them. */
const FIELD: Record<string, [string, string]> = {
  text: ['Текст', 'Text'],
  address: ['Адрес', 'Address'],
  service_code: ['Тема', 'Topic'],
  service: ['Тема', 'Topic'],
  agency: ['Ведомство', 'Agency'],
  territory: ['Территория', 'Territory'],
  due_at: ['Новый срок', 'New deadline'],
  rating: ['Оценка', 'Rating'],
  duplicate_of: ['Номер основного обращения', 'Number of the original request'],
  media_url: ['Ссылка на фото', 'Photo link'],
  lat: ['Место на карте', 'Place on the map'],
  lon: ['Место на карте', 'Place on the map'],
  'contact.name': ['Имя', 'Name'],
  'contact.email': ['Эл. почта', 'E-mail'],
  'contact.phone': ['Телефон', 'Phone'],
  login: ['Логин', 'Login'],
  password: ['Пароль', 'Password'],
  title: ['Название', 'Title'],
  owner: ['Ответственное ведомство', 'Owning agency'],
  note: ['Комментарий', 'Note'],
  keywords: ['Ключевые слова', 'Keywords'],
  state: ['Состояние', 'State'],
};

/** Who acted, for the actors that are not staff logins. */
const ACTOR: Record<string, [string, string]> = {
  system: ['система', 'system'],
  citizen: ['заявитель', 'citizen'],
  web: ['заявитель, сайт', 'citizen, web'],
  api: ['API', 'API'],
  open311: ['Open311', 'Open311'],
  import: ['импорт', 'import'],
};

/** Who acted on a request: a login as it is, the system and the citizen in words. */
export const actorName = (actor: string, language: Lang) => pick(ACTOR, actor, language);

/** A field error's code in words (the field named apart). */
export const errorCodeText = (code: string, language: Lang) => pick(ERROR_CODE, code in ERROR_CODE ? code : 'invalid', language);

/** A field the server named, as a person calls it. */
export const fieldName = (field: string, language: Lang) => pick(FIELD, field, language);
/** An event kind's name. */
export const eventName = (code: string, language: Lang) => pick(EVENT, code, language);
/** A channel's name. */
export const channelName = (code: string, language: Lang) => pick(CHANNEL, code, language);
/** A topic's (category's) name; unknown topics (e.g. imported Russian ones) as they are. */
export const topicName = (code: string, language: Lang) => pick(TOPIC, code, language);
/** A request action's name (as in `POST /requests/{id}/{action}`). */
export const actionName = (code: string, language: Lang) => pick(ACTION, code, language);
/** An alert state's name. */
export const alertStateName = (code: string, language: Lang) => pick(ALERT_STATE, code, language);
/** The Russian or English name of a systemic problem's state. */
export const problemStateName = (code: string, language: Lang) => pick(PROBLEM_STATE, code, language);
/** The states of systemic problems. */
export const PROBLEM_STATES = Object.keys(PROBLEM_STATE);
/** The states of alerts. */
export const ALERT_STATES = Object.keys(ALERT_STATE);
/** The channels a filter offers. */
export const CHANNELS = Object.keys(CHANNEL);
/** The statuses a filter offers. */
export const STATUSES = Object.keys(STATUS);

/** The Russian or English name of a catalog entry. */
export function nameOf(item: { name_ru: string; name_en: string } | undefined, language: Lang, fallback = ''): string {
  if (!item) return fallback;
  return (language === 'ru' ? item.name_ru : item.name_en) || item.name_ru;
}

/** A number in the language's style. */
export function formatNumber(n: number, language: Lang, digits = 0): string {
  return n.toLocaleString(language === 'ru' ? 'ru-RU' : 'en-GB', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A moment as date and time in the region's zone. */
export function formatTime(iso: string | null, language: Lang): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleString(language === 'ru' ? 'ru-RU' : 'en-GB', {
    timeZone: 'Europe/Moscow', year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit',
  });
}

/** A calendar date (YYYY-MM-DD) in the language's style. */
export function formatDate(date: string, language: Lang): string {
  const at = date.length > 10 ? new Date(date) : new Date(`${date}T12:00:00Z`);
  return at.toLocaleDateString(language === 'ru' ? 'ru-RU' : 'en-GB', { day: 'numeric', month: 'short', year: 'numeric' });
}
