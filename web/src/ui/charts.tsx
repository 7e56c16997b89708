// Charts drawn as SVG: a daily series with the year before, and horizontal bars. Small enough
// to read at a glance; no charting library.
import { formatDate, formatNumber, useT } from '../i18n';

/** A line of daily (or weekly) counts with last year's line dashed when given, a scale on the
 * left, dates in the chosen language, and each point's values on hover (and for screen readers). */
export function SeriesChart(props: { points: { date: string; count: number; year_before: number | null }[]; label: string; height?: number }) {
  const { t, lang } = useT();
  const width = 600;
  const height = props.height ?? 140;
  const pad = 4;
  const n = props.points.length;
  if (n === 0) return null;
  const max = Math.max(1, ...props.points.map((p) => Math.max(p.count, p.year_before ?? 0)));
  const x = (i: number) => pad + (i * (width - 2 * pad)) / Math.max(1, n - 1);
  const y = (v: number) => height - pad - (v * (height - 2 * pad)) / max;
  const line = (values: (number | null)[]) =>
    values.map((v, i) => (v === null ? '' : `${i === 0 || values[i - 1] === null ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`)).join('');
  const hasYearBefore = props.points.some((p) => p.year_before !== null);
  const step = (width - 2 * pad) / Math.max(1, n - 1);
  const describe = (p: { date: string; count: number; year_before: number | null }) =>
    [formatDate(p.date, lang), t('chart_count', { count: formatNumber(p.count, lang) }), p.year_before === null ? '' : t('chart_year_before', { count: formatNumber(p.year_before, lang) })]
      .filter(Boolean)
      .join(' · ');
  return (
    <figure class="chart">
      <div class="chart-body">
        <div class="chart-scale" aria-hidden="true">
          <span>{formatNumber(max, lang)}</span>
          <span>{max >= 2 ? formatNumber(Math.round(max / 2), lang) : ''}</span>
          <span>0</span>
        </div>
        <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.label} preserveAspectRatio="none">
          {max >= 2 && <line x1={pad} x2={width - pad} y1={y(Math.round(max / 2))} y2={y(Math.round(max / 2))} class="chart-rule" />}
          {hasYearBefore && <path d={line(props.points.map((p) => p.year_before))} class="line-before" />}
          <path d={line(props.points.map((p) => p.count))} class="line-now" />
          {props.points.map((p, i) => (
            <rect key={p.date} x={x(i) - step / 2} y={0} width={step} height={height} class="chart-hover">
              <title>{describe(p)}</title>
            </rect>
          ))}
        </svg>
      </div>
      <figcaption>
        <span>{formatDate(props.points[0].date, lang)}</span>
        {hasYearBefore && (
          <span class="chart-key">
            <span class="key-now" aria-hidden="true" /> {t('chart_now')} <span class="key-before" aria-hidden="true" /> {t('chart_year_ago')}
          </span>
        )}
        <span>{formatDate(props.points[n - 1].date, lang)}</span>
      </figcaption>
    </figure>
  );
}

/** Horizontal bars of labelled values, largest first as given. */
export function Bars(props: { rows: { label: string; value: number; note?: string }[]; label: string }) {
  const max = Math.max(1, ...props.rows.map((r) => r.value));
  return (
    <ul class="bars" aria-label={props.label}>
      {props.rows.map((r) => (
        <li key={r.label}>
          <span class="bar-label">{r.label}</span>
          <span class="bar-track">
            <span class="bar" style={{ width: `${(100 * r.value) / max}%` }} />
          </span>
          <span class="bar-value">{r.note ?? r.value}</span>
        </li>
      ))}
    </ul>
  );
}
