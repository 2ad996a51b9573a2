import { useEffect, useState } from 'preact/hooks';
import type { Inspector } from '../client.js';
import { bytes } from '../format.js';
import type { Request } from '../protocol.js';
import { type ForensicsTab, href, NO_FILTERS, type TimelineFilters } from '../route.js';

type Json = Record<string, any>;
type Task = { s: 'running'; phase: string; done: number; total: number } | { s: 'done'; r: Json } | { s: 'error'; e: string };

const CANCELLED = 'forensics cancelled';

/** A long request to the worker (the metadata scan first), with its progress and a cancel button. */
function useTask(api: Inspector, req: Request): Task {
  const [t, set] = useState<Task>({ s: 'running', phase: 'starting', done: 0, total: 0 });
  useEffect(() => {
    let live = true;
    set({ s: 'running', phase: 'starting', done: 0, total: 0 });
    api
      .json<Json>(req, (p) => {
        if (live) set({ s: 'running', ...p });
      })
      .then(
        (r) => live && set({ s: 'done', r }),
        (e: Error) => live && set({ s: 'error', e: e.message }),
      );
    return () => {
      live = false;
    };
  }, [req.op]);
  return t;
}

function Running({ api, t }: { api: Inspector; t: Task }) {
  if (t.s === 'error') return <p class="error">{t.e === CANCELLED ? 'cancelled: open the tab again to start over' : t.e}</p>;
  if (t.s !== 'running') return null;
  return (
    <p class="muted" data-testid="forensics-progress">
      {t.phase}: {t.done}
      {t.total ? ` / ${t.total} (${Math.floor((t.done * 100) / t.total)}%)` : ''}{' '}
      <button type="button" onClick={() => void api.cancel(CANCELLED)}>
        cancel
      </button>
    </p>
  );
}

const pct = (r: Json) => (r.intact + r.missing === 0 ? 0 : r.intact / (r.intact + r.missing));

/**
 * Surviving roots on a generation axis, one row per tree: a dot per root,
 * green when its tree is whole, orange when partly, red when nothing of it
 * is left; the current root ringed. A click opens the root block.
 */
function RootsChart({ roots }: { roots: Json[] }) {
  const trees = [...new Set(roots.map((r) => String(r.tree)))];
  const gens = roots.map((r) => Number(r.generation));
  const g0 = Math.min(...gens);
  const g1 = Math.max(...gens);
  const W = 1100;
  const LEFT = 170;
  const ROW = 22;
  const H = trees.length * ROW + 30;
  const x = (g: number) => LEFT + (g1 === g0 ? (W - LEFT) / 2 : ((g - g0) * (W - LEFT - 20)) / (g1 - g0));
  const colour = (r: Json) => (pct(r) >= 1 ? '#1e9655' : pct(r) > 0 ? '#e07610' : '#c0282d');
  const ticks: number[] = [];
  const step = Math.max(1, Math.ceil((g1 - g0) / 12));
  for (let g = g0; g <= g1; g += step) ticks.push(g);
  return (
    <svg class="chart" data-testid="roots-chart" width={W} height={H} viewBox={`0 0 ${W} ${H}`}>
      <title>surviving tree roots by generation</title>
      {trees.map((t, i) => {
        const name = roots.find((r) => String(r.tree) === t)!.treeName;
        return (
          <g key={t}>
            <text x={4} y={i * ROW + 18}>
              {String(name).slice(0, 24)}
            </text>
            <rect x={LEFT} y={i * ROW + 14} width={W - LEFT - 10} height={1} fill="#dde" />
          </g>
        );
      })}
      {roots.map((r) => {
        const i = trees.indexOf(String(r.tree));
        return (
          <a key={`${r.tree}:${r.bytenr}:${r.generation}`} href={href({ view: 'block', tree: String(r.tree), logical: String(r.bytenr) })}>
            <circle
              class="root-dot"
              data-tree={r.tree}
              data-generation={r.generation}
              data-bytenr={r.bytenr}
              cx={x(Number(r.generation))}
              cy={i * ROW + 14}
              r={5}
              fill={colour(r)}
              stroke={r.current ? '#111' : 'none'}
              stroke-width={2}
            >
              <title>
                {r.treeName} generation {r.generation}, root {r.bytenr} level {r.level}: {r.intact} blocks intact, {r.missing} missing ({(pct(r) * 100).toFixed(1)}%){r.current ? ', current' : ''}; via{' '}
                {(r.sources as string[]).join(', ')}
              </title>
            </circle>
          </a>
        );
      })}
      {ticks.map((g) => (
        <text key={g} x={x(g) - 6} y={H - 4} class="tick">
          {g}
        </text>
      ))}
    </svg>
  );
}

