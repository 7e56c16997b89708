// The situation screen: the region's map of requests (H3 hexagons or territories) over a time
// window that can be played through, with filters, the requests behind a place, and side
// panels for spike alerts, systemic problems, overdue work by agency and the daily series. Citizens see the same
// map and statistics without the staff panels.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Alert, get, HeatMap, post, query, QueueCounts, RequestPage, SeriesPoint } from '../api';
import { DAY, isoDate, regionToday, windowEnding } from '../dates';
import { channelName, CHANNELS, formatDate, formatNumber, Lang, MessageKey, topicName, useT } from '../i18n';
import { agencyChoices, agencyName, boundaries, isCenterStaff, me } from '../session';
import { useObservable } from '../state';
import { Bars, SeriesChart } from '../ui/charts';
import { Choice, ErrorMessage, Segmented, StatusBadge } from '../ui/common';
import { useCatalog, useLoad } from '../ui/hooks';
import type { MapMouseEvent } from 'maplibre-gl';
import { useRegionMap } from '../ui/lazymap';
import type { RegionMap } from '../ui/map';
import { Legend, Measure, territoryLabels, valueOf } from '../ui/mapdata';
import { ProblemsPanel } from './problems';
import { TableExport } from '../ui/export';

const WINDOWS = [7, 30, 90, 365];
/** How far back the slider reaches. */
const SLIDER_DAYS = 540;

interface Filters {
  category: string;
  agency: string;
  status: string;
  channel: string;
}

/** Data of a clicked place. */
interface Selected {
  feature: GeoJSON.Feature;
  properties: Record<string, unknown>;
}

