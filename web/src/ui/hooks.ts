// Data loading for components: a promise's result, its error and a way to run it again.
import { useEffect, useState } from 'preact/hooks';
import { catalog, Catalog } from '../session';

/** The state of a load. */
export interface Loaded<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

/** Runs `load` now and whenever `deps` change; keeps the last result while reloading. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let current = true;
    setLoading(true);
    load().then(
      (value) => {
        if (!current) return;
        setData(value);
        setError(undefined);
        setLoading(false);
      },
      (e) => {
        if (!current) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [...deps, round]);
  return { data, error, loading, reload: () => setRound((r) => r + 1) };
}

/** The catalog, once loaded. */
export function useCatalog(): Catalog | undefined {
  return useLoad(catalog, []).data;
}
