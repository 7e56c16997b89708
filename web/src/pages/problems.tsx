// Systemic problems: the list operators work through (proposals first), a problem's page with
// its requests on the map, its weekly trend and the decision (accept with a name and an owner,
// dismiss, close when the cause is fixed), and the short lists the situation screen and the
// agency workspace show.
import { useRef, useState } from 'preact/hooks';
import { get, post, query, RequestPage, SystemicProblem } from '../api';
import { formatDate, formatNumber, MessageKey, PROBLEM_STATES, problemStateName, topicName, useT } from '../i18n';
import { agencyChoices, agencyName, boundaries, isCenterStaff, me } from '../session';
import { useObservable } from '../state';
import { Bars } from '../ui/charts';
import { Choice, ErrorMessage, Field, Loading, Section } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';
import { useRegionMap } from '../ui/lazymap';
import { ConsoleNav, RequestTable } from './console';

/** What a problem is called: its name once accepted, else what its requests say. */
function problemLabel(p: SystemicProblem): string {
  return p.title ?? p.sample_text;
}

/** A compact list of problems linking to their pages. */
export function ProblemList({ items }: { items: SystemicProblem[] }) {
  const { t, lang } = useT();
  if (items.length === 0) return <p class="muted">{t('problems_none')}</p>;
  return (
    <ul class="compact-list" data-testid="problem-list">
      {items.map((p) => (
        <li key={p.id}>
          <a href={`/console/problems/${p.id}`}>
            <span class="clip">{problemLabel(p)}</span>
          </a>
          <br />
          <span class="muted">
            {problemStateName(p.state, lang)} · {topicName(p.topic, lang)} · {p.territory_name ?? '—'} · {t('problems_members', { n: p.members })}
          </span>
        </li>
      ))}
    </ul>
  );
}

/** The open problems, for the situation screen's side panel. */
export function ProblemsPanel() {
  const { t } = useT();
  const open = useLoad(() => get<{ items: SystemicProblem[] }>(`/problems${query({ state: 'proposed,accepted', limit: 8 })}`), []);
  return (
    <section class="card" aria-label={t('panel_problems')} data-testid="problems-panel">
      <h2>{t('panel_problems')}</h2>
      <ErrorMessage error={open.error} />
      {open.data && <ProblemList items={open.data.items} />}
    </section>
  );
}

/** All problems of a state, newest first. */
export function ProblemsPage() {
  const { t, lang } = useT();
  const [state, setState] = useState('proposed');
  const found = useLoad(() => get<{ items: SystemicProblem[] }>(`/problems${query({ state, limit: 200 })}`), [state]);
  return (
    <div class="console">
      <ConsoleNav current="/console/problems" />
      <label>
        {t('col_status')} <Choice value={state} options={PROBLEM_STATES.map((s) => [s, problemStateName(s, lang)])} onChange={setState} />
      </label>
      <ErrorMessage error={found.error} />
      {found.data ? (
        <table class="problems">
          <thead>
            <tr>
              <th scope="col">{t('problems_what')}</th>
              <th scope="col">{t('problems_topic')}</th>
              <th scope="col">{t('request_territory')}</th>
              <th scope="col">{t('problems_requests')}</th>
              <th scope="col">{t('problems_span')}</th>
              <th scope="col">{t('problems_owner')}</th>
            </tr>
          </thead>
          <tbody>
            {found.data.items.map((p) => (
              <ProblemRow key={p.id} problem={p} />
            ))}
          </tbody>
        </table>
      ) : (
        <Loading />
      )}
      {found.data?.items.length === 0 && <p class="muted">{t('problems_none')}</p>}
    </div>
  );
}

function ProblemRow({ problem: p }: { problem: SystemicProblem }) {
  const { lang } = useT();
  const cat = useCatalog();
  return (
    <tr>
      <td>
        <a href={`/console/problems/${p.id}`}>{problemLabel(p)}</a>
      </td>
      <td>{topicName(p.topic, lang)}</td>
      <td>{p.territory_name ?? '—'}</td>
      <td>{p.members}</td>
      <td class="nowrap">
        {formatDate(p.first_at, lang)} – {formatDate(p.last_at, lang)}
      </td>
      <td>{p.owner ? agencyName(cat, p.owner, lang) : '—'}</td>
    </tr>
  );
}

/** The decisions an operator can take on a problem in each state. */
const NEXT_STATES: Record<SystemicProblem['state'], SystemicProblem['state'][]> = {
  proposed: ['accepted', 'dismissed'],
  accepted: ['closed', 'dismissed'],
  dismissed: ['proposed'],
  closed: ['accepted'],
};

