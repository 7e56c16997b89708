// Who is signed in, and the catalog (services, agencies, territories) every screen names
// things from: read once per page load.
import { Agency, ApiError, get, Me, post, Service, setCsrfToken, Territory, UiConfig } from './api';
import { Lang, nameOf } from './i18n';
import { Observable } from './state';

/** The signed-in user, `null` for a citizen, `undefined` until known. */
export const me = new Observable<Me | null | undefined>(undefined);

/** Set while this browser holds a staff session, so that citizens' pages never ask the
 * server about a session they do not have (the session cookie itself is unreadable here). */
const SIGNED_IN_KEY = 'okno.signed-in';

/** Asks the server who the session belongs to (only when this browser signed in). */
export async function loadMe(): Promise<void> {
  if (!localStorage.getItem(SIGNED_IN_KEY)) {
    me.set(null);
    return;
  }
  try {
    const user = await get<Me>('/auth/me');
    setCsrfToken(user.csrf_token);
    me.set(user);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) throw e;
    localStorage.removeItem(SIGNED_IN_KEY);
    me.set(null);
  }
}

/** Signs in; throws the server's error when the login or password is wrong. */
export async function signIn(login: string, password: string): Promise<Me> {
  const user = await post<Me>('/auth/login', { login, password });
  setCsrfToken(user.csrf_token);
  localStorage.setItem(SIGNED_IN_KEY, '1');
  me.set(user);
  return user;
}

/** Ends the session. */
export async function signOut(): Promise<void> {
  await post('/auth/logout');
  setCsrfToken(null);
  localStorage.removeItem(SIGNED_IN_KEY);
  me.set(null);
}

/** Whether the user works for the management center (sees every agency's requests). */
export const isCenterStaff = (user: Me | null | undefined) => !!user && (user.role === 'operator' || user.role === 'admin');

/** The catalog the UI names things from. */
export interface Catalog {
  services: Service[];
  agencies: Agency[];
  territories: Territory[];
  config: UiConfig;
}

/** An agency's name in the language; the code when it is unknown. */
export function agencyName(cat: Catalog | undefined, code: string, lang: Lang): string {
  return nameOf(cat?.agencies.find((a) => a.code === code), lang, code);
}

/** A service's name in the language; the code when it is unknown. */
export function serviceName(cat: Catalog | undefined, code: string, lang: Lang): string {
  return nameOf(cat?.services.find((s) => s.code === code), lang, code);
}

/** A territory's name in the language; the code when it is unknown. */
export function territoryName(cat: Catalog | undefined, code: string, lang: Lang): string {
  return nameOf(cat?.territories.find((t) => t.code === code), lang, code);
}

/** The agencies as choices ([code, name]). */
export const agencyChoices = (cat: Catalog | undefined, lang: Lang): [string, string][] => (cat?.agencies ?? []).map((a) => [a.code, nameOf(a, lang)]);

/** The region's territories below the region itself as choices ([code, name]), by name. */
export const territoryChoices = (cat: Catalog | undefined, lang: Lang): [string, string][] =>
  (cat?.territories ?? [])
    .filter((x) => x.parent)
    .map((x): [string, string] => [x.code, nameOf(x, lang)])
    .sort((a, b) => a[1].localeCompare(b[1], lang));

/** The services as choices ([code, name]). */
export const serviceChoices = (services: Service[] | undefined, lang: Lang): [string, string][] => (services ?? []).map((s) => [s.code, nameOf(s, lang)]);

let boundariesPromise: Promise<GeoJSON.FeatureCollection> | null = null;

/** The territories' boundaries (every map's outlines), fetched once per page load. */
export function boundaries(): Promise<GeoJSON.FeatureCollection> {
  boundariesPromise ??= get<GeoJSON.FeatureCollection>('/territories/boundaries');
  boundariesPromise.catch(() => (boundariesPromise = null));
  return boundariesPromise;
}

let catalogPromise: Promise<Catalog> | null = null;

/** The catalog, fetched on first use. */
export function catalog(): Promise<Catalog> {
  catalogPromise ??= Promise.all([
    get<Service[]>('/services'),
    get<Agency[]>('/agencies'),
    get<Territory[]>('/territories'),
    get<UiConfig>('/ui-config'),
  ]).then(([services, agencies, territories, config]) => ({ services, agencies, territories, config }));
  catalogPromise.catch(() => (catalogPromise = null));
  return catalogPromise;
}
