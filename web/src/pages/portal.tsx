// The citizens' portal: find a service by words, place a pin or type an address, describe the
// problem, see likely duplicates nearby (and follow one instead), send, and get the tracking
// link. The form checks itself in the browser; what the server refuses is shown beside the field.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, get, post, PublicRequest, query, Service, Suggestion } from '../api';
import { errorCodeText, formatNumber, formatTime, Lang, MessageKey, useT } from '../i18n';
import { navigate } from '../router';
import { boundaries, serviceChoices } from '../session';
import { Choice, ErrorMessage, Field, StatusBadge } from '../ui/common';
import { useCatalog } from '../ui/hooks';
import { AddressSearch, KnownPlace } from '../ui/address';
import { useRegionMap } from '../ui/lazymap';
import type { RegionMap } from '../ui/map';
import { territoryLabels } from '../ui/mapdata';

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
/** The topic choice that leaves the service to Okno's topic model (offered when one is in force). */
const LET_OKNO_CHOOSE = '*';
const MIN_TEXT = 10;

interface Form {
  service: string;
  text: string;
  address: string;
  media_url: string;
  name: string;
  email: string;
  phone: string;
}

type Errors = Partial<Record<keyof Form | 'place', string>>;

/** What the browser can tell is wrong before sending. */
function check(form: Form, pin: { lat: number; lon: number } | null, t: (k: MessageKey) => string): Errors {
  const errors: Errors = {};
  // In the order of the form, so that the first one is where the focus goes.
  if (!form.service) errors.service = t('required');
  if (!pin && !form.address.trim()) errors.place = t('portal_place_hint');
  if (form.text.trim().length < MIN_TEXT) errors.text = t('text_too_short');
  if (form.media_url && !/^https?:\/\/\S+$/.test(form.media_url.trim())) errors.media_url = t('bad_url');
  if (form.email && !EMAIL.test(form.email.trim())) errors.email = t('bad_email');
  return errors;
}

/** The form's field each of the server's field names stands for. */
const SERVER_FIELDS: Record<string, keyof Errors> = {
  service_code: 'service', text: 'text', lat: 'place', lon: 'place', address: 'address', media_url: 'media_url',
  'contact.email': 'email', 'contact.phone': 'phone', 'contact.name': 'name',
};

/** The server's field errors keyed by the form's fields; null when one names no field of the
 * form (then the whole error is shown below the form instead). */
function serverErrors(e: ApiError, lang: Lang): Errors | null {
  const errors: Errors = {};
  for (const error of e.errors) {
    const mine = SERVER_FIELDS[error.field];
    if (!mine) return null;
    errors[mine] = errorCodeText(error.code, lang);
  }
  return errors;
}

function matches(service: Service, words: string): boolean {
  const w = words.trim().toLowerCase();
  if (!w) return true;
  return [service.name_ru, service.name_en, ...service.keywords].some((s) => s.toLowerCase().includes(w));
}