export function SituationScreen({ publicView }: { publicView: boolean }) {
  const { t, lang } = useT();
  const user = useObservable(me);
  const staff = !publicView && !!user;
  const cat = useCatalog();
  const container = useRef<HTMLDivElement>(null);
  const [map, setMap] = useState<RegionMap | null>(null);
  // A link may name a territory to choose (`?territory=`, e.g. from a spike alert).
  const askedTerritory = useRef(new URLSearchParams(window.location.search).get('territory'));
  const [mode, setMode] = useState<'cells' | 'territories'>(askedTerritory.current ? 'territories' : 'cells');
  const [measure, setMeasure] = useState<Measure>('count');
  const [windowDays, setWindowDays] = useState(() => {
    const asked = Number(new URLSearchParams(window.location.search).get('window'));
    return WINDOWS.includes(asked) ? asked : 30;
  });
  // `?end=YYYY-MM-DD` opens the window ending that day (e.g. to look at imported history).
  const [endOffset, setEndOffset] = useState(() => {
    const end = Date.parse(`${new URLSearchParams(window.location.search).get('end')}T00:00:00Z`);
    return Number.isFinite(end) ? Math.max(0, Math.round((regionToday() - end) / DAY)) : 0;
  });
  const sliderDays = Math.max(SLIDER_DAYS, endOffset);
  const [playing, setPlaying] = useState(false);
  const [filters, setFilters] = useState<Filters>(() => ({
    category: new URLSearchParams(window.location.search).get('category') ?? '',
    agency: '',
    status: '',
    channel: '',
  }));
  const [zoom, setZoom] = useState(8);
  const [legend, setLegend] = useState<Legend | null>(null);
  const [selected, setSelected] = useState<Selected | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [heat, setHeat] = useState<HeatMap | null>(null);
  /** The data on the map now, for the click handler (made once). */
  const shown = useRef<HeatMap | null>(null);

  const end = regionToday() - endOffset * DAY;
  const span = windowEnding(windowDays, end);
  const countQuery = { ...span, ...filters };

  // The map is made once; its outlines come from the territories' boundaries.
  useRegionMap(container, { ready: !!cat, styleUrl: cat?.config.map_style_url, label: t('map_title') }, (view) => {
    view.map.on('zoomend', () => setZoom(Math.round(view.map.getZoom())));
    view.enableHoverLabels();
    // A link may name the place to look at (`?lat=…&lon=…&zoom=…`); otherwise the view is
    // fitted to the region. Data is asked for once the view is set, at its zoom.
    const asked = new URLSearchParams(window.location.search);
    const [lat, lon, z] = ['lat', 'lon', 'zoom'].map((k) => Number(asked.get(k) ?? NaN));
    if (Number.isFinite(lat) && Number.isFinite(lon)) view.focus(lat, lon, Number.isFinite(z) ? z : 12);
    boundaries()
      .then((outlines) => view.setOutlines(outlines))
      .catch(setError)
      .finally(() => {
        setZoom(Math.round(view.map.getZoom()));
        setMap(view);
      });
  }, [cat]);

  // The data layer follows the window, the filters, the grouping and the zoom.
  useEffect(() => {
    if (!map) return;
    let current = true;
    const grouping = mode === 'cells' ? { by: 'cells', zoom } : { by: 'territories' };
    get<HeatMap>(`/analytics/heatmap${query({ ...countQuery, ...grouping })}`).then(
      async (data) => {
        if (!current) return;
        setHeat(data);
        shown.current = data;
        setError(null);
        // The chosen place stays chosen with its counts of this window, or goes when the map
        // no longer shows it (another grouping or resolution).
        const asked = askedTerritory.current;
        askedTerritory.current = null;
        setSelected((chosen) => {
          const key = asked ?? (chosen && placeKey(chosen.properties));
          const again = key ? data.features.find((f) => placeKey(f.properties ?? {}) === key) : undefined;
          map.select(again ?? null);
          return again ? { feature: again, properties: again.properties ?? {} } : null;
        });
        map.setLabels(mode === 'territories' ? territoryLabels(data.features, lang) : []);
        setLegend(await map.setData(data, measure));
        await map.drawn();
        // What the browser tests and web/bench/first-render.mjs wait for.
        if (current) performance.mark('okno-data-drawn');
        document.body.dataset.mapDrawn = String(data.okno.count);
      },
      (e) => current && setError(e),
    );
    return () => {
      current = false;
    };
  }, [map, mode, measure, zoom, span.from, span.to, filters, lang]);

  /** Chooses a place: outlined on the map, its counts and requests beside it. */
  const choose = (clicked: GeoJSON.Feature) => {
    // The map hands over the part of a place drawn in one tile; the data has all of it.
    const feature = shown.current?.features.find((f) => placeKey(f.properties ?? {}) === placeKey(clicked.properties ?? {})) ?? clicked;
    setSelected({ feature, properties: feature.properties ?? {} });
    map?.select(feature);
  };

  // Clicking a place shows its counts (and, for staff, the requests behind them).
  useEffect(() => {
    if (!map) return;
    const onClick = (e: MapMouseEvent & { features?: GeoJSON.Feature[] }) => {
      const feature = e.features?.[0];
      if (feature) choose(feature);
    };
    map.map.on('click', 'data-fill', onClick);
    return () => {
      map.map.off('click', 'data-fill', onClick);
    };
  }, [map]);

  if (map) {
    map.describe = (p) => {
      const lines = [String((lang === 'ru' ? p.name_ru : p.name_en) ?? ''), t('map_count', { count: formatNumber(Number(p.count ?? 0), lang) }),
        t('map_previous', { count: formatNumber(Number(p.previous ?? 0), lang) })];
      const rate = valueOf(p, 'per_1000');
      if (rate !== null) lines.push(t('map_per_1000', { rate: formatNumber(rate, lang, 2) }));
      return lines.filter(Boolean);
    };
  }

  // Play-through: the window's end moves forward a week at a time up to today.
  useEffect(() => {
    if (!playing) return;
    const timer = setInterval(() => {
      setEndOffset((offset) => {
        if (offset <= 0) {
          setPlaying(false);
          return 0;
        }
        return Math.max(0, offset - 7);
      });
    }, 900);
    return () => clearInterval(timer);
  }, [playing]);

  const categories = useMemo(() => [...new Set(cat?.services.map((s) => s.group) ?? [])].sort(), [cat]);
  const setFilter = (key: keyof Filters) => (value: string) => setFilters({ ...filters, [key]: value });

  return (
    <div class="situation">
      <h1 class="visually-hidden">{t(publicView ? 'map_public_title' : 'map_title')}</h1>
      <form class="map-controls" aria-label={t('map_title')} onSubmit={(e) => e.preventDefault()}>
        <Segmented
          name="mode"
          legend={t('map_mode_cells')}
          value={mode}
          options={[['cells', t('map_mode_cells')], ['territories', t('map_mode_territories')]]}
          onChange={setMode}
        />
        <label>
          {t('map_measure')}
          <select name="measure" value={measure} onChange={(e) => setMeasure((e.target as HTMLSelectElement).value as Measure)}>
            <option value="count">{t('map_measure_count')}</option>
            {mode === 'territories' && <option value="per_1000">{t('map_measure_rate')}</option>}
            <option value="change">{t('map_measure_change')}</option>
          </select>
        </label>
        <label>
          {t('map_topic')}
          <Choice name="category" value={filters.category} empty={t('all')} options={categories.map((c) => [c, topicName(c, lang)])} onChange={setFilter('category')} />
        </label>
        <label>
          {t('map_agency')}
          <Choice name="agency" value={filters.agency} empty={t('all')} options={agencyChoices(cat, lang)} onChange={setFilter('agency')} />
        </label>
        <label>
          {t('map_status')}
          <Choice
            name="status"
            value={filters.status}
            empty={t('all')}
            options={[['open', t('map_status_open')], ['closed', t('map_status_closed')]]}
            onChange={setFilter('status')}
          />
        </label>
        <label>
          {t('map_channel')}
          <Choice name="channel" value={filters.channel} empty={t('all')} options={CHANNELS.map((c) => [c, channelName(c, lang)])} onChange={setFilter('channel')} />
        </label>
        <label>
          {t('map_window')}
          <select name="window" value={windowDays} onChange={(e) => setWindowDays(Number((e.target as HTMLSelectElement).value))}>
            {WINDOWS.map((w) => (
              <option key={w} value={w}>
                {w} {t('days')}
              </option>
            ))}
          </select>
        </label>
        <label class="slider">
          <span>{t('map_window_days', { n: windowDays, date: formatDate(isoDate(end), lang) })}</span>
          <input
            type="range"
            name="end"
            min={-sliderDays}
            max={0}
            step={1}
            value={-endOffset}
            onInput={(e) => setEndOffset(-Number((e.target as HTMLInputElement).value))}
          />
        </label>
        <button
          type="button"
          onClick={() => {
            if (!playing && endOffset === 0) setEndOffset(Math.min(sliderDays, 180));
            setPlaying(!playing);
          }}
        >
          {playing ? t('map_stop') : t('map_play')}
        </button>
      </form>
      <div class="map-area">
        <div ref={container} class="map" data-testid="map" />
        {legend && heat && heat.okno.count + heat.okno.previous > 0 && <LegendBox legend={legend} measure={measure} />}
        {heat && (
          <p class="map-total" data-testid="map-total">
            {heat.okno.count === 0 ? t('map_nothing', { from: formatDate(span.from, lang), to: formatDate(isoDate(end - DAY), lang) })
              : t('map_total', { count: formatNumber(heat.okno.count, lang), previous: formatNumber(heat.okno.previous, lang) })}
          </p>
        )}
      </div>
      <aside class="side-panels">
        <ErrorMessage error={error} />
        {selected && (
          <PlaceDetails
            selected={selected}
            countQuery={countQuery}
            staff={staff}
            onClose={() => {
              setSelected(null);
              map?.select(null);
            }}
          />
        )}
        <SeriesPanel countQuery={countQuery} />
        {heat && <PlacesTable heat={heat} onChoose={choose} />}
        {staff && isCenterStaff(user) && <AlertsPanel />}
        {staff && isCenterStaff(user) && <ProblemsPanel />}
        {staff && <OverduePanel />}
      </aside>
    </div>
  );
}

