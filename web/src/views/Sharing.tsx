import { useEffect, useState } from 'preact/hooks';
import type { Inspector } from '../client.js';
import { bytes } from '../format.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Show } from './common.js';

type Json = Record<string, any>;
type Progress = { phase: string; done: number; total: number };

const CANCELLED = 'sharing cancelled';

/** 2318336 → "2.2M": short enough for a chart label or a matrix cell (the exact count is in the title). */
function short(v: unknown): string {
  let n = Number(v);
  const u = ['B', 'K', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n % 1 === 0 ? n.toFixed(0) : n.toFixed(1)}${u[i]}`;
}

const name = (s: Json) => `${s.subvol} ${s.path ?? '(unlinked)'}`;

/**
 * Per subvolume, one row of bars on a common scale: referenced (pale), its
 * exclusive part (deep) and what deleting it alone frees (green, the same as
 * exclusive for a subvolume with no snapshot of its own). Hand SVG: a bar per
 * value with its exact count as the tooltip.
 */
function Bars({ r }: { r: Json }) {
  const rows = r.subvolumes as Json[];
  const freeOf = new Map((r.freeEach as Json[]).map((f) => [String(f.subvol), f]));
  const max = Math.max(1, ...rows.map((s) => Number(s.referenced)));
  const W = 1100;
  const LABEL = 260;
  const BAR = W - LABEL - 90;
  const H = 30;
  const x = (v: unknown) => (Number(v) * BAR) / max;
  return (
    <svg class="chart" data-testid="sharing-chart" width={W} height={rows.length * H + 10} viewBox={`0 0 ${W} ${rows.length * H + 10}`}>
      <title>referenced, exclusive and freed-if-deleted bytes per subvolume</title>
      {rows.map((s, i) => {
        const y = i * H + 4;
        const f = freeOf.get(String(s.subvol));
        return (
          <g key={s.subvol} data-subvol={s.subvol}>
            <text x={4} y={y + 14}>
              {name(s).slice(0, 40)}
            </text>
            <rect x={LABEL} y={y} width={x(s.referenced)} height={12} fill="#bed2f2">
              <title>referenced {String(s.referenced)} bytes</title>
            </rect>
            <rect x={LABEL} y={y} width={x(s.exclusive)} height={12} fill="#1f5fbf">
              <title>exclusive {String(s.exclusive)} bytes</title>
            </rect>
            <rect x={LABEL} y={y + 14} width={x(f?.total ?? 0)} height={8} fill="#1e9655">
              <title>deleting it frees {String(f?.total ?? 0)} bytes</title>
            </rect>
            <text x={LABEL + x(s.referenced) + 4} y={y + 11}>
              {short(s.referenced)} / {short(s.exclusive)}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

/** The bytes each pair of subvolumes shares, as a heat table (the diagonal is what each references). */
function Matrix({ r }: { r: Json }) {
  const ids = r.matrix.subvols as string[];
  const m = r.matrix.bytes as string[][];
  let max = 1;
  m.forEach((row, i) => {
    row.forEach((v, j) => {
      if (i !== j) max = Math.max(max, Number(v));
    });
  });
  return (
    <table class="heat" data-testid="matrix">
      <thead>
        <tr>
          <th>shared</th>
          {ids.map((id) => (
            <th key={id}>{id}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {m.map((row, i) => (
          <tr key={ids[i]} data-subvol={ids[i]}>
            <th>{ids[i]}</th>
            {row.map((v, j) => {
              const f = i === j ? 0 : Math.min(1, Number(v) / max);
              return (
                <td
                  key={ids[j]}
                  data-bytes={v}
                  title={`${ids[i]} and ${ids[j]} share ${v} bytes`}
                  style={{ background: i === j ? '#eee' : `rgba(123, 63, 181, ${(0.08 + 0.8 * f).toFixed(2)})`, color: f > 0.55 ? '#fff' : '#222' }}
                >
                  {Number(v) === 0 ? '·' : short(v)}
                </td>
              );
            })}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Tick subvolumes: what deleting all of them together frees (more than the sum of each alone when they share). */
function FreeSet({ api, r }: { api: Inspector; r: Json }) {
  const [set, setSet] = useState<string[]>([]);
  const it = useLoad(() => (set.length === 0 ? Promise.resolve(null) : api.json<Json>({ op: 'free', subvols: set })), [set.join(',')]);
  return (
    <div data-testid="free-set">
      {(r.subvolumes as Json[]).map((s) => (
        <label key={s.subvol} class="check">
          <input
            type="checkbox"
            data-subvol={s.subvol}
            checked={set.includes(String(s.subvol))}
            onChange={(e) => {
              const on = (e.target as HTMLInputElement).checked;
              setSet((cur) => (on ? [...cur, String(s.subvol)] : cur.filter((x) => x !== String(s.subvol))));
            }}
          />{' '}
          {name(s)}
        </label>
      ))}
      <Show it={it}>
        {(f) =>
          f && (
            <p data-testid="freed" data-total={f.total}>
              deleting {set.join(', ')} frees {bytes(f.total)}: {bytes(f.data)} of data and {f.metaBlocks} tree blocks
            </p>
          )
        }
      </Show>
    </div>
  );
}

/** Pick two subvolumes (snapshots of one lineage) and see what changed between them. */
function DiffPick({ r, diff }: { r: Json; diff: [string, string] | null }) {
  const [a, setA] = useState(diff?.[0] ?? '');
  const [b, setB] = useState(diff?.[1] ?? '');
  const opts = (r.subvolumes as Json[]).map((s) => (
    <option key={s.subvol} value={s.subvol}>
      {name(s)}
    </option>
  ));
  return (
    <form
      class="jump"
      onSubmit={(e) => {
        e.preventDefault();
        if (a && b) location.hash = href({ view: 'sharing', diff: [a, b] });
      }}
    >
      <select data-testid="diff-a" value={a} onChange={(e) => setA((e.target as HTMLSelectElement).value)}>
        <option value="">A…</option>
        {opts}
      </select>{' '}
      →{' '}
      <select data-testid="diff-b" value={b} onChange={(e) => setB((e.target as HTMLSelectElement).value)}>
        <option value="">B…</option>
        {opts}
      </select>{' '}
      <button type="submit" data-testid="diff-run">
        diff
      </button>
    </form>
  );
}

function Diff({ api, a, b }: { api: Inspector; a: string; b: string }) {
  const it = useLoad(() => api.json<Json>({ op: 'diff', a, b }), [a, b]);
  return (
    <Show it={it}>
      {(d) => (
        <div data-testid="diff" data-a={a} data-b={b}>
          <p class="muted">
            {d.changes.length} changed inode(s); {d.stats.blocksRead} tree blocks read, {d.stats.subtreesSkipped} shared subtrees skipped unread
          </p>
          <table data-testid="changes">
            <thead>
              <tr>
                <th>ino</th>
                <th>change</th>
                <th>type</th>
                <th>path in A</th>
                <th>path in B</th>
                <th>data ranges</th>
                <th>fields</th>
              </tr>
            </thead>
            <tbody>
              {(d.changes as Json[]).map((c) => (
                <tr key={c.ino} data-ino={c.ino} data-kind={c.kind}>
                  <td>{c.ino}</td>
                  <td>{c.kind}</td>
                  <td>{c.type}</td>
                  <td>{(c.pathsA as string[]).map((p) => (c.kind === 'added' ? p : <a href={href({ view: 'files', subvol: a, path: p.split('/').filter((x) => x) })}>{p} </a>))}</td>
                  <td>{(c.pathsB as string[]).map((p) => (c.kind === 'deleted' ? p : <a href={href({ view: 'files', subvol: b, path: p.split('/').filter((x) => x) })}>{p} </a>))}</td>
                  <td class="mono">{(c.ranges as string[][]).map(([s, e]) => `[${s}, ${e})`).join(' ')}</td>
                  <td>{(c.fields as string[]).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Show>
  );
}

/** Sharing: the walk of every subvolume's trees (in the worker, with progress), then charts, the matrix, a deletion set and a diff. */
export function Sharing({ api, diff }: { api: Inspector; diff: [string, string] | null }) {
  const [state, set] = useState<{ s: 'running'; p: Progress } | { s: 'done'; r: Json } | { s: 'error'; e: string } | { s: 'idle' }>({ s: 'idle' });
  const run = () => {
    set({ s: 'running', p: { phase: 'starting', done: 0, total: 0 } });
    api
      .json<Json>({ op: 'sharing' }, (p) => set({ s: 'running', p }))
      .then(
        (r) => set({ s: 'done', r }),
        (e: Error) => set(e.message === CANCELLED ? { s: 'idle' } : { s: 'error', e: e.message }),
      );
  };
  useEffect(run, []);
  if (state.s === 'idle')
    return (
      <button type="button" data-testid="run-sharing" onClick={run}>
        walk the subvolumes
      </button>
    );
  if (state.s === 'error') return <p class="error">{state.e}</p>;
  if (state.s === 'running')
    return (
      <p class="muted" data-testid="sharing-progress">
        {state.p.phase}: {state.p.done}
        {state.p.total ? ` / ~${state.p.total} tree blocks` : ''}{' '}
        <button type="button" data-testid="cancel-sharing" onClick={() => void api.cancel(CANCELLED)}>
          cancel
        </button>
      </p>
    );
  const r = state.r;
  return (
    <div class="sharing">
      <section>
        <h2>Referenced, exclusive, freed if deleted</h2>
        <Bars r={r} />
        <p class="legend">
          <span class="sw">
            <i style={{ background: '#bed2f2' }} /> referenced
          </span>
          <span class="sw">
            <i style={{ background: '#1f5fbf' }} /> exclusive
          </span>
          <span class="sw">
            <i style={{ background: '#1e9655' }} /> deleting it alone frees
          </span>
          <span class="muted">
            as qgroups count: data extents at their on-disk size plus {r.nodesize} bytes per tree block; {r.treeBlocks} tree blocks and {r.extents} data extents read once each
          </span>
        </p>
        <table data-testid="sharing-table">
          <thead>
            <tr>
              <th>subvol</th>
              <th>path</th>
              <th>referenced</th>
              <th>exclusive</th>
              <th>shared</th>
              <th>du total</th>
              <th>files</th>
            </tr>
          </thead>
          <tbody>
            {(r.subvolumes as Json[]).map((s) => (
              <tr key={s.subvol} data-subvol={s.subvol} data-referenced={s.referenced} data-exclusive={s.exclusive}>
                <td>{s.subvol}</td>
                <td>{s.path ?? '(unlinked)'}</td>
                <td>{bytes(s.referenced)}</td>
                <td>{bytes(s.exclusive)}</td>
                <td>{bytes(s.shared)}</td>
                <td>{bytes(s.du.total)}</td>
                <td>{s.files}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section>
        <h2>What deleting a set frees</h2>
        <FreeSet api={api} r={r} />
      </section>
      <section>
        <h2>Bytes shared by each pair</h2>
        <Matrix r={r} />
      </section>
      <section>
        <h2>Diff of two snapshots</h2>
        <DiffPick r={r} diff={diff} />
        {diff && <Diff api={api} a={diff[0]} b={diff[1]} />}
      </section>
    </div>
  );
}