export function Portal() {
  const { t, lang } = useT();
  const cat = useCatalog();
  const [form, setForm] = useState<Form>({ service: '', text: '', address: '', media_url: '', name: '', email: '', phone: '' });
  const [pin, setPin] = useState<{ lat: number; lon: number } | null>(null);
  const [words, setWords] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState<unknown>(null);
  const [sending, setSending] = useState(false);
  const [duplicates, setDuplicates] = useState<Suggestion[]>([]);
  const mapBox = useRef<HTMLDivElement>(null);
  const mapRef = useRef<RegionMap | null>(null);
  const pinRef = useRef(pin);
  pinRef.current = pin;

  useRegionMap(mapBox, { ready: !!cat, styleUrl: cat?.config.map_style_url, label: t('portal_place') }, (view) => {
    boundaries()
      .then((b) => {
        view.setOutlines(b);
        view.setLabels(territoryLabels(b.features, lang));
      })
      .catch(setFailure);
    view.map.on('click', (e) => setPin({ lat: Number(e.lngLat.lat.toFixed(6)), lon: Number(e.lngLat.lng.toFixed(6)) }));
    mapRef.current = view;
    // Where a pin was placed before the map was drawn (a known address chosen at once).
    if (pinRef.current) view.setPins([pinRef.current]);
  }, [cat, lang]);

  useEffect(() => {
    mapRef.current?.setPins(pin ? [pin] : []);
  }, [pin]);

  // A place picked from the suggestions: a street or an address puts the pin there, a district
  // shows itself; either way the map moves to it.
  const pickPlace = (place: KnownPlace) => {
    setField('address')(place.kind === 'territory' && lang === 'en' && place.label_en ? place.label_en : place.label);
    if (place.kind !== 'territory') setPin({ lat: place.lat, lon: place.lon });
    mapRef.current?.focus(place.lat, place.lon, place.kind === 'territory' ? 9 : 15);
  };

  // Likely duplicates: asked again when the service, the pin or the words settle.
  useEffect(() => {
    if (!form.service || form.service === LET_OKNO_CHOOSE || !pin) {
      setDuplicates([]);
      return;
    }
    const timer = setTimeout(() => {
      get<Suggestion[]>(`/duplicates${query({ service: form.service, lat: pin.lat, lon: pin.lon, text: form.text })}`).then(setDuplicates, () => setDuplicates([]));
    }, 400);
    return () => clearTimeout(timer);
  }, [form.service, pin?.lat, pin?.lon, form.text]);

  const setField = (key: keyof Form) => (value: string) => {
    setForm({ ...form, [key]: value });
    if (errors[key]) setErrors({ ...errors, [key]: undefined });
  };
  const set = (key: keyof Form) => (e: Event) => setField(key)((e.target as HTMLInputElement).value);

  const submit = async (e: Event) => {
    e.preventDefault();
    const found = check(form, pin, t);
    setErrors(found);
    setFailure(null);
    const first = (Object.keys(found) as (keyof Errors)[])[0];
    if (first) {
      document.getElementById(first === 'place' ? 'address' : first)?.focus();
      return;
    }
    setSending(true);
    try {
      const created = await post<PublicRequest>('/requests', {
        service_code: form.service === LET_OKNO_CHOOSE ? undefined : form.service,
        text: form.text.trim(),
        address: form.address.trim() || undefined,
        lat: pin?.lat,
        lon: pin?.lon,
        media_url: form.media_url.trim() || undefined,
        channel: 'web',
        contact: { name: form.name.trim() || undefined, email: form.email.trim() || undefined, phone: form.phone.trim() || undefined },
      });
      // Staff who file through the portal get no tracking code (it is the citizen's secret).
      navigate(created.token ? `/track/${encodeURIComponent(created.token)}?new=1` : `/console/requests/${created.id}`);
    } catch (err) {
      const fields = err instanceof ApiError && err.errors.length > 0 ? serverErrors(err, lang) : null;
      if (fields) setErrors(fields);
      else setFailure(err);
    } finally {
      setSending(false);
    }
  };

  const services = (cat?.services ?? []).filter((s) => s.active && matches(s, words));
  const choices = serviceChoices(services, lang);
  if (cat?.config.service_optional) choices.push([LET_OKNO_CHOOSE, t('portal_service_auto')]);
  const describedBy = (key: keyof Errors, hint = false) => (errors[key] ? `${key}-error` : hint ? `${key}-hint` : undefined);
  return (
    <div class="portal">
      <h1>{t('portal_title')}</h1>
      <p class="lead">{t('portal_lead')}</p>
      <form class="report" onSubmit={submit} noValidate aria-label={t('portal_title')}>
        <Field id="service-search" label={t('portal_service_search')}>
          <input id="service-search" type="search" value={words} onInput={(e) => setWords((e.target as HTMLInputElement).value)} autoComplete="off" />
        </Field>
        <Field id="service" label={t('portal_service')} error={errors.service}>
          <Choice id="service" value={form.service} empty={t('portal_service_pick')} options={choices} onChange={setField('service')} invalid={!!errors.service} describedBy={describedBy('service')} />
        </Field>
        <Field id="address" label={t('portal_address')} hint={t('portal_address_hint')} error={errors.address}>
          <AddressSearch value={form.address} onInput={setField('address')} onPick={pickPlace} describedBy={describedBy('address', true)} />
        </Field>
        <div class={errors.place ? 'field invalid' : 'field'}>
          <span class="label" id="place-label">
            {t('portal_place')}
          </span>
          <div ref={mapBox} class="map small-map" data-testid="portal-map" aria-labelledby="place-label" />
          <small class={errors.place ? 'field-error' : 'hint'} id="place-error" role={errors.place ? 'alert' : undefined}>
            {errors.place ?? t('portal_place_hint')}
            {pin && ` (${pin.lat.toFixed(5)}, ${pin.lon.toFixed(5)})`}
          </small>
        </div>
        <Field id="text" label={t('portal_text')} hint={t('portal_text_hint')} error={errors.text}>
          <textarea id="text" name="text" rows={5} value={form.text} onInput={set('text')} required minLength={MIN_TEXT} aria-invalid={!!errors.text} aria-describedby={describedBy('text', true)} />
        </Field>
        {duplicates.length > 0 && <Duplicates items={duplicates} />}
        <Field id="media_url" label={t('portal_media')} error={errors.media_url}>
          <input id="media_url" name="media_url" type="url" value={form.media_url} onInput={set('media_url')} aria-invalid={!!errors.media_url} aria-describedby={describedBy('media_url')} />
        </Field>
        <fieldset class="contact">
          <legend>{t('portal_contact_note')}</legend>
          <Field id="name" label={t('portal_name')} error={errors.name}>
            <input id="name" name="name" value={form.name} onInput={set('name')} autoComplete="name" />
          </Field>
          <Field id="email" label={t('portal_email')} error={errors.email}>
            <input id="email" name="email" type="email" value={form.email} onInput={set('email')} autoComplete="email" aria-invalid={!!errors.email} aria-describedby={describedBy('email')} />
          </Field>
          <Field id="phone" label={t('portal_phone')} error={errors.phone}>
            <input id="phone" name="phone" type="tel" value={form.phone} onInput={set('phone')} autoComplete="tel" aria-invalid={!!errors.phone} aria-describedby={describedBy('phone')} />
          </Field>
        </fieldset>
        <ErrorMessage error={failure} />
        <button type="submit" class="primary" disabled={sending}>
          {sending ? t('portal_sending') : t('portal_submit')}
        </button>
      </form>
      <TrackLookup />
    </div>
  );
}

