// The JSON API as the UI uses it: typed calls, problem details turned into errors that carry
// the server's per-field messages, and the CSRF token the session needs for state changes.

/** A field the server found wrong: its name, the stable code of the problem (which the UI
 * words in its language) and the server's English message. */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

/** Why the server refused an action on a request (its `refusal`), which the UI words. */
export type Refusal =
  | { kind: 'not_permitted'; action: string }
  | { kind: 'transition'; action: string; status: string }
  | { kind: 'clock_not_stopped' }
  | { kind: 'clock_already_stopped' }
  | { kind: 'extensions_used'; allowed: number };

/** An RFC 7807 problem returned by the API, or a network failure (status 0). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string,
    readonly errors: FieldError[] = [],
    readonly refusal: Refusal | null = null,
  ) {
    super(detail || title);
  }
}

let csrfToken: string | null = null;

/** Remembers the CSRF token of the signed-in session (sent with every state change). */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch (e) {
    throw new ApiError(0, 'network', String(e));
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const data = text ? JSON.parse(text) : undefined;
  if (!response.ok) {
    throw new ApiError(response.status, data?.title ?? response.statusText, data?.detail ?? '', data?.errors ?? [], data?.refusal ?? null);
  }
  return data as T;
}

/** Query string from the defined, non-empty values. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

export const get = <T>(path: string) => call<T>('GET', path);
export const post = <T>(path: string, body: unknown = {}) => call<T>('POST', path, body);

/** A role of a signed-in user. */
export type Role = 'admin' | 'operator' | 'analyst' | 'agency_staff';

/** The signed-in user. */
export interface Me {
  login: string;
  role: Role;
  agency: string | null;
  csrf_token: string | null;
}

/** A service of the catalog. */
export interface Service {
  code: string;
  name_ru: string;
  name_en: string;
  description_ru: string;
  description_en: string;
  group: string;
  keywords: string[];
  default_agency: string | null;
  active: boolean;
  attributes: { code: string; required: boolean; description: string; datatype: string; values?: { key: string; name: string }[] }[];
}

/** An agency. */
export interface Agency {
  code: string;
  name_ru: string;
  name_en: string;
}

/** A territory. */
export interface Territory {
  code: string;
  name_ru: string;
  name_en: string;
  kind: string;
  parent: string | null;
  population: number | null;
}

/** A point. */
export interface Coordinates {
  lat: number;
  lon: number;
}

/** A request as staff see it. */
export interface Request {
  id: number;
  service_code: string;
  channel: string;
  text: string;
  coordinates: Coordinates | null;
  address: string | null;
  territory: string | null;
  agency: string | null;
  status: string;
  priority: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  due_at: string | null;
  media_url: string | null;
  category: string | null;
  rating: number | null;
  last_answer: string | null;
  extensions: number;
  escalation_level: number;
  paused_at: string | null;
  duplicate_of: number | null;
}

/** A step of a request's history as staff see it. */
export interface Event {
  id: number;
  at: string;
  kind: string;
  actor: string;
  status: string | null;
  agency: string | null;
  text: string | null;
  old_due_at: string | null;
  new_due_at: string | null;
}

/** An action open to the caller on a request now, with the fields its body requires and takes. */
export interface ActionChoice {
  action: string;
  required: string[];
  optional: string[];
}

/** A request as the citizen holding its token sees it. */
export interface PublicRequest {
  id: number;
  /** Absent for staff who filed it on a citizen's behalf and for followers. */
  token?: string;
  service_code: string;
  status: string;
  text: string;
  address: string | null;
  coordinates: Coordinates | null;
  agency: string | null;
  created_at: string;
  due_at: string | null;
  closed_at: string | null;
  last_answer: string | null;
  rating: number | null;
  media_url: string | null;
  timeline: { at: string; kind: string; status: string | null; agency: string | null; text: string | null; new_due_at: string | null }[];
  duplicate_of: number | null;
  followers: number;
}

/** A page of requests. */
export interface RequestPage {
  items: Request[];
  next_cursor: string | null;
}

/** A citizen's contact (personal data; reading it is audited). */
export interface Contact {
  name: string | null;
  phone: string | null;
  email: string | null;
}

/** A likely duplicate of what is being filed. */
export interface Suggestion {
  id: number;
  service_code: string;
  text: string;
  address: string | null;
  status: string;
  created_at: string;
  distance_m: number;
  text_similarity: number;
  score: number;
}

/** One choice of the classifier with the features behind it. */
export interface Explained {
  code: string;
  probability: number;
  because: { feature: FeatureName; weight: number }[];
}

/** A classifier feature as the API names it: a word stem, two neighbouring stems, a character
 * n-gram (spaces mark word boundaries) or a field given beside the text. */
export type FeatureName = { Stem: string } | { Bigram: [string, string] } | { Chars: string } | { Extra: string };

/** A request waiting for an operator's decision, with the model's choices. */
export interface TriageItem {
  request: Request;
  prediction: { service_by: string; agency_by: string; services_explained: Explained[]; agencies_explained: Explained[] };
}

/** Counts of one agency's control queues. */
export interface QueueCounts {
  agency: string | null;
  overdue: number;
  due_today: number;
  due_soon: number;
  no_first_reaction: number;
  unrouted: number;
}

/** A row of the scorecard league table. */
export interface ScorecardRow {
  key: string;
  received: number;
  closed: number;
  on_time_share: number | null;
  first_answer_days_median: number | null;
  closure_days_median: number | null;
  overdue_now: number;
  reopened_share: number | null;
  average_rating: number | null;
  rank: number | null;
}

/** A spike alert. */
export interface Alert {
  id: number;
  period: 'day' | 'week';
  category: string;
  territory: string | null;
  territory_name: string | null;
  first_day: string;
  last_day: string;
  observed: number;
  expected: number;
  score: number;
  state: 'new' | 'acknowledged' | 'resolved';
  note: string | null;
}

/** A systemic problem: many requests that are really one cause. */
export interface SystemicProblem {
  id: number;
  state: 'proposed' | 'accepted' | 'dismissed' | 'closed';
  title: string | null;
  owner: string | null;
  topic: string;
  territory: string | null;
  territory_name: string | null;
  agency: string | null;
  centre: Coordinates;
  radius_m: number;
  sample_text: string;
  first_at: string;
  last_at: string;
  members: number;
  detected_at: string;
  updated_at: string;
  handled_by: string | null;
  note: string | null;
}

/** One day of a series. */
export interface SeriesPoint {
  date: string;
  count: number;
  year_before: number | null;
}

/** The heat map answer: GeoJSON with the window's totals. */
export interface HeatMap extends GeoJSON.FeatureCollection {
  okno: { from: string; to: string; count: number; previous: number; change: number | null; resolution: number | null };
}

/** What the server tells the UI about the deployment. */
export interface UiConfig {
  map_style_url: string | null;
  region_name_ru: string;
  region_name_en: string;
  service_optional: boolean;
}
