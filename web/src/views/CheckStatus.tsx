import { cancelCheck, runCheck, useCheck } from '../check.js';
import type { Inspector } from '../client.js';
import { href } from '../route.js';

type Json = Record<string, any>;

/** The check's verdict line: damaged or clean, with what was checked. */
export function verdictText(r: Json): string {
  const s = r.summary;
  const head = s.errors > 0 ? `DAMAGED: ${s.errors} error(s), ${s.warnings} warning(s)` : `clean (${s.warnings} warning(s), ${s.infos} note(s))`;
  return `${head} — ${s.trees} trees, ${s.treeBlocks} tree blocks, ${s.items} items${s.dataChecked ? `, ${s.dataBytes} data bytes verified` : ''}`;
}

/** Run the check, its progress with a cancel button while it runs, then its verdict. */
export function CheckStatus({ api, link }: { api: Inspector; link?: boolean }) {
  const state = useCheck();
  return (
    <div data-testid="check-status" data-state={state.s}>
      <p>
        <button type="button" data-testid="run-check" disabled={state.s === 'running'} onClick={() => runCheck(api)}>
          {state.s === 'done' ? 'run check again' : 'run check (with data checksums)'}
        </button>{' '}
        {state.s === 'idle' && <span class="muted">not run yet: it reads every tree block and every data checksum, in a Web Worker</span>}
      </p>
      {state.s === 'running' && (
        <p class="muted" data-testid="check-progress">
          {state.phase}: {state.done}
          {state.total ? ` / ${state.total} (${Math.floor((state.done * 100) / state.total)}%)` : ''}{' '}
          <button type="button" data-testid="cancel-check" onClick={() => cancelCheck(api)}>
            cancel
          </button>
        </p>
      )}
      {state.s === 'error' && <p class="error">{state.e}</p>}
      {state.s === 'done' && (
        <p>
          <span data-testid="verdict" class={state.r.summary.errors > 0 ? 'error' : 'ok'}>
            {verdictText(state.r)}
          </span>
          {link && (
            <>
              {' '}
              <a href={href({ view: 'damage' })}>every finding</a>
            </>
          )}
        </p>
      )}
    </div>
  );
}
