import { useCheck } from '../check.js';
import type { Inspector } from '../client.js';
import { href, placesOf } from '../route.js';
import { CheckStatus } from './CheckStatus.js';

type Json = Record<string, any>;

/** Where a finding points, as links: its tree block (at the slot), the inode, the chunk of a logical address, the device offset. */
function places(loc: Json) {
  return placesOf(loc).map((p, i) => (
    <span key={i}>
      {i > 0 ? ' · ' : ''}
      <a href={href(p.route)} data-place={p.route.view}>
        {p.label}
      </a>
    </span>
  ));
}

/** Runs the check (metadata, cross references, data checksums) in the worker, with progress; lists every finding. */
export function Damage({ api }: { api: Inspector }) {
  const state = useCheck();
  return (
    <div>
      <CheckStatus api={api} />
      {state.s === 'done' && (
        <div data-testid="check-result">
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
                <tr key={i} class={f.severity} data-code={f.code}>
                  <td>{f.severity}</td>
                  <td>{f.code}</td>
                  <td class="mono">{f.where}</td>
                  <td>{places(f.location)}</td>
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
