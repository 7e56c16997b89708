// Dashboards read at a glance: the league table of agencies or territories (with requests per
// 1,000 residents, each row leading to its requests), daily dynamics per topic with the year
// before, and the mix of channels requests arrive through — over a chosen period, for the whole
// region or one territory; the choices are kept in the address.
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, query, ScorecardRow, SeriesPoint } from '../api';
import { DAY, isoDate, regionToday, windowEnding } from '../dates';
import { channelName, CHANNELS, formatDate, formatNumber, nameOf, topicName, useT } from '../i18n';
import { agencyName, territoryChoices, territoryName } from '../session';
import { Bars, SeriesChart } from '../ui/charts';
import { Choice, ErrorMessage, Loading, Section, Segmented } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';
import { TableExport } from '../ui/export';

/** The periods the dashboards offer, in days ending today; the third is the default. */
const PERIODS = [7, 30, 90, 365] as const;
const DEFAULT_DAYS = 90;

/** What a league table ranks. */
type RankedBy = 'agency' | 'territory';

/** Scorecard rows as a table of agencies or territories; unranked rows say why. Over a period
 * `span`, each row's name leads to its requests filed in it; territories show requests per
 * 1,000 residents. */
export function ScorecardTable({ rows, by = 'agency', span }: { rows: ScorecardRow[]; by?: RankedBy; span?: { from: string; to: string } }) {
  const { t, lang } = useT();
  const cat = useCatalog();
  const perThousand = (r: ScorecardRow) => {
    const people = cat?.territories.find((x) => x.code === r.key)?.population;
    return people ? formatNumber((r.received / people) * 1000, lang, 2) : '—';
  };
  const name = (r: ScorecardRow) => (r.key === '-' ? t(by === 'agency' ? 'console_unrouted' : 'sc_no_territory') : (by === 'agency' ? agencyName : territoryName)(cat, r.key, lang));
  const requestsOf = (r: ScorecardRow) =>
    span && r.key !== '-' ? `/console${query({ [by]: r.key, from: span.from, to: isoDate(Date.parse(`${span.to}T00:00:00Z`) - DAY) })}` : null;
  const share = (v: number | null) => (v === null ? '—' : `${formatNumber(v * 100, lang)}%`);
  const num = (v: number | null, digits = 1) => (v === null ? '—' : formatNumber(v, lang, digits));
  const table = useRef<HTMLTableElement>(null);
  return (
    <>
    <TableExport table={table} name={`scorecards-${by}`} />
    <table class="scorecards" ref={table}>
      <thead>
        <tr>
          <th scope="col">{t('sc_rank')}</th>
          <th scope="col">{t(by === 'agency' ? 'col_agency' : 'col_territory')}</th>
          <th scope="col">{t('sc_received')}</th>
          {by === 'territory' && <th scope="col">{t('sc_per_1000')}</th>}
          <th scope="col">{t('sc_closed')}</th>
          <th scope="col">{t('sc_on_time')}</th>
          <th scope="col">{t('sc_first_answer')}</th>
          <th scope="col">{t('sc_overdue')}</th>
          <th scope="col">{t('sc_rating')}</th>
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key}>
            <td>{r.rank ?? <small class="muted">{t('sc_unranked')}</small>}</td>
            <th scope="row">{requestsOf(r) ? <a href={requestsOf(r)!}>{name(r)}</a> : name(r)}</th>
            <td>{r.received}</td>
            {by === 'territory' && <td>{perThousand(r)}</td>}
            <td>{r.closed}</td>
            <td>{share(r.on_time_share)}</td>
            <td>{num(r.first_answer_days_median)}</td>
            <td class={r.overdue_now > 0 ? 'overdue' : ''}>{r.overdue_now}</td>
            <td>{num(r.average_rating)}</td>
          </tr>
        ))}
      </tbody>
    </table>
    </>
  );
}

