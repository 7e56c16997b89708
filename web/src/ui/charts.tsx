// Charts drawn as SVG: a daily series with the year before, and horizontal bars. Small enough
// to read at a glance; no charting library.

/** A line of daily counts, with last year's line dashed when given. */
export function SeriesChart(props: { points: { date: string; count: number; year_before: number | null }[]; label: string; height?: number }) {
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
  return (
    <figure class="chart">
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={props.label} preserveAspectRatio="none">
        {hasYearBefore && <path d={line(props.points.map((p) => p.year_before))} class="line-before" />}
        <path d={line(props.points.map((p) => p.count))} class="line-now" />
      </svg>
      <figcaption>
        <span>{props.points[0].date}</span>
        <span>max {max}</span>
        <span>{props.points[n - 1].date}</span>
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
