// The operator console: all requests with filters and full-text search, the request page with
// its whole timeline, the audited contact reveal, its place on the map, likely duplicates and
// the lifecycle actions; the triage queue with keyboard shortcuts; deadline queues; alerts.
import { Fragment } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { Alert, Contact, Event as RequestEvent, Explained, FeatureName, get, post, query, QueueCounts, Request, RequestPage, TriageItem } from '../api';
import { actorName, ALERT_STATES, alertStateName, channelName, eventName, formatDate, formatNumber, formatTime, MessageKey, statusName, STATUSES, topicName, useT, Lang } from '../i18n';
import { navigate } from '../router';
import { agencyChoices, agencyName, boundaries, Catalog, isCenterStaff, me, serviceChoices, serviceName, territoryChoices, territoryName } from '../session';
import { useObservable } from '../state';
import { Choice, ErrorMessage, Field, Loading, Section, StatusBadge } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';
import { useRegionMap } from '../ui/lazymap';
import { DAY, isoDate } from '../dates';
import { ActionsPanel } from './actions';
import { TableExport } from '../ui/export';

/** Sub-pages of the console. */
export function ConsoleNav({ current }: { current: string }) {
  const { t } = useT();
  const user = useObservable(me);
  const pages: [string, MessageKey][] = [['/console', 'console_requests']];
  if (isCenterStaff(user)) pages.push(['/console/triage', 'console_triage']);
  pages.push(['/console/queues', 'console_queues']);
  if (user?.role !== 'agency_staff') pages.push(['/console/alerts', 'console_alerts'], ['/console/problems', 'console_problems']);
  const here = pages.find(([href]) => href === current);
  return (
    <>
      {here && <h1 class="visually-hidden">{`${t('nav_console')}: ${t(here[1])}`}</h1>}
      <nav class="subnav" aria-label={t('nav_console')}>
        {pages.map(([href, key]) => (
          <a key={href} href={href} aria-current={current === href ? 'page' : undefined}>
            {t(key)}
          </a>
        ))}
      </nav>
    </>
  );
}

/** Whether an unfinished request is past its deadline. */
function isOverdue(r: Request): boolean {
  return !!r.due_at && !r.closed_at && Date.parse(r.due_at) < Date.now();
}