/** One problem: what it is, where, how it grows, its requests and the decision. */
export function ProblemPage({ id }: { id: string }) {
  const { t, lang } = useT();
  const cat = useCatalog();
  const user = useObservable(me);
  const detail = useLoad(() => get<SystemicProblem & { weeks: { week: string; count: number }[] }>(`/problems/${id}`), [id]);
  const members = useLoad(() => get<RequestPage>(`/problems/${id}/requests${query({ limit: 200 })}`), [id, detail.data?.updated_at]);
  const [title, setTitle] = useState('');
  const [owner, setOwner] = useState('');
  const [note, setNote] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [titleMissing, setTitleMissing] = useState(false);
  if (!detail.data) return detail.error ? <ErrorMessage error={detail.error} /> : <Loading />;
  const p = detail.data;
  const decide = (state: string) => {
    setError(null);
    setTitleMissing(state === 'accepted' && !title.trim() && !p.title);
    if (state === 'accepted' && !title.trim() && !p.title) {
      document.getElementById('problem-title')?.focus();
      return;
    }
    post(`/problems/${p.id}`, { state, title: title.trim() || undefined, owner: owner || undefined, note: note.trim() || undefined }).then(detail.reload, setError);
  };
  return (
    <div class="problem-page">
      {isCenterStaff(user) && <ConsoleNav current="/console/problems" />}
      <div class="columns">
        <div>
          <Section title={t('problem_title', { id: p.id })}>
            <h3 data-testid="problem-label">{problemLabel(p)}</h3>
            <dl class="facts">
              <dt>{t('col_status')}</dt>
              <dd data-testid="problem-state">{problemStateName(p.state, lang)}</dd>
              <dt>{t('problems_topic')}</dt>
              <dd>{topicName(p.topic, lang)}</dd>
              <dt>{t('request_territory')}</dt>
              <dd>{p.territory_name ?? '—'}</dd>
              <dt>{t('problems_requests')}</dt>
              <dd data-testid="problem-members">{p.members}</dd>
              <dt>{t('problems_span')}</dt>
              <dd>
                {formatDate(p.first_at, lang)} – {formatDate(p.last_at, lang)}
              </dd>
              <dt>{t('problems_extent')}</dt>
              <dd>{t('problems_radius', { m: formatNumber(p.radius_m, lang) })}</dd>
              <dt>{t('problems_owner')}</dt>
              <dd data-testid="problem-owner">{p.owner ? agencyName(cat, p.owner, lang) : '—'}</dd>
              {p.note && (
                <>
                  <dt>{t('problems_note')}</dt>
                  <dd>{p.note}</dd>
                </>
              )}
            </dl>
            <p class="muted">
              {t('problems_sample')}: <span class="citizen-text">{p.sample_text}</span>
            </p>
          </Section>
          {isCenterStaff(user) && (
            <Section title={t('problems_decision')}>
              <form class="actions" onSubmit={(e) => e.preventDefault()}>
                <Field id="problem-title" label={t('problems_name')} error={titleMissing ? t('problems_need_name') : undefined}>
                  <input id="problem-title" value={title} placeholder={p.title ?? ''} maxLength={200} onInput={(e) => setTitle((e.target as HTMLInputElement).value)} />
                </Field>
                <Field id="problem-owner" label={t('problems_owner')}>
                  <Choice id="problem-owner" value={owner} empty="—" options={agencyChoices(cat, lang)} onChange={setOwner} />
                </Field>
                <Field id="problem-note" label={t('problems_note')}>
                  <textarea id="problem-note" rows={2} value={note} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
                </Field>
                <div class="buttons">
                  {NEXT_STATES[p.state].map((s) => (
                    <button key={s} type="button" data-decision={s} onClick={() => decide(s)}>
                      {t(`problems_to_${s}` as MessageKey)}
                    </button>
                  ))}
                </div>
                <ErrorMessage error={error} />
              </form>
            </Section>
          )}
          <Section title={t('problems_weeks')}>
            <Bars rows={p.weeks.map((w) => ({ label: formatDate(w.week, lang), value: w.count }))} label={t('problems_weeks')} />
          </Section>
        </div>
        <div>
          <ProblemMap requests={members.data?.items ?? []} />
        </div>
      </div>
      <Section title={t('problems_requests')}>
        <ErrorMessage error={members.error} />
        {members.data ? <RequestTable items={members.data.items} /> : <Loading />}
      </Section>
    </div>
  );
}

function ProblemMap({ requests }: { requests: { coordinates: { lat: number; lon: number } | null }[] }) {
  const { t } = useT();
  const cat = useCatalog();
  const box = useRef<HTMLDivElement>(null);
  const points = requests.flatMap((r) => (r.coordinates ? [r.coordinates] : []));
  const key = points.map((c) => `${c.lat},${c.lon}`).join(';');
  useRegionMap(box, { ready: !!cat && points.length > 0, styleUrl: cat?.config.map_style_url, label: t('problems_map') }, (view) => {
    const lat = points.reduce((a, c) => a + c.lat, 0) / points.length;
    const lon = points.reduce((a, c) => a + c.lon, 0) / points.length;
    view.focus(lat, lon, 15);
    view.setPins(points);
    boundaries().then((b) => view.setOutlines(b), () => undefined);
  }, [cat, key]);
  return <div ref={box} class="map small-map card" data-testid="problem-map" />;
}
