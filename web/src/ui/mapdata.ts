// What the region's map shows, apart from drawing it: the colours and legend of a measure,
// the bounds of shapes and where their labels go. Kept apart from the map itself so that pages
// reading these load no MapLibre until they draw a map (see lazymap.ts).

/** How a data layer is coloured. */
export type Measure = 'count' | 'per_1000' | 'change';

/** Sequential colours for counts and rates, light to dark. */
const SEQUENTIAL = ['#fff3c4', '#fed976', '#feb24c', '#fd8d3c', '#f03b20', '#bd0026', '#800026'];
/** Diverging colours for change: fall (blue) to rise (red). */
const DIVERGING = ['#2166ac', '#67a9cf', '#d1e5f0', '#f7f7f7', '#fddbc7', '#ef8a62', '#b2182b'];
/** Class limits of the relative change, for the diverging scale. */
const CHANGE_BREAKS = [-0.5, -0.2, -0.05, 0.05, 0.2, 0.5];

/** The colours of a measure and the values each stands for, lowest first (for the legend):
 * class `i` covers `from[i]` up to (not including) `from[i + 1]`, the last one everything above. */
export interface Legend {
  colours: string[];
  from: number[];
}

/** Class limits that split the values into up to `classes` groups of about equal size; the
 * first limit is the smallest value. */
function quantileStarts(values: number[], classes: number): number[] {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  const starts: number[] = [];
  for (let i = 0; i < classes && sorted.length > 0; i++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / classes))];
    if (starts.length === 0 || v > starts[starts.length - 1]) starts.push(v);
  }
  return starts;
}

/** The legend of `measure` over `values`. Counts and rates: places with nothing (0) are left
 * uncoloured, the others split into classes spread over the whole palette, the palest for the
 * fewest. Change: fixed classes of the relative change, falls blue and rises red. */
export function legendOf(values: number[], measure: Measure): Legend {
  if (measure === 'change') return { colours: DIVERGING, from: [-Infinity, ...CHANGE_BREAKS] };
  const from = quantileStarts(values.filter((v) => v > 0), SEQUENTIAL.length);
  // One class alone takes the middle colour: neither "least" nor "most".
  const spread = (i: number) => (from.length <= 1 ? Math.floor(SEQUENTIAL.length / 2) : Math.round((i * (SEQUENTIAL.length - 1)) / (from.length - 1)));
  return { colours: from.map((_, i) => SEQUENTIAL[spread(i)]), from };
}

/** The colour of `value` in `legend`, or null for a place with nothing to show. */
export function colourOf(value: number, legend: Legend, measure: Measure): string | null {
  if (measure !== 'change' && value <= 0) return null;
  let c = 0;
  while (c + 1 < legend.from.length && value >= legend.from[c + 1]) c++;
  return legend.colours[c] ?? null;
}

/** The number a feature is coloured by, or null when the measure does not apply to it. */
export function valueOf(properties: Record<string, unknown>, measure: Measure): number | null {
  const v = properties[measure === 'count' ? 'count' : measure];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The bounding box of a collection's polygons. */
export function boundsOf(collection: GeoJSON.FeatureCollection): [[number, number], [number, number]] | null {
  let [w, s, e, n] = [Infinity, Infinity, -Infinity, -Infinity];
  const visit = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') {
      w = Math.min(w, c[0] as number);
      e = Math.max(e, c[0] as number);
      s = Math.min(s, c[1] as number);
      n = Math.max(n, c[1] as number);
    } else if (Array.isArray(c)) c.forEach(visit);
  };
  for (const f of collection.features) if (f.geometry && 'coordinates' in f.geometry) visit(f.geometry.coordinates);
  return Number.isFinite(w) ? [[w, s], [e, n]] : null;
}

/** The territories' names at the middle of their shapes, in the language `lang`, the most
 * populous first (they win where labels would overlap). */
export function territoryLabels(features: GeoJSON.Feature[], lang: 'ru' | 'en'): { lat: number; lon: number; text: string }[] {
  const people = (f: GeoJSON.Feature) => Number(f.properties?.population ?? 0);
  return [...features].sort((a, b) => people(b) - people(a)).flatMap((f) => {
    const middle = middleOf(f);
    const name = (lang === 'ru' ? f.properties?.name_ru : f.properties?.name_en) as string | undefined;
    return middle && name ? [{ ...middle, text: name }] : [];
  });
}

/** The middle of a feature's bounding box, where its label goes. */
export function middleOf(feature: GeoJSON.Feature): { lat: number; lon: number } | null {
  const b = boundsOf({ type: 'FeatureCollection', features: [feature] });
  return b ? { lon: (b[0][0] + b[1][0]) / 2, lat: (b[0][1] + b[1][1]) / 2 } : null;
}
