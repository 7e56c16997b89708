// The region's map: MapLibre GL with territory outlines and one data layer (H3 hexagons or
// territories) coloured by class. It needs no base map: without a configured style it draws a
// plain background, the outlines and the data, which is all a situation screen must show.
import maplibregl, { GeoJSONSource, LngLatBoundsLike, Map as MapLibre, StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';

/** How a data layer is coloured. */
export type Measure = 'count' | 'per_1000' | 'change';

/** Sequential colours for counts and rates, light to dark. */
const SEQUENTIAL = ['#fff3c4', '#fed976', '#feb24c', '#fd8d3c', '#f03b20', '#bd0026', '#800026'];
/** Diverging colours for change: fall (blue) to rise (red). */
const DIVERGING = ['#2166ac', '#67a9cf', '#d1e5f0', '#f7f7f7', '#fddbc7', '#ef8a62', '#b2182b'];
/** Class limits of the relative change, for the diverging scale. */
const CHANGE_BREAKS = [-0.5, -0.2, -0.05, 0.05, 0.2, 0.5];

/** The colours and the class limits of a measure over some values (for the legend). */
export interface Legend {
  colours: string[];
  breaks: number[];
}

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

function plainStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }],
  };
}

/** Class limits that split the values into up to seven groups of about equal size. */
function quantileBreaks(values: number[], classes: number): number[] {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return [];
  const breaks: number[] = [];
  for (let i = 1; i < classes; i++) {
    const v = sorted[Math.min(sorted.length - 1, Math.floor((i * sorted.length) / classes))];
    if (breaks.length === 0 || v > breaks[breaks.length - 1]) breaks.push(v);
  }
  return breaks;
}

function classOf(value: number, breaks: number[]): number {
  let c = 0;
  while (c < breaks.length && value >= breaks[c]) c++;
  return c;
}