/** A table of requests linking to their pages. */
export function RequestTable({ items, showAgency = true, name = 'requests' }: { items: Request[]; showAgency?: boolean; name?: string }) {
  const { t, lang } = useT();
  const cat = useCatalog();
  const user = useObservable(me);
  const table = useRef<HTMLTableElement>(null);
  const base = user?.role === 'agency_staff' ? '/agency/requests' : '/console/requests';
  if (items.length === 0) return <p class="muted">{t('console_no_requests')}</p>;
  return (
    <>
    <TableExport table={table} name={name} />
    <table class="requests" ref={table}>
      <thead>
        <tr>
          <th scope="col">{t('col_id')}</th>
          <th scope="col">{t('col_created')}</th>
          <th scope="col">{t('col_service')}</th>
          <th scope="col">{t('col_text')}</th>
          {showAgency && <th scope="col">{t('col_agency')}</th>}
          <th scope="col">{t('col_status')}</th>
          <th scope="col">{t('col_due')}</th>
        </tr>
      </thead>
      <tbody>
        {items.map((r) => (
          <tr key={r.id}>
            <td>
              <a href={`${base}/${r.id}`}>{r.id}</a>
            </td>
            <td class="nowrap">{formatTime(r.created_at, lang)}</td>
            <td>{serviceName(cat, r.service_code, lang)}</td>
            <td class="clip">
              {r.text}
              {r.address && <small class="muted"> — {r.address}</small>}
            </td>
            {showAgency && <td>{r.agency ? agencyName(cat, r.agency, lang) : <em>{t('console_unrouted')}</em>}</td>}
            <td>
              <StatusBadge status={r.status} />
            </td>
            <td class={isOverdue(r) ? 'nowrap overdue' : 'nowrap'}>{formatTime(r.due_at, lang)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </>
  );
}

/** The console list's filters, as the address and the form name them (`from`, `to`: days,
 * both included, in the region's time). */
const LIST_FILTERS = ['q', 'status', 'service', 'agency', 'territory', 'from', 'to'] as const;
type ListFilters = Record<(typeof LIST_FILTERS)[number], string>;

/** Every request the user may see, filtered and searched, a page at a time. */
export function RequestList() {
  const { t, lang } = useT();
  const cat = useCatalog();
  const user = useObservable(me);
  // The filters live in the address, so a filtered list can be bookmarked, shared and reloaded.
  const params = new URLSearchParams(window.location.search);
  const [filters, setFilters] = useState(() => Object.fromEntries(LIST_FILTERS.map((k) => [k, params.get(k) ?? ''])) as ListFilters);
  const [applied, setApplied] = useState(filters);
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const asked = {
    ...applied,
    created_from: applied.from && `${applied.from}T00:00:00+03:00`,
    created_to: applied.to && `${isoDate(Date.parse(`${applied.to}T00:00:00Z`) + DAY)}T00:00:00+03:00`,
    from: undefined,
    to: undefined,
  };
  const page = useLoad(() => get<RequestPage>(`/requests${query({ ...asked, cursor: cursors[cursors.length - 1], limit: 50 })}`), [applied, cursors]);
  const set = (key: keyof typeof filters) => (value: string) => setFilters({ ...filters, [key]: value });
  return (
    <div class="console">
      <ConsoleNav current="/console" />
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([null]);
          setApplied(filters);
          window.history.replaceState(null, '', `/console${query(filters)}`);
        }}
      >
        <Field id="q" label={t('console_filter_text')}>
          <input id="q" type="search" value={filters.q} onInput={(e) => set('q')((e.target as HTMLInputElement).value)} />
        </Field>
        <Field id="f-status" label={t('col_status')}>
          <Choice id="f-status" value={filters.status} empty={t('all')} options={STATUSES.map((s) => [s, statusName(s, lang)])} onChange={set('status')} />
        </Field>
        <Field id="f-service" label={t('col_service')}>
          <Choice id="f-service" value={filters.service} empty={t('all')} options={serviceChoices(cat?.services, lang)} onChange={set('service')} />
        </Field>
        {user?.role !== 'agency_staff' && (
          <Field id="f-agency" label={t('col_agency')}>
            <Choice id="f-agency" value={filters.agency} empty={t('all')} options={agencyChoices(cat, lang)} onChange={set('agency')} />
          </Field>
        )}
        <Field id="f-territory" label={t('col_territory')}>
          <Choice id="f-territory" value={filters.territory} empty={t('all')} options={territoryChoices(cat, lang)} onChange={set('territory')} />
        </Field>
        <Field id="f-from" label={t('console_filter_from')}>
          <input id="f-from" type="date" value={filters.from} onInput={(e) => set('from')((e.target as HTMLInputElement).value)} />
        </Field>
        <Field id="f-to" label={t('console_filter_to')}>
          <input id="f-to" type="date" value={filters.to} onInput={(e) => set('to')((e.target as HTMLInputElement).value)} />
        </Field>
        <button type="submit">{t('apply')}</button>
      </form>
      <ErrorMessage error={page.error} />
      {page.data ? <RequestTable items={page.data.items} /> : <Loading />}
      {page.data?.next_cursor && (
        <button type="button" onClick={() => setCursors([...cursors, page.data!.next_cursor])}>
          {t('more')}
        </button>
      )}
    </div>
  );
}

/** The request page: everything about one request and what can be done with it. */
export function RequestPageView({ id, templates = [] }: { id: string; templates?: string[] }) {
  const { t, lang } = useT();
  const cat = useCatalog();
  const user = useObservable(me);
  const request = useLoad(() => get<Request>(`/requests/${id}`), [id]);
  const events = useLoad(() => get<RequestEvent[]>(`/requests/${id}/events`), [id, request.data?.updated_at]);
  if (!request.data) return request.error ? <ErrorMessage error={request.error} /> : <Loading />;
  const r = request.data;
  return (
    <div class="request-page">
      <h1 class="visually-hidden">{t('request_title', { id: r.id })}</h1>
      {user?.role !== 'agency_staff' && <ConsoleNav current="" />}
      <div class="columns">
        <div>
          <Section title={t('request_title', { id: r.id })}>
            <p>
              <strong>{serviceName(cat, r.service_code, lang)}</strong> · <StatusBadge status={r.status} />{' '}
              {r.category && <span class="muted">· {topicName(r.category, lang)}</span>}
            </p>
            {r.duplicate_of && (
              <p class="notice" data-testid="merged-into">
                <a href={`/console/requests/${r.duplicate_of}`}>{t('request_merged_into', { id: r.duplicate_of })}</a>
              </p>
            )}
            {r.address && <p>{r.address}</p>}
            <p class="citizen-text" data-testid="request-text">
              {r.text}
            </p>
            {r.media_url && (
              <p>
                <a href={r.media_url} rel="noopener noreferrer nofollow" target="_blank">
                  {r.media_url}
                </a>
              </p>
            )}
            <dl class="facts">
              <dt>{t('col_agency')}</dt>
              <dd data-testid="request-agency">{r.agency ? agencyName(cat, r.agency, lang) : t('console_unrouted')}</dd>
              <dt>{t('request_channel')}</dt>
              <dd>{channelName(r.channel, lang)}</dd>
              <dt>{t('request_territory')}</dt>
              <dd>{r.territory ? territoryName(cat, r.territory, lang) : '—'}</dd>
              <dt>{t('col_created')}</dt>
              <dd>{formatTime(r.created_at, lang)}</dd>
              <dt>{t('col_due')}</dt>
              <dd class={isOverdue(r) ? 'overdue' : ''}>{formatTime(r.due_at, lang)}</dd>
            </dl>
            {r.last_answer && (
              <div class="answer">
                <h3>{t('track_answer')}</h3>
                <p>{r.last_answer}</p>
              </div>
            )}
          </Section>
          <ActionsPanel request={r} templates={templates} onDone={request.reload} />
          <Section title={t('request_timeline')}>
            {events.data ? (
              <ol class="timeline" data-testid="timeline">
                {events.data.map((e) => (
                  <li key={e.id}>
                    <time>{formatTime(e.at, lang)}</time> <strong>{eventName(e.kind, lang)}</strong> <span class="muted">{actorName(e.actor, lang)}</span>
                    {e.agency && <span> → {agencyName(cat, e.agency, lang)}</span>}
                    {e.new_due_at && (
                      <span class="muted">
                        {' '}
                        ({t('col_due')}: {formatTime(e.new_due_at, lang)})
                      </span>
                    )}
                    {e.text && <p>{eventText(e, t, lang)}</p>}
                  </li>
                ))}
              </ol>
            ) : (
              <Loading />
            )}
          </Section>
        </div>
        <div>
          {r.coordinates && <RequestMap lat={r.coordinates.lat} lon={r.coordinates.lon} />}
          {user?.role !== 'analyst' && <ContactReveal id={r.id} />}
          <DuplicatesOf request={r} mayMerge={isCenterStaff(user)} onMerged={request.reload} />
        </div>
      </div>
    </div>
  );
}

function RequestMap({ lat, lon }: { lat: number; lon: number }) {
  const cat = useCatalog();
  const box = useRef<HTMLDivElement>(null);
  useRegionMap(box, { ready: !!cat, styleUrl: cat?.config.map_style_url, label: `${lat}, ${lon}` }, (view) => {
    view.focus(lat, lon, 13);
    view.setPins([{ lat, lon }]);
    boundaries().then((b) => view.setOutlines(b), () => undefined);
  }, [cat, lat, lon]);
  return <div ref={box} class="map small-map card" />;
}

function ContactReveal({ id }: { id: number }) {
  const { t } = useT();
  const [contact, setContact] = useState<Contact | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <Section title={t('request_contact')} class="no-print">
      {contact ? (
        <dl class="facts" data-testid="contact">
          <dt>{t('portal_name')}</dt>
          <dd>{contact.name ?? '—'}</dd>
          <dt>{t('portal_phone')}</dt>
          <dd>{contact.phone ?? '—'}</dd>
          <dt>{t('portal_email')}</dt>
          <dd>{contact.email ?? '—'}</dd>
        </dl>
      ) : (
        <button type="button" onClick={() => get<Contact>(`/requests/${id}/contact`).then(setContact, setError)}>
          {t('request_reveal')}
        </button>
      )}
      <ErrorMessage error={error} />
    </Section>
  );
}

/** Likely duplicates of an open request, each of which the center's staff may merge it into,
 * and the requests already merged into this one. */
function DuplicatesOf({ request, mayMerge, onMerged }: { request: Request; mayMerge: boolean; onMerged: () => void }) {
  const { t, lang } = useT();
  const id = request.id;
  const found = useLoad(() => get<{ request: Request; distance_m: number; text_similarity: number }[]>(`/requests/${id}/duplicates`), [id]);
  const merged = useLoad(() => get<RequestPage>(`/requests?duplicate_of=${id}`), [id]);
  const [error, setError] = useState<unknown>(null);
  const open = !request.closed_at;
  const merge = (original: number) =>
    post(`/requests/${id}/mark-duplicate`, { duplicate_of: original }).then(onMerged, setError);
  return (
    <>
      <Section title={t('request_duplicates')}>
        <ErrorMessage error={found.error ?? error} />
        {found.data?.length === 0 && <p class="muted">{t('request_no_duplicates')}</p>}
        <ul class="compact-list" data-testid="duplicates">
          {found.data?.map((d) => (
            <li key={d.request.id}>
              <a href={`/console/requests/${d.request.id}`}>№{d.request.id}</a> <StatusBadge status={d.request.status} /> {t('metres', { m: formatNumber(d.distance_m, lang) })} ·{' '}
              {formatNumber(d.text_similarity * 100, lang)}% <span class="clip">{d.request.text}</span>
              {mayMerge && open && (
                <button type="button" class="small" data-merge={d.request.id} onClick={() => merge(d.request.id)}>
                  {t('request_merge', { id: d.request.id })}
                </button>
              )}
            </li>
          ))}
        </ul>
      </Section>
      {merged.data && merged.data.items.length > 0 && (
        <Section title={t('request_merged_here')}>
          <ul class="compact-list" data-testid="merged-here">
            {merged.data.items.map((m) => (
              <li key={m.id}>
                <a href={`/console/requests/${m.id}`}>№{m.id}</a> {formatTime(m.created_at, lang)} <span class="clip">{m.text}</span>
              </li>
            ))}
          </ul>
        </Section>
      )}
    </>
  );
}

/** One way to settle a triage item: a suggested service (confirmed or corrected, then routed
 * to its default agency) or a suggested agency (routed to). */
interface TriageChoice {
  service?: string;
  agency?: string;
  label: string;
  probability: number;
  because: Explained['because'];
}

/** The choices an item offers: the services when the service was only guessed, else the agencies. */
function triageChoices(item: TriageItem, cat: Catalog | undefined, lang: Lang): TriageChoice[] {
  const p = item.prediction;
  if (p.service_by === 'triage' && p.services_explained.length > 0) {
    return p.services_explained.slice(0, 3).map((c) => {
      const agency = cat?.services.find((s) => s.code === c.code)?.default_agency ?? undefined;
      const label = serviceName(cat, c.code, lang) + (agency ? ` → ${agencyName(cat, agency, lang)}` : '');
      return { service: c.code, agency, label, probability: c.probability, because: c.because };
    });
  }
  return p.agencies_explained.slice(0, 3).map((c) => ({ agency: c.code, label: agencyName(cat, c.code, lang), probability: c.probability, because: c.because }));
}

/** What a feature stands for in `text`, as written there: the word a stem or a character
 * n-gram is part of, the two words of two stems, or the field given beside the text. */
function featureWords(feature: FeatureName, text: string): string {
  const words = text.split(/[^\p{L}\p{N}-]+/u).filter(Boolean);
  const folded = (w: string) => w.toLowerCase().replace(/ё/g, 'е');
  const containing = (part: string) => words.find((w) => folded(w).includes(folded(part)));
  if ('Stem' in feature) return containing(feature.Stem) ?? feature.Stem;
  if ('Bigram' in feature) {
    const [first, second] = feature.Bigram.map(folded);
    const i = words.findIndex((w, k) => folded(w).startsWith(first) && k + 1 < words.length && folded(words[k + 1]).startsWith(second));
    return i >= 0 ? `${words[i]} ${words[i + 1]}` : feature.Bigram.join(' ');
  }
  if ('Chars' in feature) return containing(feature.Chars.trim()) ?? `«${feature.Chars.trim()}»`;
  return feature.Extra;
}

/** Settles a triage item by a choice: the service first (when it differs), then the agency. */
async function settle(request: Request, choice: TriageChoice) {
  if (choice.service && choice.service !== request.service_code) {
    await post(`/requests/${request.id}/reclassify`, { service: choice.service });
  }
  if (choice.agency) await post(`/requests/${request.id}/route`, { agency: choice.agency });
}

/** The triage queue: requests the model was unsure of, with its top choices and the words
 * behind them. Keys: j/k move, 1–3 take a suggested choice, Enter opens the request. */
export function TriageQueue() {
  const { t, lang } = useT();
  const cat = useCatalog();
  const items = useLoad(() => get<TriageItem[]>(`/triage${query({ limit: 50 })}`), []);
  const unrouted = useLoad(() => get<RequestPage>(`/requests${query({ status: 'registered', limit: 50 })}`), []);
  const [index, setIndex] = useState(0);
  const [error, setError] = useState<unknown>(null);
  /** A choice taken by its number key and waiting to be confirmed (the same key, or Enter). */
  const [pending, setPending] = useState<{ id: number; choice: number } | null>(null);
  const list = items.data ?? [];
  useEffect(() => {
    const onKey = async (e: KeyboardEvent) => {
      if ((e.target as HTMLElement).closest('input, textarea, select') || list.length === 0) return;
      const current = list[Math.min(index, list.length - 1)];
      const waiting = pending?.id === current.request.id ? pending.choice : null;
      const apply = async (n: number) => {
        const choice = triageChoices(current, cat, lang)[n];
        setPending(null);
        if (!choice) return;
        try {
          setError(null);
          await settle(current.request, choice);
          items.reload();
          unrouted.reload();
        } catch (err) {
          setError(err);
        }
      };
      if (e.key === 'j' || e.key === 'k') {
        setPending(null);
        setIndex((i) => (e.key === 'j' ? Math.min(list.length - 1, i + 1) : Math.max(0, i - 1)));
      } else if (e.key === 'Escape') setPending(null);
      else if (e.key === 'Enter') {
        if (waiting !== null) await apply(waiting);
        else navigate(`/console/requests/${current.request.id}`);
      } else if (['1', '2', '3'].includes(e.key)) {
        const n = Number(e.key) - 1;
        if (!triageChoices(current, cat, lang)[n]) return;
        if (waiting === n) await apply(n);
        else setPending({ id: current.request.id, choice: n });
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [list, index, cat, lang, pending]);
  const words = (item: TriageItem, because: Explained['because']) =>
    [...new Set(because.slice(0, 4).map((b) => featureWords(b.feature, item.request.text)))].join(', ');
  return (
    <div class="console">
      <ConsoleNav current="/console/triage" />
      <p class="muted">{t('console_triage_keys')}</p>
      <ErrorMessage error={items.error ?? error} />
      {items.data && list.length === 0 && (
        <p class="muted">
          {unrouted.data?.items.length ? t('console_triage_empty_unrouted', { n: formatNumber(unrouted.data.items.length, lang) }) : t('console_triage_empty')}
        </p>
      )}
      <ol class="triage" data-testid="triage">
        {list.map((item, i) => (
          <li key={item.request.id} class={i === index ? 'current' : ''} aria-current={i === index ? 'true' : undefined}>
            <a href={`/console/requests/${item.request.id}`}>№{item.request.id}</a> <span class="clip">{item.request.text}</span>
            <ul class="choices">
              {triageChoices(item, cat, lang).map((c, n) => (
                <li key={c.label} class={pending?.id === item.request.id && pending.choice === n ? 'pending' : ''}>
                  <kbd>{n + 1}</kbd> {c.label} {formatNumber(c.probability * 100, lang)}%{' '}
                  <small class="muted">
                    {t('console_because')}: {words(item, c.because)}
                  </small>
                </li>
              ))}
            </ul>
            {pending?.id === item.request.id && (
              <p class="notice" role="status">
                {t('console_triage_confirm', { n: pending.choice + 1 })}
              </p>
            )}
          </li>
        ))}
      </ol>
      <Section title={t('console_unrouted')}>{unrouted.data ? <RequestTable items={unrouted.data.items} /> : <Loading />}</Section>
    </div>
  );
}

/** Deadline control: counts per agency, each a way to that agency's requests in that queue,
 * soonest deadline first, a page at a time. The queue and the agency live in the address. */
export function QueuesPage() {
  const { t, lang } = useT();
  const cat = useCatalog();
  const params = new URLSearchParams(window.location.search);
  const [chosen, setChosen] = useState({ queue: params.get('queue') ?? 'overdue', agency: params.get('agency') ?? '' });
  const [page, setPage] = useState(1);
  const summaryTable = useRef<HTMLTableElement>(null);
  const summary = useLoad(() => get<{ agencies: QueueCounts[] }>('/queues'), []);
  const items = useLoad(
    () => get<{ items: Request[]; page: number }>(`/queues/${chosen.queue}${query({ agency: chosen.agency, limit: QUEUE_PAGE, page })}`),
    [chosen.queue, chosen.agency, page],
  );
  const choose = (queue: string, agency: string) => {
    setChosen({ queue, agency });
    setPage(1);
    window.history.replaceState(null, '', `/console/queues${query({ queue, agency })}`);
  };
  const columns: [keyof QueueCounts, MessageKey][] = [
    ['overdue', 'col_overdue'],
    ['due_today', 'col_due_today'],
    ['due_soon', 'col_due_soon'],
    ['no_first_reaction', 'col_no_reaction'],
  ];
  const queueName = (queue: string) => t(columns.find(([key]) => key.replace(/_/g, '-') === queue)?.[1] ?? 'col_overdue');
  return (
    <div class="console">
      <ConsoleNav current="/console/queues" />
      <ErrorMessage error={summary.error} />
      <TableExport table={summaryTable} name="queues" />
      <table class="queues" ref={summaryTable}>
        <thead>
          <tr>
            <th scope="col">{t('col_agency')}</th>
            {columns.map(([key, label]) => (
              <th scope="col" key={key}>
                <button type="button" class={chosen.queue === key.replace(/_/g, '-') && !chosen.agency ? 'link on' : 'link'} onClick={() => choose(key.replace(/_/g, '-'), '')}>
                  {t(label)}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {/* Rows once the agencies' names are known too, never with their codes. */}
          {cat && summary.data?.agencies.map((q) => (
            <tr key={q.agency ?? '-'}>
              <th scope="row">{q.agency ? agencyName(cat, q.agency, lang) : t('console_unrouted')}</th>
              {columns.map(([key, label]) => {
                const queue = key.replace(/_/g, '-');
                const on = chosen.queue === queue && chosen.agency === (q.agency ?? '');
                return (
                  <td key={key} class={`num ${key === 'overdue' && (q[key] as number) > 0 ? 'overdue' : ''}`}>
                    {q.agency && (q[key] as number) > 0 ? (
                      <button type="button" class={on ? 'link on' : 'link'} aria-label={`${formatNumber(q[key] as number, lang)} — ${t(label)}: ${agencyName(cat, q.agency, lang)}`} onClick={() => choose(queue, q.agency ?? '')}>
                        {formatNumber(q[key] as number, lang)}
                      </button>
                    ) : (
                      formatNumber(q[key] as number, lang)
                    )}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
      <h2>
        {queueName(chosen.queue)}
        {chosen.agency && ` — ${agencyName(cat, chosen.agency, lang)}`}
      </h2>
      <ErrorMessage error={items.error} />
      {items.data && <RequestTable items={items.data.items} />}
      <div class="buttons">
        {page > 1 && (
          <button type="button" onClick={() => setPage(page - 1)}>
            {t('page_previous')}
          </button>
        )}
        {items.data?.items.length === QUEUE_PAGE && (
          <button type="button" onClick={() => setPage(page + 1)}>
            {t('page_next')}
          </button>
        )}
      </div>
    </div>
  );
}

/** Requests on one page of a queue. */
const QUEUE_PAGE = 50;

/** Where an alert's spike is on the situation screen: its topic, its territory (or the
 * region) and the week ending on its last day. */
export function alertMapLink(a: Alert): string {
  return `/map${query({ end: a.last_day, window: 7, category: a.category, territory: a.territory })}`;
}

/** Spike alerts with their state: each with the way to its place and days on the map and to its
 * requests; acknowledging or resolving says where the alert went. */
export function AlertsPage() {
  const { t, lang } = useT();
  const [state, setState] = useState('new');
  const [open, setOpen] = useState<number | null>(null);
  const [moved, setMoved] = useState('');
  const alerts = useLoad(() => get<{ items: Alert[] }>(`/alerts${query({ state, limit: 100 })}`), [state]);
  const change = async (a: Alert, next: string) => {
    await post(`/alerts/${a.id}`, { state: next });
    setMoved(t('alert_moved', { topic: topicName(a.category, lang), state: alertStateName(next, lang) }));
    alerts.reload();
  };
  return (
    <div class="console">
      <ConsoleNav current="/console/alerts" />
      <label>
        {t('col_status')}{' '}
        <Choice value={state} options={ALERT_STATES.map((s) => [s, alertStateName(s, lang)])} onChange={setState} />
      </label>
      {moved && (
        <p class="success" role="status">
          {moved}
        </p>
      )}
      <ErrorMessage error={alerts.error} />
      {alerts.data?.items.length === 0 && <p class="muted">{t('panel_no_alerts')}</p>}
      {!!alerts.data?.items.length && (
        <table class="alerts">
          <thead>
            <tr>
              <th scope="col">{t('map_topic')}</th>
              <th scope="col">{t('request_territory')}</th>
              <th scope="col">{t('alert_days')}</th>
              <th scope="col">{t('alert_counts')}</th>
              <th scope="col" class="num">{t('alert_score')}</th>
              <th scope="col">{t('request_actions')}</th>
            </tr>
          </thead>
          <tbody>
            {alerts.data.items.map((a) => (
              <Fragment key={a.id}>
                <tr>
                  <th scope="row">{topicName(a.category, lang)}</th>
                  <td>{a.territory_name ?? t('alert_region')}</td>
                  <td class="nowrap">
                    {t(`alert_period_${a.period}` as MessageKey)}: {formatDate(a.first_day, lang)}
                    {a.first_day !== a.last_day && ` – ${formatDate(a.last_day, lang)}`}
                  </td>
                  <td>{t('alert_line', { observed: a.observed, expected: formatNumber(a.expected, lang, 1) })}</td>
                  <td class="num">{formatNumber(a.score, lang, 1)}</td>
                  <td class="buttons">
                    <a class="button small" href={alertMapLink(a)}>
                      {t('alert_on_map')}
                    </a>
                    <button type="button" class="small" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? null : a.id)}>
                      {t('alert_requests')}
                    </button>
                    {a.state === 'new' && (
                      <button type="button" class="small" onClick={() => change(a, 'acknowledged')}>
                        {t('alert_ack')}
                      </button>
                    )}
                    {a.state !== 'resolved' && (
                      <button type="button" class="small" onClick={() => change(a, 'resolved')}>
                        {t('alert_resolve')}
                      </button>
                    )}
                  </td>
                </tr>
                {open === a.id && (
                  <tr>
                    <td colSpan={6}>
                      <AlertRequests id={a.id} />
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/** The requests an alert counts. */
function AlertRequests({ id }: { id: number }) {
  const page = useLoad(() => get<RequestPage>(`/alerts/${id}/requests${query({ limit: 50 })}`), [id]);
  return page.data ? <RequestTable items={page.data.items} /> : <ErrorMessage error={page.error} />;
}

/** An event's text as a person reads it: an escalation's step and the deadline it passed
 * worded in the chosen language, any other text as written. */
function eventText(e: RequestEvent, t: ReturnType<typeof useT>['t'], lang: Lang): string {
  if (e.kind === 'escalated' && /^\d+$/.test(e.text ?? '') && e.old_due_at) {
    return t('event_escalated_step', { level: Number(e.text), due: formatTime(e.old_due_at, lang) });
  }
  return e.text ?? '';
}
