import { useState } from 'preact/hooks';
import type { Inspector } from '../client.js';
import { href } from '../route.js';

type Json = Record<string, any>;

const CANCELLED = 'check cancelled';

/** Where a finding points, as a link: the tree block it names. */
function place(loc: Json) {
  if (loc.block !== undefined) return <a href={href({ view: 'block', tree: loc.tree !== undefined ? String(loc.tree) : null, logical: String(loc.block) })}>block {loc.block}</a>;
  if (loc.logical !== undefined) return <a href={href({ view: 'block', tree: loc.tree !== undefined ? String(loc.tree) : null, logical: String(loc.logical) })}>logical {loc.logical}</a>;
  return null;
}

/** Runs the check (metadata, cross references, data checksums) in the worker, with progress; lists every finding. */
export function Damage({ api }: { api: Inspector }) {
  const [state, set] = useState<{ s: 'idle' } | { s: 'running'; phase: string; done: number; total: number } | { s: 'done'; r: Json } | { s: 'error'; e: string }>({ s: 'idle' });
  const run = () => {
    set({ s: 'running', phase: 'starting', done: 0, total: 0 });
    api
      .json<Json>({ op: 'check' }, (p) => set({ s: 'running', ...p }))
      .then(
        (r) => set({ s: 'done', r }),
        (e: Error) => set(e.message === CANCELLED ? { s: 'idle' } : { s: 'error', e: e.message }),
      );
  };
  const cancel = () => {
    void api.cancel(CANCELLED);
  };
  return (
    <div>
      <p>
        <button type="button" data-testid="run-check" disabled={state.s === 'running'} onClick={run}>
          run check (with data checksums)
        </button>
      </p>
      {state.s === 'running' && (
        <p class="muted" data-testid="check-progress">
          {state.phase}: {state.done}
          {state.total ? ` / ${state.total} (${Math.floor((state.done * 100) / state.total)}%)` : ''}{' '}
          <button type="button" data-testid="cancel-check" onClick={cancel}>
            cancel
          </button>
        </p>
      )}
      {state.s === 'error' && <p class="error">{state.e}</p>}
      {state.s === 'done' && (
        <div data-testid="check-result">
          <p data-testid="verdict" class={state.r.summary.errors > 0 ? 'error' : 'ok'}>
            {state.r.summary.errors > 0
              ? `DAMAGED: ${state.r.summary.errors} error(s), ${state.r.summary.warnings} warning(s)`
              : `clean (${state.r.summary.warnings} warning(s), ${state.r.summary.infos} note(s))`}{' '}
            — {state.r.summary.trees} trees, {state.r.summary.treeBlocks} tree blocks, {state.r.summary.items} items
            {state.r.summary.dataChecked ? `, ${state.r.summary.dataBytes} data bytes verified` : ''}
          </p>
          <table data-testid="findings">
            <thead>
              <tr>
                <th>severity</th>
                <th>code</th>
                <th>location</th>
                <th>go to</th>
                <th>message</th>
              </tr>
            </thead>
            <tbody>
              {(state.r.findings as Json[]).map((f, i) => (
                <tr key={i} class={f.severity}>
                  <td>{f.severity}</td>
                  <td>{f.code}</td>
                  <td class="mono">{f.where}</td>
                  <td>{place(f.location)}</td>
                  <td>{f.message}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {state.r.dropped > 0 && <p class="muted">{state.r.dropped} more findings were not kept</p>}
        </div>
      )}
    </div>
  );
}