/** The key of a place of the heat map: its territory or its cell. */
function placeKey(p: Record<string, unknown>): string {
  return String(p.territory ?? p.cell ?? '');
}

/** A place's name: the territory's in the chosen language, or "a cell of the map". */
function placeName(p: Record<string, unknown>, lang: Lang, t: (key: MessageKey) => string): string {
  const name = lang === 'ru' ? p.name_ru : p.name_en;
  return typeof name === 'string' && name ? name : t('map_cell');
}

/** A measure's value as the legend and the table write it (rates with 2 decimals, or
 * `digits`). */
function measureText(value: number, measure: Measure, lang: Lang, digits?: number): string {
  if (measure === 'change') return `${value > 0 ? '+' : ''}${formatNumber(value * 100, lang, digits ?? 0)} %`;
  return formatNumber(value, lang, measure === 'count' ? 0 : (digits ?? 2));
}

/** The fewest decimals (up to 4) that write a legend's class breaks all differently. */
function legendDigits(legend: Legend, measure: Measure, lang: Lang): number {
  const breaks = legend.from.filter(Number.isFinite);
  for (let digits = measure === 'per_1000' ? 2 : 0; digits < 4; digits++) {
    const written = breaks.map((b) => measureText(b, measure, lang, digits));
    if (new Set(written).size === written.length) return digits;
  }
  return 4;
}

