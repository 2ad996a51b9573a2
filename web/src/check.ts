import { useEffect, useState } from 'preact/hooks';
import type { Inspector } from './client.js';

type Json = Record<string, any>;

export type CheckState = { s: 'idle' } | { s: 'running'; phase: string; done: number; total: number } | { s: 'done'; r: Json } | { s: 'error'; e: string };

const CANCELLED = 'check cancelled';

/**
 * The one check of the opened image, shared by the views that show it: the Overview shows its
 * status (progress, cancel, verdict), the Damage view its findings. It runs in the worker and
 * outlives the view that started it.
 */
let state: CheckState = { s: 'idle' };
const watchers = new Set<(s: CheckState) => void>();

function set(s: CheckState): void {
  state = s;
  for (const w of watchers) w(s);
}

export function runCheck(api: Inspector): void {
  if (state.s === 'running') return;
  set({ s: 'running', phase: 'starting', done: 0, total: 0 });
  api
    .json<Json>({ op: 'check' }, (p) => set({ s: 'running', ...p }))
    .then(
      (r) => set({ s: 'done', r }),
      (e: Error) => set(e.message === CANCELLED ? { s: 'idle' } : { s: 'error', e: e.message }),
    );
}

export function cancelCheck(api: Inspector): void {
  void api.cancel(CANCELLED);
}

export function useCheck(): CheckState {
  const [s, setS] = useState(state);
  useEffect(() => {
    watchers.add(setS);
    setS(state);
    return () => {
      watchers.delete(setS);
    };
  }, []);
  return s;
}
