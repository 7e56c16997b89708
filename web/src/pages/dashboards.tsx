// Dashboards read at a glance: the league table of agencies or territories, daily dynamics per
// topic with the year before, and the mix of channels requests arrive through — for the whole
// region or one territory.
import { useRef, useState } from 'preact/hooks';
import { get, query, ScorecardRow, SeriesPoint } from '../api';
import { isoDate, regionToday, windowEnding } from '../dates';
import { channelName, CHANNELS, formatDate, formatNumber, nameOf, topicName, useT } from '../i18n';
import { agencyName, territoryName } from '../session';
import { Bars, SeriesChart } from '../ui/charts';
import { Choice, ErrorMessage, Loading, Section, Segmented } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';
import { CsvExport } from '../ui/export';

/** Days the dashboards cover, ending today. */
const DASHBOARD_DAYS = 90;

/** What a league table ranks. */
type RankedBy = 'agency' | 'territory';

/** Scorecard rows as a table of agencies or territories; unranked rows say why. */
export function ScorecardTable({ rows, by = 'agency' }: { rows: ScorecardRow[]; by?: RankedBy }) {
  const { t, lang } = useT();
  const cat = useCatalog();
  const share = (v: number | null) => (v === null ? '—' : `${formatNumber(v * 100, lang)}%`);
  const num = (v: number | null, digits = 1) => (v === null ? '—' : formatNumber(v, lang, digits));
  const table = useRef<HTMLTableElement>(null);
  return (
    <>
    <CsvExport table={table} name={`scorecards-${by}`} />
    <table class="scorecards" ref={table}>
      <thead>
        <tr>
          <th scope="col">{t('sc_rank')}</th>
          <th scope="col">{t(by === 'agency' ? 'col_agency' : 'col_territory')}</th>
          <th scope="col">{t('sc_received')}</th>
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
            <th scope="row">{r.key === '-' ? t(by === 'agency' ? 'console_unrouted' : 'sc_no_territory') : (by === 'agency' ? agencyName : territoryName)(cat, r.key, lang)}</th>
            <td>{r.received}</td>
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
  const span = windowEnding(DASHBOARD_DAYS);
  const [by, setBy] = useState<RankedBy>('agency');
  const [territory, setTerritory] = useState('');
  const place = { territory: territory || undefined };
  const league = useLoad(() => get<{ rows: ScorecardRow[] }>(`/scorecards${query({ by, ...span })}`), [by]);
  const topics = [...new Set(cat?.services.map((s) => s.group) ?? [])].sort();
  const dynamics = useLoad(
    () => Promise.all(topics.map((category) => get<SeriesPoint[]>(`/analytics/series${query({ ...span, ...place, category, compare: 'year' })}`).then((points) => ({ category, points })))),
    [topics.join(), territory],
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
    [territory],
  );
  const territories: [string, string][] = (cat?.territories ?? []).filter((x) => x.parent).map((x) => [x.code, territoryName(cat, x.code, lang)]);
  return (
    <div class="dashboards">
      <h1>{t('dash_title')}</h1>
      <p class="muted">{formatDate(span.from, lang)} – {formatDate(isoDate(regionToday()), lang)}</p>
      <Section title={t(by === 'agency' ? 'dash_league' : 'dash_league_territories')}>
        <Segmented
          name="league-by"
          legend={t('dash_league')}
          value={by}
          options={[['agency', t('dash_by_agency')], ['territory', t('dash_by_territory')]]}
          onChange={setBy}
        />
        <ErrorMessage error={league.error} />
        {league.data ? <ScorecardTable rows={league.data.rows} by={by} /> : <Loading />}
      </Section>
      <label class="dash-territory">
        {t('dash_territory')} <Choice name="territory" value={territory} empty={t('dash_whole_region')} options={territories} onChange={setTerritory} />
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