function LegendBox({ legend, measure }: { legend: Legend; measure: Measure }) {
  const { t, lang } = useT();
  const digits = legendDigits(legend, measure, lang);
  const text = (value: number) => measureText(value, measure, lang, digits);
  const range = (i: number) => {
    const [low, high] = [legend.from[i], legend.from[i + 1]];
    if (!Number.isFinite(low)) return `< ${text(high)}`;
    if (high === undefined) return `≥ ${text(low)}`;
    if (measure === 'count' && high - low === 1) return text(low);
    return `${text(low)} – ${text(measure === 'count' ? high - 1 : high)}`;
  };
  return (
    <figure class="legend" data-testid="legend">
      <figcaption>{t(measure === 'change' ? 'map_legend_change' : measure === 'per_1000' ? 'map_measure_rate' : 'map_measure_count')}</figcaption>
      <ul>
        {legend.colours.map((c, i) => (
          <li key={`${c}-${i}`}>
            <span class="swatch" style={{ background: c }} aria-hidden="true" />
            {range(i)}
          </li>
        ))}
        {measure !== 'change' && (
          <li>
            <span class="swatch empty" aria-hidden="true" />
            {t('map_legend_none')}
          </li>
        )}
      </ul>
    </figure>
  );
}

/** The map's places as a table, most requests first: the same data for reading, for screen
 * readers and for places too small to see; a place's name chooses it as a click on the map does. */
function PlacesTable({ heat, onChoose }: { heat: HeatMap; onChoose: (feature: GeoJSON.Feature) => void }) {
  const { t, lang } = useT();
  const rows = heat.features
    .filter((f) => Number(f.properties?.count ?? 0) + Number(f.properties?.previous ?? 0) > 0)
    .sort((a, b) => Number(b.properties?.count ?? 0) - Number(a.properties?.count ?? 0))
    .slice(0, 100);
  const territories = rows.some((f) => typeof f.properties?.territory === 'string');
  const table = useRef<HTMLTableElement>(null);
  return (
    <details class="card places-table" data-testid="places-table">
      <summary>{t('map_table', { n: formatNumber(rows.length, lang) })}</summary>
      <TableExport table={table} name={`map-${heat.okno.from}-${heat.okno.to}`} />
      <table ref={table}>
        <thead>
          <tr>
            <th scope="col">{territories ? t('map_table_territory') : t('map_table_cell')}</th>
            <th scope="col" class="num">{t('map_measure_count')}</th>
            <th scope="col" class="num">{t('map_table_previous')}</th>
            <th scope="col" class="num">{t('map_table_change')}</th>
            {territories && <th scope="col" class="num">{t('map_measure_rate')}</th>}
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => {
            const p = f.properties ?? {};
            const change = valueOf(p, 'change');
            const rate = valueOf(p, 'per_1000');
            return (
              <tr key={placeKey(p)}>
                <th scope="row">
                  <button type="button" class="link" onClick={() => onChoose(f)}>
                    {territories ? placeName(p, lang, t) : String(p.cell)}
                  </button>
                </th>
                <td class="num">{formatNumber(Number(p.count ?? 0), lang)}</td>
                <td class="num">{formatNumber(Number(p.previous ?? 0), lang)}</td>
                <td class="num">{change === null ? '—' : measureText(change, 'change', lang)}</td>
                {territories && <td class="num">{rate === null ? '—' : measureText(rate, 'per_1000', lang)}</td>}
              </tr>
            );
          })}
        </tbody>
      </table>
    </details>
  );
}

/** The statuses a map's status filter stands for. */
const STATUS_CLASSES: Record<string, string> = {
  open: 'registered,routed,in_progress,intermediate_answer,answered,reopened',
  closed: 'closed,rejected,duplicate',
};

