import { useEffect, useState } from 'preact/hooks';

export type Loaded<T> = { state: 'loading' } | { state: 'error'; error: string } | { state: 'ok'; value: T };

/** Runs `load` whenever `deps` change; an answer that arrives after the view moved on is dropped. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [s, set] = useState<Loaded<T>>({ state: 'loading' });
  useEffect(() => {
    let live = true;
    set({ state: 'loading' });
    load().then(
      (value) => {
        if (live) set({ state: 'ok', value });
      },
      (e: Error) => {
        if (live) set({ state: 'error', error: e.message });
      },
    );
    return () => {
      live = false;
    };
  }, deps);
  return s;
}
