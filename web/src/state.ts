// Small observable values shared by the whole UI (language, signed-in user, route), with a
// hook that re-renders a component when one changes.
import { useEffect, useState } from 'preact/hooks';

/** A value that components can read and follow. */
export class Observable<T> {
  private listeners = new Set<(value: T) => void>();

  constructor(private value: T) {}

  /** The current value. */
  get(): T {
    return this.value;
  }

  /** Replaces the value and tells every follower. */
  set(value: T): void {
    this.value = value;
    for (const listener of this.listeners) listener(value);
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: (value: T) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The observable's value, re-rendering the calling component when it changes. */
export function useObservable<T>(observable: Observable<T>): T {
  const [value, setValue] = useState(observable.get());
  useEffect(() => {
    setValue(observable.get());
    return observable.subscribe(setValue);
  }, [observable]);
  return value;
}