function Roots({ api }: { api: Inspector }) {
  const t = useTask(api, { op: 'roots' });
  if (t.s !== 'done') return <Running api={api} t={t} />;
  const roots = t.r.roots as Json[];
  return (
    <div data-testid="roots">
      <p class="muted">
        metadata scan: {t.r.scan.chunks} metadata/system chunks, {t.r.scan.copiesRead} block copies read, {t.r.scan.validCopies} valid, {t.r.scan.validBlocks} distinct tree blocks; superblock
        generation {t.r.superblock.generation}
      </p>
      <RootsChart roots={roots} />
      <table data-testid="roots-table">
        <thead>
          <tr>
            <th>tree</th>
            <th>generation</th>
            <th>root block</th>
            <th>level</th>
            <th>found via</th>
            <th>intact</th>
            <th>missing</th>
            <th>complete</th>
          </tr>
        </thead>
        <tbody>
          {roots.map((r) => (
            <tr key={`${r.tree}:${r.bytenr}:${r.generation}`} data-tree={r.tree} data-generation={r.generation} data-bytenr={r.bytenr}>
              <td>{r.treeName}</td>
              <td>{r.generation}</td>
              <td>
                <a href={href({ view: 'block', tree: String(r.tree), logical: String(r.bytenr) })}>{r.bytenr}</a>
              </td>
              <td>{r.level}</td>
              <td>{(r.sources as string[]).join(', ')}</td>
              <td>{r.intact}</td>
              <td>{r.missing}</td>
              <td>
                {(pct(r) * 100).toFixed(1)}%{r.truncated ? '+' : ''}
                {r.current ? ' (current)' : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Deleted({ api }: { api: Inspector }) {
  const t = useTask(api, { op: 'recover' });
  if (t.s !== 'done') return <Running api={api} t={t} />;
  const files = t.r.files as Json[];
  return (
    <div data-testid="deleted">
      <p class="muted">
        {files.length} deleted file(s) found in surviving older trees, orphans and deleted subvolumes; recoverability from the state of their data (checksums that still match). `btrfs-inspect recover
        IMAGE -o DIR` writes them out.
      </p>
      <table data-testid="deleted-table">
        <thead>
          <tr>
            <th>path</th>
            <th>subvol:ino</th>
            <th>type</th>
            <th>size</th>
            <th>last seen (generation)</th>
            <th>found in</th>
            <th>data</th>
            <th>recoverable</th>
          </tr>
        </thead>
        <tbody>
          {files.map((f) => (
            <tr
              key={`${f.subvol}:${f.ino}:${f.treeRoot}`}
              data-subvol={f.subvol}
              data-ino={f.ino}
              data-confidence={f.confidence}
              class={f.confidence === 'none' ? 'error' : f.confidence === 'low' ? 'warning' : ''}
            >
              <td class="mono">{(f.paths as string[]).join(' | ') || '(no name)'}</td>
              <td>
                {f.subvol}:{f.ino}
              </td>
              <td>{f.type}</td>
              <td>{bytes(f.size)}</td>
              <td>{f.lastSeen}</td>
              <td>
                {f.source} <a href={href({ view: 'block', tree: null, logical: String(f.treeRoot) })}>root {f.treeRoot}</a>
              </td>
              <td>{f.data.state}</td>
              <td>{f.confidence}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {t.r.removedNames.length > 0 && (
        <>
          <h3>Names removed, the inode still alive</h3>
          <ul data-testid="removed-names">
            {(t.r.removedNames as Json[]).map((n, i) => (
              <li key={i}>
                {n.path ?? n.name} (subvol {n.subvol} inode {n.ino}, last seen at generation {n.lastSeen}){n.currentPaths.length ? `; now ${(n.currentPaths as string[]).join(', ')}` : ''}
              </li>
            ))}
          </ul>
        </>
      )}
    </div>
  );
}

/** Most rows drawn at once: a filter narrows the rest. */
const SHOWN = 1000;

function Timeline({ api, filters }: { api: Inspector; filters: TimelineFilters }) {
  const t = useTask(api, { op: 'timeline' });
  const [f, setF] = useState(filters);
  // The filters live in the address too (replaced, not pushed: typing makes no history), so a filtered timeline is a link.
  const set = (change: Partial<TimelineFilters>) => {
    const next = { ...f, ...change };
    setF(next);
    history.replaceState(null, '', href({ view: 'forensics', tab: 'timeline', filters: next }));
  };
  const { text, macb, deleted, from, to } = f;
  const setText = (v: string) => set({ text: v });
  const setMacb = (v: string) => set({ macb: v });
  const setDeleted = (v: boolean) => set({ deleted: v });
  const setFrom = (v: string) => set({ from: v });
  const setTo = (v: string) => set({ to: v });
  if (t.s !== 'done') return <Running api={api} t={t} />;
  const all = t.r.events as Json[];
  const fromNs = from ? BigInt(Date.parse(`${from}Z`)) * 1_000_000n : null;
  const toNs = to ? BigInt(Date.parse(`${to}Z`)) * 1_000_000n : null;
  const shown = all.filter(
    (e) =>
      (!text || String(e.path ?? '').includes(text)) &&
      (!macb || [...macb].every((c) => String(e.macb).includes(c))) &&
      (!deleted || e.deleted) &&
      (fromNs === null || BigInt(e.timeNs) >= fromNs) &&
      (toNs === null || BigInt(e.timeNs) < toNs),
  );
  return (
    <div data-testid="timeline">
      <form class="jump filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          path contains <input data-testid="tl-text" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} />
        </label>{' '}
        <label>
          MACB has{' '}
          <select data-testid="tl-macb" value={macb} onChange={(e) => setMacb((e.target as HTMLSelectElement).value)}>
            <option value="">any</option>
            <option value="m">m (modified)</option>
            <option value="a">a (accessed)</option>
            <option value="c">c (changed)</option>
            <option value="b">b (born)</option>
          </select>
        </label>{' '}
        <label>
          <input type="checkbox" data-testid="tl-deleted" checked={deleted} onChange={(e) => setDeleted((e.target as HTMLInputElement).checked)} /> deleted only
        </label>{' '}
        <label>
          from <input type="datetime-local" step="1" data-testid="tl-from" value={from} onInput={(e) => setFrom((e.target as HTMLInputElement).value)} />
        </label>{' '}
        <label>
          to <input type="datetime-local" step="1" data-testid="tl-to" value={to} onInput={(e) => setTo((e.target as HTMLInputElement).value)} />
        </label>
      </form>
      <p class="muted" data-testid="tl-count" data-count={shown.length}>
        {shown.length} of {t.r.total} events{shown.length > SHOWN ? ` (the first ${SHOWN} shown)` : ''}; times UTC
      </p>
      <table data-testid="tl-table">
        <thead>
          <tr>
            <th>time</th>
            <th>macb</th>
            <th>size</th>
            <th>subvol:ino</th>
            <th>path</th>
          </tr>
        </thead>
        <tbody>
          {shown.slice(0, SHOWN).map((e, i) => (
            <tr key={i} data-time-ns={e.timeNs} data-macb={e.macb} data-ino={e.ino} class={e.deleted ? 'warning' : ''}>
              <td class="mono">{e.time}</td>
              <td class="mono">{e.macb}</td>
              <td>{e.size}</td>
              <td>
                {e.subvol}:{e.ino}
              </td>
              <td class="mono">
                {e.deleted ? '(deleted) ' : ''}
                {e.path ?? '(no name)'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Forensics: surviving roots by generation, deleted files and their recoverability, the MACB timeline. */
export function Forensics({ api, tab, filters }: { api: Inspector; tab: ForensicsTab; filters?: TimelineFilters | undefined }) {
  const link = (t: ForensicsTab, label: string) => (
    <a href={href({ view: 'forensics', tab: t })} class={tab === t ? 'active' : ''} data-testid={`ftab-${t}`}>
      {label}
    </a>
  );
  return (
    <div>
      <p class="subtabs">
        {link('roots', 'surviving roots')} · {link('deleted', 'deleted files')} · {link('timeline', 'timeline')}
      </p>
      {tab === 'roots' && <Roots api={api} />}
      {tab === 'deleted' && <Deleted api={api} />}
      {tab === 'timeline' && <Timeline api={api} filters={filters ?? NO_FILTERS} />}
    </div>
  );
}
