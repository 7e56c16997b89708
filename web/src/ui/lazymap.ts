// The region's map on a page, with MapLibre GL (most of the UI's script) loaded in its own
// file only when a page draws a map, so that the console's lists and the dashboards start
// without it.
import { useEffect } from 'preact/hooks';
import type { RegionMap } from './map';

/** Draws a region map in the element `box` once `ready`, hands it to `setup`, and removes it
 * when one of `deps` changes or the page goes. */
export function useRegionMap(
  box: { current: HTMLElement | null },
  options: { ready: boolean; styleUrl: string | null | undefined; label: string },
  setup: (view: RegionMap) => void,
  deps: unknown[],
): void {
  // Fetched at once, while the page still waits for what the map needs.
  useEffect(() => void import('./map'), []);
  useEffect(() => {
    if (!box.current || !options.ready) return;
    let view: RegionMap | null = null;
    let gone = false;
    import('./map').then(({ RegionMap }) => {
      if (gone || !box.current) return;
      view = new RegionMap(box.current, options.styleUrl ?? null, options.label);
      setup(view);
    });
    return () => {
      gone = true;
      view?.remove();
    };
  }, deps);
}
