// The region's map: MapLibre GL with territory outlines and one data layer (H3 hexagons or
// territories) coloured by class. It needs no base map: without a configured style it draws a
// plain background, the outlines and the data, which is all a situation screen must show.
import maplibregl, { GeoJSONSource, Map as MapLibre, StyleSpecification } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import { lang, translate } from '../i18n';
import { boundsOf, colourOf, Legend, legendOf, Measure, valueOf } from './mapdata';

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

/** Text as HTML that shows it as typed (MapLibre's credits are HTML). */
function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function plainStyle(): StyleSpecification {
  return {
    version: 8,
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#eef1f4' } }],
  };
}

/** A MapLibre map showing the region's outlines and one data layer. */
export class RegionMap {
  readonly map: MapLibre;
  private ready: Promise<void>;
  private fitted = false;
  private credited = false;
  private declutters = false;
  private gone = false;

  /** Waits until the map can take data; false once it was removed meanwhile (a page left, or
   * the map made again in another language), when there is nothing to draw on. */
  private async live(): Promise<boolean> {
    await this.ready;
    return !this.gone;
  }
  private labels: maplibregl.Marker[] = [];

  constructor(container: HTMLElement, styleUrl: string | null, ariaLabel: string) {
    this.map = new maplibregl.Map({
      container,
      style: styleUrl ?? plainStyle(),
      center: [30.3, 59.95],
      zoom: 8,
      // The credits (the base map's and the boundaries') come with the outlines.
      attributionControl: false,
      dragRotate: false,
      pitchWithRotate: false,
      // The zoom buttons' names in the language of the page when the map was made.
      locale: { 'NavigationControl.ZoomIn': translate(lang.get(), 'map_zoom_in'), 'NavigationControl.ZoomOut': translate(lang.get(), 'map_zoom_out') },
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
    m.addSource('selected', { type: 'geojson', data: EMPTY });
    m.addLayer({
      id: 'data-fill',
      type: 'fill',
      source: 'data',
      paint: { 'fill-color': ['coalesce', ['get', 'colour'], 'rgba(0,0,0,0)'], 'fill-opacity': 0.78 },
    });
    m.addLayer({ id: 'data-line', type: 'line', source: 'data', paint: { 'line-color': '#ffffff', 'line-width': 0.6, 'line-opacity': 0.8 } });
    m.addLayer({ id: 'outlines', type: 'line', source: 'outlines', paint: { 'line-color': '#34495e', 'line-width': 1.4 } });
    m.addLayer({ id: 'selected', type: 'line', source: 'selected', paint: { 'line-color': '#0b63c4', 'line-width': 3.5 } });
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

  /** Draws the territories' boundaries and, the first time, fits the view to them and credits
   * whom the boundaries (and the base map's sources) are owed to. */
  async setOutlines(outlines: GeoJSON.FeatureCollection & { attribution?: string[] }): Promise<void> {
    if (!(await this.live())) return;
    (this.map.getSource('outlines') as GeoJSONSource).setData(outlines);
    if (!this.credited) {
      const credits = (outlines.attribution ?? []).map((text) => `${escapeHtml(translate(lang.get(), 'map_boundaries_credit'))}: ${escapeHtml(text)}`);
      this.map.addControl(new maplibregl.AttributionControl({ compact: false, customAttribution: credits }), 'bottom-right');
      this.credited = true;
    }
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
    const live = await this.live();
    const features = data.features.filter((f) => f.geometry !== null);
    const values = features.map((f) => valueOf(f.properties ?? {}, measure)).filter((v): v is number => v !== null);
    const legend = legendOf(values, measure);
    if (!live) return legend;
    const coloured = features.map((f) => {
      const v = valueOf(f.properties ?? {}, measure);
      return { ...f, properties: { ...f.properties, colour: v === null ? null : colourOf(v, legend, measure) } };
    });
    (this.map.getSource('data') as GeoJSONSource).setData({ type: 'FeatureCollection', features: coloured });
    this.fitOnce({ type: 'FeatureCollection', features });
    return legend;
  }

  /** Outlines the chosen place, or no place. */
  async select(feature: GeoJSON.Feature | null): Promise<void> {
    if (!(await this.live())) return;
    (this.map.getSource('selected') as GeoJSONSource).setData({ type: 'FeatureCollection', features: feature ? [feature] : [] });
  }

  /** Writes `labels` on the map at their points (HTML, so no font server is needed); where two
   * would overlap at the current zoom, the one given first is shown. */
  async setLabels(labels: { lat: number; lon: number; text: string }[]): Promise<void> {
    if (!(await this.live())) return;
    this.labels.forEach((m) => m.remove());
    this.labels = labels.map((l) => {
      const element = document.createElement('span');
      element.className = 'map-label';
      element.textContent = l.text;
      const marker = new maplibregl.Marker({ element }).setLngLat([l.lon, l.lat]).addTo(this.map);
      // Named as it reads (MapLibre names every marker "Map marker").
      element.setAttribute('aria-label', l.text);
      return marker;
    });
    if (!this.declutters) {
      this.map.on('moveend', () => this.declutter());
      this.declutters = true;
    }
    this.declutter();
  }

  /** Hides each label that overlaps one shown before it. */
  private declutter(): void {
    const shown: DOMRect[] = [];
    for (const marker of this.labels) {
      const element = marker.getElement();
      element.style.visibility = '';
      const box = element.getBoundingClientRect();
      const overlaps = shown.some((b) => box.left < b.right && b.left < box.right && box.top < b.bottom && b.top < box.bottom);
      element.style.visibility = overlaps ? 'hidden' : '';
      if (!overlaps) shown.push(box);
    }
  }

  /** Shows pins (e.g. the place being reported). */
  async setPins(points: { lat: number; lon: number }[]): Promise<void> {
    if (!(await this.live())) return;
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
    this.gone = true;
    this.map.remove();
  }
}