function PlaceDetails(props: { selected: Selected; countQuery: Record<string, string>; staff: boolean; onClose: () => void }) {
  const { t, lang } = useT();
  const p = props.selected.properties;
  const title = placeName(p, lang, t);
  const place = typeof p.territory === 'string' ? { territory: p.territory } : { cell: String(p.cell) };
  // The same requests the place's count counts: its cell or territory, the window, every filter.
  const requests = useLoad(async () => {
    if (!props.staff) return null;
    const q = props.countQuery;
    return get<RequestPage>(
      `/requests${query({
        ...place,
        created_from: `${q.from}T00:00:00+03:00`,
        created_to: `${q.to}T00:00:00+03:00`,
        category: q.category,
        agency: q.agency,
        channel: q.channel,
        status: STATUS_CLASSES[q.status],
        limit: 20,
      })}`,
    );
  }, [placeKey(p), props.staff, JSON.stringify(props.countQuery)]);
  const rate = valueOf(p, 'per_1000');
  return (
    <section class="card place" aria-label={t('map_requests_here')} data-testid="place-details">
      <header>
        <h2>{title}</h2>
        <button type="button" class="link" onClick={props.onClose} aria-label="×">
          ×
        </button>
      </header>
      <p>{t('map_count', { count: formatNumber(Number(p.count ?? 0), lang) })}</p>
      {valueOf(p, 'change') !== null && <p class="muted">{t('map_change', { change: measureText(valueOf(p, 'change') ?? 0, 'change', lang) })}</p>}
      <p class="muted">{t('map_previous', { count: formatNumber(Number(p.previous ?? 0), lang) })}</p>
      {rate !== null && <p class="muted">{t('map_per_1000', { rate: formatNumber(rate, lang, 2) })}</p>}
      {requests.data && (
        <ul class="compact-list">
          {requests.data.items.map((r) => (
            <li key={r.id}>
              <a href={`/console/requests/${r.id}`}>№{r.id}</a> <StatusBadge status={r.status} /> <span class="clip">{r.text}</span>
            </li>
          ))}
        </ul>
      )}
      <ErrorMessage error={requests.error} />
    </section>
  );
}

function SeriesPanel({ countQuery }: { countQuery: Record<string, string> }) {
  const { t } = useT();
  const series = useLoad(() => get<SeriesPoint[]>(`/analytics/series${query({ ...countQuery, compare: 'year' })}`), [JSON.stringify(countQuery)]);
  if (!series.data) return null;
  return (
    <section class="card" aria-label={t('map_series')}>
      <h2>{t('map_series')}</h2>
      <SeriesChart points={series.data} label={t('map_series')} />
    </section>
  );
}

function AlertsPanel() {
  const { t, lang } = useT();
  const alerts = useLoad(() => get<{ items: Alert[] }>(`/alerts${query({ state: 'new', limit: 8 })}`), []);
  const change = async (alert: Alert, state: 'acknowledged' | 'resolved') => {
    await post(`/alerts/${alert.id}`, { state });
    alerts.reload();
  };
  return (
    <section class="card" aria-label={t('panel_alerts')} data-testid="alerts-panel">
      <h2>{t('panel_alerts')}</h2>
      <ErrorMessage error={alerts.error} />
      {alerts.data?.items.length === 0 && <p class="muted">{t('panel_no_alerts')}</p>}
      <ul class="compact-list">
        {alerts.data?.items.map((a) => (
          <li key={a.id}>
            <strong>{topicName(a.category, lang)}</strong> · {a.territory_name ?? t('alert_region')} ·{' '}
            {t(`alert_period_${a.period}` as MessageKey)} {formatDate(a.last_day, lang)}
            <br />
            {t('alert_line', { observed: a.observed, expected: formatNumber(a.expected, lang, 1) })}{' '}
            <button type="button" class="small" onClick={() => change(a, 'acknowledged')}>
              {t('alert_ack')}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function OverduePanel() {
  const { t, lang } = useT();
  const cat = useCatalog();
  const queues = useLoad(() => get<{ agencies: QueueCounts[] }>('/queues'), []);
  if (!queues.data) return <ErrorMessage error={queues.error} />;
  const rows = queues.data.agencies
    .filter((q) => q.agency && q.overdue > 0)
    .sort((a, b) => b.overdue - a.overdue)
    .map((q) => ({ label: agencyName(cat, q.agency ?? '', lang), value: q.overdue }));
  return (
    <section class="card" aria-label={t('panel_overdue')}>
      <h2>{t('panel_overdue')}</h2>
      <Bars rows={rows} label={t('panel_overdue')} />
    </section>
  );
}