function Duplicates({ items }: { items: Suggestion[] }) {
  const { t, lang } = useT();
  return (
    <section class="duplicates" aria-label={t('portal_duplicates')} data-testid="duplicates">
      <h2>{t('portal_duplicates')}</h2>
      <p class="muted">{t('portal_duplicates_lead')}</p>
      <ul>
        {items.map((d) => (
          <li key={d.id}>
            <StatusBadge status={d.status} /> <span class="clip">{d.text}</span>
            <small class="muted">
              {' '}
              {d.address ?? ''} · {t('metres', { m: formatNumber(d.distance_m, lang) })} · {formatTime(d.created_at, lang)}
            </small>{' '}
            <a href={`/requests/${d.id}`} class="button small">
              {t('portal_follow')}
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

function TrackLookup() {
  const { t } = useT();
  const [token, setToken] = useState('');
  return (
    <form
      class="card track-lookup"
      aria-label={t('portal_track_title')}
      onSubmit={(e) => {
        e.preventDefault();
        if (token.trim()) navigate(`/track/${encodeURIComponent(token.trim())}`);
      }}
    >
      <h2>{t('portal_track_title')}</h2>
      <Field id="track-token" label={t('portal_track_token')}>
        <input id="track-token" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autoComplete="off" />
      </Field>
      <button type="submit">{t('portal_track_go')}</button>
    </form>
  );
}