export function Dashboards() {
  const { t, lang } = useT();
  const cat = useCatalog();
  const params = new URLSearchParams(window.location.search);
  const asked = Number(params.get('days'));
  const [days, setDays] = useState<number>(PERIODS.some((p) => p === asked) ? asked : DEFAULT_DAYS);
  const [by, setBy] = useState<RankedBy>(params.get('by') === 'territory' ? 'territory' : 'agency');
  const [territory, setTerritory] = useState(params.get('territory') ?? '');
  useEffect(() => {
    const kept = { days: days === DEFAULT_DAYS ? undefined : days, by: by === 'agency' ? undefined : by, territory: territory || undefined };
    window.history.replaceState(null, '', `/dashboards${query(kept)}`);
  }, [days, by, territory]);
  const span = windowEnding(days);
  const place = { territory: territory || undefined };
  const league = useLoad(() => get<{ rows: ScorecardRow[] }>(`/scorecards${query({ by, ...span })}`), [by, days]);
  const topics = [...new Set(cat?.services.map((s) => s.group) ?? [])].sort();
  const dynamics = useLoad(
    () => Promise.all(topics.map((category) => get<SeriesPoint[]>(`/analytics/series${query({ ...span, ...place, category, compare: 'year' })}`).then((points) => ({ category, points })))),
    [topics.join(), territory, days],
  );
  const channels = useLoad(
    () =>
      Promise.all(
        CHANNELS.map((channel) =>
          get<{ okno: { count: number } }>(`/analytics/heatmap${query({ ...span, ...place, channel, by: 'territories', format: 'json' })}`).then((m) => ({
            channel,
            count: m.okno.count,
          })),
        ),
      ),
    [territory, days],
  );
  return (
    <div class="dashboards">
      <h1>{t('dash_title')}</h1>
      <div class="dash-period">
        <Segmented
          name="period"
          legend={t('dash_period_choice')}
          value={String(days)}
          options={PERIODS.map((p) => [String(p), t('dash_days', { n: p })])}
          onChange={(v) => setDays(Number(v))}
        />
        <p class="muted">
          {formatDate(span.from, lang)} – {formatDate(isoDate(regionToday()), lang)}
        </p>
      </div>
      <Section title={t(by === 'agency' ? 'dash_league' : 'dash_league_territories')}>
        <Segmented
          name="league-by"
          legend={t('dash_league')}
          value={by}
          options={[['agency', t('dash_by_agency')], ['territory', t('dash_by_territory')]]}
          onChange={setBy}
        />
        <ErrorMessage error={league.error} />
        {league.data ? <ScorecardTable rows={league.data.rows} by={by} span={span} /> : <Loading />}
      </Section>
      <label class="dash-territory">
        {t('dash_territory')} <Choice name="territory" value={territory} empty={t('dash_whole_region')} options={territoryChoices(cat, lang)} onChange={setTerritory} />
      </label>
      <Section title={t('dash_channels')}>
        <ErrorMessage error={channels.error} />
        {channels.data && (
          <Bars
            label={t('dash_channels')}
            rows={channels.data
              .filter((c) => c.count > 0)
              .sort((a, b) => b.count - a.count)
              .map((c) => ({ label: channelName(c.channel, lang), value: c.count, note: formatNumber(c.count, lang) }))}
          />
        )}
      </Section>
      <Section title={t('dash_dynamics')} class="wide">
        <ErrorMessage error={dynamics.error} />
        <div class="chart-grid">
          {dynamics.data?.map((d) => (
            <div key={d.category}>
              <h3>{topicName(d.category, lang)}</h3>
              <SeriesChart points={d.points} label={topicName(d.category, lang)} height={90} />
            </div>
          ))}
        </div>
      </Section>
      {cat && <p class="muted">{nameOf({ name_ru: cat.config.region_name_ru, name_en: cat.config.region_name_en }, lang)}</p>}
    </div>
  );
}