/** The number a feature is coloured by, or null when the measure does not apply to it. */
export function valueOf(properties: Record<string, unknown>, measure: Measure): number | null {
  const v = properties[measure === 'count' ? 'count' : measure];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** A MapLibre map showing the region's outlines and one data layer. */
export class RegionMap {
  readonly map: MapLibre;
  private ready: Promise<void>;
  private fitted = false;

  constructor(container: HTMLElement, styleUrl: string | null, ariaLabel: string) {
    this.map = new maplibregl.Map({
      container,
      style: styleUrl ?? plainStyle(),
      center: [30.3, 59.95],
      zoom: 8,
      attributionControl: styleUrl ? undefined : false,
      dragRotate: false,
      pitchWithRotate: false,
    });
    this.map.getCanvas().setAttribute('aria-label', ariaLabel);
    this.map.addControl(new maplibregl.NavigationControl({ showCompass: false }), 'top-right');
    this.ready = new Promise((resolve) => this.map.on('load', () => resolve()));
    this.ready.then(() => this.addLayers());
  }

  private addLayers(): void {
    const m = this.map;
    m.addSource('data', { type: 'geojson', data: EMPTY });
    m.addSource('outlines', { type: 'geojson', data: EMPTY });
    m.addSource('pins', { type: 'geojson', data: EMPTY });
    m.addLayer({
      id: 'data-fill',
      type: 'fill',
      source: 'data',
      paint: { 'fill-color': ['coalesce', ['get', 'colour'], 'rgba(0,0,0,0)'], 'fill-opacity': 0.78 },
    });
    m.addLayer({ id: 'data-line', type: 'line', source: 'data', paint: { 'line-color': '#ffffff', 'line-width': 0.6, 'line-opacity': 0.8 } });
    m.addLayer({ id: 'outlines', type: 'line', source: 'outlines', paint: { 'line-color': '#34495e', 'line-width': 1.4 } });
    m.addLayer({
      id: 'pins',
      type: 'circle',
      source: 'pins',
      paint: { 'circle-radius': 7, 'circle-color': '#0b63c4', 'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2 },
    });
  }

  /** Centres the view on a point at a zoom, and keeps it there when outlines and data come. */
  focus(lat: number, lon: number, zoom: number): void {
    this.map.jumpTo({ center: [lon, lat], zoom: Math.min(18, Math.max(0, zoom)) });
    this.fitted = true;
  }

  /** The lines of the label shown while the pointer is over a place (set on every render,
   * so the label follows the language). */
  describe: (properties: Record<string, unknown>) => string[] = () => [];

  /** Shows the label of the place under the pointer, and a pointer cursor over places. */
  enableHoverLabels(): void {
    const popup = new maplibregl.Popup({ closeButton: false, closeOnClick: false, className: 'hover-label', offset: 12 });
    this.map.on('mousemove', 'data-fill', (e) => {
      const feature = e.features?.[0];
      if (!feature) return;
      this.map.getCanvas().style.cursor = 'pointer';
      const box = document.createElement('div');
      for (const line of this.describe(feature.properties ?? {})) {
        const row = document.createElement('div');
        row.textContent = line;
        box.append(row);
      }
      popup.setLngLat(e.lngLat).setDOMContent(box).addTo(this.map);
    });
    this.map.on('mouseleave', 'data-fill', () => {
      this.map.getCanvas().style.cursor = '';
      popup.remove();
    });
  }

  /** Resolves once the map can take data. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /** Draws the territories' boundaries and, the first time, fits the view to them. */
  async setOutlines(outlines: GeoJSON.FeatureCollection): Promise<void> {
    await this.ready;
    (this.map.getSource('outlines') as GeoJSONSource).setData(outlines);
    this.fitOnce(outlines);
  }

  /** Fits the view to the collection unless it was fitted or focused before. */
  private fitOnce(collection: GeoJSON.FeatureCollection): void {
    const bounds = this.fitted ? null : boundsOf(collection);
    if (bounds) {
      this.map.fitBounds(bounds, { padding: 24, animate: false });
      this.fitted = true;
    }
  }

  /** Shows data features coloured by `measure`; returns the legend. */
  async setData(data: GeoJSON.FeatureCollection, measure: Measure): Promise<Legend> {
    await this.ready;
    const features = data.features.filter((f) => f.geometry !== null);
    const values = features.map((f) => valueOf(f.properties ?? {}, measure)).filter((v): v is number => v !== null);
    const legend: Legend = measure === 'change' ? { colours: DIVERGING, breaks: CHANGE_BREAKS } : { colours: SEQUENTIAL, breaks: quantileBreaks(values, SEQUENTIAL.length) };
    const coloured = features.map((f) => {
      const v = valueOf(f.properties ?? {}, measure);
      const colour = v === null ? null : legend.colours[classOf(v, legend.breaks) + (measure === 'change' ? 0 : Math.max(0, SEQUENTIAL.length - 1 - legend.breaks.length))];
      return { ...f, properties: { ...f.properties, colour } };
    });
    const source = this.map.getSource('data') as GeoJSONSource;
    source.setData({ type: 'FeatureCollection', features: coloured });
    this.fitOnce({ type: 'FeatureCollection', features });
    return legend;
  }

  /** Shows pins (e.g. the place being reported). */
  async setPins(points: { lat: number; lon: number }[]): Promise<void> {
    await this.ready;
    (this.map.getSource('pins') as GeoJSONSource).setData({
      type: 'FeatureCollection',
      features: points.map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: [p.lon, p.lat] }, properties: {} })),
    });
  }

  /** Resolves when the map has drawn everything it was given. */
  drawn(): Promise<void> {
    return new Promise((resolve) => {
      this.map.once('idle', () => resolve());
      this.map.triggerRepaint();
    });
  }

  /** The current view as `min_lon,min_lat,max_lon,max_lat` and the zoom. */
  view(): { bbox: string; zoom: number } {
    const b = this.map.getBounds();
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    const bbox = [clamp(b.getWest(), -180, 180), clamp(b.getSouth(), -90, 90), clamp(b.getEast(), -180, 180), clamp(b.getNorth(), -90, 90)]
      .map((v) => v.toFixed(5))
      .join(',');
    return { bbox, zoom: Math.round(this.map.getZoom()) };
  }

  /** Removes the map. */
  remove(): void {
    this.map.remove();
  }
}

/** The bounding box of a collection's polygons. */
export function boundsOf(collection: GeoJSON.FeatureCollection): LngLatBoundsLike | null {
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

/** The bounding box of one feature as `min_lon,min_lat,max_lon,max_lat`. */
export function bboxText(feature: GeoJSON.Feature): string | null {
  const b = boundsOf({ type: 'FeatureCollection', features: [feature] }) as [[number, number], [number, number]] | null;
  return b ? [b[0][0], b[0][1], b[1][0], b[1][1]].map((v) => v.toFixed(6)).join(',') : null;
}
