import { useEffect, useRef, useState } from 'preact/hooks';
import type { Inspector } from '../client.js';
import { hexDump } from '../format.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Fields, Show } from './common.js';
import { Users } from './Users.js';

type Json = Record<string, any>;

const keyText = (k: Json) => `(${k.objectid} ${k.typeName} ${k.offset})`;

/** Jump to any tree block by its logical address, or to the leaf of a tree holding a key (the first item at or after it). */
function Jump({ api, tree }: { api: Inspector; tree?: string | null }) {
  const [v, set] = useState('');
  const [k, setK] = useState({ tree: tree ?? '5', objectid: '', type: '', offset: '0' });
  const [err, setErr] = useState<string | null>(null);
  const field = (name: keyof typeof k, placeholder: string, size: number) => (
    <input
      aria-label={name === 'tree' ? 'tree id' : `key ${name}`}
      data-testid={`key-${name}`}
      size={size}
      value={k[name]}
      placeholder={placeholder}
      onInput={(e) => setK({ ...k, [name]: (e.target as HTMLInputElement).value.trim() })}
    />
  );
  return (
    <div>
      <form
        class="jump"
        onSubmit={(e) => {
          e.preventDefault();
          const t = v.trim();
          if (/^\d+$/.test(t)) location.hash = href({ view: 'block', tree: null, logical: t });
        }}
      >
        <label>
          logical address <input data-testid="jump-input" value={v} onInput={(e) => set((e.target as HTMLInputElement).value)} placeholder="e.g. 30408704" />
        </label>
        <button type="submit">open block</button>
      </form>
      <form
        class="jump"
        onSubmit={(e) => {
          e.preventDefault();
          setErr(null);
          api.json<Json>({ op: 'find', tree: k.tree, key: { objectid: k.objectid || '0', type: k.type || '0', offset: k.offset || '0' } }).then(
            (r) => {
              location.hash = href({ view: 'block', tree: String(r.tree), logical: String(r.block), slot: Number(r.slot) });
            },
            (x: Error) => setErr(x.message),
          );
        }}
      >
        tree {field('tree', '5', 6)} key ({field('objectid', 'objectid', 12)} {field('type', 'INODE_ITEM or 1', 14)} {field('offset', 'offset', 10)}){' '}
        <button type="submit" data-testid="key-go">
          find key
        </button>{' '}
        {err && (
          <span class="error" data-testid="key-error">
            {err}
          </span>
        )}
      </form>
    </div>
  );
}

/** Every tree the superblock and the root tree name, as the "tree" records of `tree --json`. */
export function TreeList({ api }: { api: Inspector }) {
  const it = useLoad(() => api.records({ op: 'trees' }) as Promise<Json[]>, []);
  return (
    <div>
      <Jump api={api} />
      <Show it={it}>
        {(trees) => (
          <table data-testid="trees">
            <thead>
              <tr>
                <th>tree</th>
                <th>name</th>
                <th>root block</th>
                <th>level</th>
                <th>key</th>
              </tr>
            </thead>
            <tbody>
              {trees.map((t, i) => (
                <tr key={i} data-tree={t.tree}>
                  <td>{t.tree}</td>
                  <td>{t.name}</td>
                  <td>
                    <a href={href({ view: 'block', tree: String(t.tree), logical: String(t.bytenr) })}>{t.bytenr}</a>
                  </td>
                  <td>{t.level}</td>
                  <td class="mono">{t.key ? keyText(t.key as Json) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </div>
  );
}

/** A link to what an item points at: a ROOT_ITEM's root block, a file extent's data (its chunk, where its users are listed). */
function itemLink(r: Json) {
  const item = r.item as Json;
  if (item?.kind === 'root_item' && item.bytenr !== undefined) {
    return <a href={href({ view: 'block', tree: String(r.key.objectid), logical: String(item.bytenr) })}>tree root {item.bytenr}</a>;
  }
  const disk = item?.diskBytenr ?? item?.disk_bytenr;
  if (disk !== undefined && String(disk) !== '0') return <a href={href({ view: 'layout', chunk: String(disk) })}>extent {String(disk)}</a>;
  return null;
}

/** Byte ranges of the block to mark in the hex view. */
type Mark = { from: number; to: number; cls: string };

const hex2 = (x: number) => x.toString(16).padStart(2, '0');

/** Height of one hex line in pixels (pre.hex sets the same line-height): lines are placed by arithmetic, not measured. */
const LINE = 16;
/** Lines drawn beyond the visible ones on each side, so that a scroll shows drawn lines at once. */
const OVERSCAN = 24;

/**
 * The raw block, 16 bytes a line, virtualised: a 16 KiB block is 1,024 lines and a 64 KiB one
 * 4,096, and laying them all out cost more than reading and decoding the block. Only the lines
 * in the scrolled window are drawn (plain ones as one text run), plus every line that touches a
 * marked range (the selected slot's key entry and item data), drawn byte by byte with the first
 * of them scrolled into view.
 */
function HexBlock({ bytes, marks }: { bytes: Uint8Array; marks: Mark[] }) {
  const box = useRef<HTMLDivElement>(null);
  const [top, setTop] = useState(0);
  const [height, setHeight] = useState(640);
  const lines = Math.ceil(bytes.length / 16);
  const marked = marks.length > 0 ? [Math.floor(Math.min(...marks.map((m) => m.from)) / 16), Math.ceil(Math.max(...marks.map((m) => m.to)) / 16)] : null;
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    setHeight(el.clientHeight || 640);
    if (marked) {
      const y = marked[0]! * LINE;
      // Scrolled only when the first marked line is out of view.
      if (y < el.scrollTop || y + LINE > el.scrollTop + el.clientHeight) el.scrollTop = Math.max(0, y - LINE * 2);
      setTop(el.scrollTop);
    }
  }, [marks]);
  let from = Math.max(0, Math.floor(top / LINE) - OVERSCAN);
  let to = Math.min(lines, Math.ceil((top + height) / LINE) + OVERSCAN);
  if (marked) {
    from = Math.min(from, marked[0]!);
    to = Math.max(to, marked[1]!);
  }
  const markOf = (i: number) => marks.find((m) => i >= m.from && i < m.to)?.cls;
  const rows = [];
  // Unmarked lines go out as one text block per run.
  let plainFrom = from * 16;
  const flush = (end: number) => {
    if (end > plainFrom) rows.push(<div key={`p${plainFrom}`}>{hexDump(bytes.subarray(plainFrom, end), plainFrom)}</div>);
  };
  for (let off = from * 16; off < Math.min(bytes.length, to * 16); off += 16) {
    const row = bytes.subarray(off, off + 16);
    if (!marks.some((m) => m.from < off + 16 && m.to > off)) continue;
    flush(off);
    plainFrom = off + 16;
    rows.push(
      <div key={off}>
        {`${off.toString(16).padStart(8, '0')}  `}
        {[...row].map((x, j) => {
          const cls = markOf(off + j);
          return (
            <span key={j} class={cls} data-off={cls ? off + j : undefined}>
              {hex2(x)}
              {j < 15 ? ' ' : ''}
            </span>
          );
        })}
        {`${'   '.repeat(16 - row.length)}  ${[...row].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('')}`}
      </div>,
    );
  }
  flush(Math.min(bytes.length, to * 16));
  return (
    <div class="hex" data-testid="hex" data-lines={lines} ref={box} onScroll={(e) => setTop((e.currentTarget as HTMLDivElement).scrollTop)}>
      <div style={{ height: `${lines * LINE}px`, position: 'relative' }}>
        <pre style={{ transform: `translateY(${from * LINE}px)` }}>{rows}</pre>
      </div>
    </div>
  );
}

/** One tree block: header, its pointers (a node) or its items decoded (a leaf), and its bytes. */
export function Block({ api, tree, logical, slot: at }: { api: Inspector; tree: string | null; logical: string; slot?: number | undefined }) {
  const it = useLoad(async () => {
    const r = await api.raw({ op: 'block', logical });
    return {
      records: r.json
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as Json),
      bytes: r.bytes,
    };
  }, [logical]);
  const [selected, select] = useState<number | null>(at ?? null);
  const [users, showUsers] = useState(false);
  useEffect(() => {
    select(at ?? null);
    showUsers(false);
  }, [logical, at]);
  return (
    <div>
      <Jump api={api} tree={tree} />
      <Show it={it}>
        {({ records, bytes }) => {
          const b = records.find((r) => r.record === 'block');
          const layout = records.find((r) => r.record === 'layout');
          const findings = records.filter((r) => r.record === 'finding');
          const rows = records.filter((r) => r.record === 'item' || r.record === 'ptr');
          const slot = selected !== null ? (layout?.slots as Json[] | undefined)?.[selected] : undefined;
          const marks: Mark[] = slot ? [{ from: slot.key[0], to: slot.key[1], cls: 'hl-key' }, ...(slot.data ? [{ from: slot.data[0], to: slot.data[1], cls: 'hl-data' }] : [])] : [];
          const pick = (n: number) => (e: MouseEvent) => {
            if (!(e.target instanceof HTMLAnchorElement)) select(n === selected ? null : n);
          };
          return (
            <div data-testid="block" data-bytenr={logical}>
              {findings.length > 0 && (
                <ul class="findings">
                  {findings.map((f, i) => (
                    <li key={i} class={f.severity}>
                      {f.code}: {f.message} ({f.where})
                    </li>
                  ))}
                </ul>
              )}
              {b && (
                <div class="block-grid">
                  <div>
                    <h2>
                      {b.level > 0 ? 'node' : 'leaf'} {b.bytenr}
                      {tree !== null ? ` of tree ${tree}` : ''}
                    </h2>
                    <Fields
                      testid="block-header"
                      rows={[
                        ['bytenr', b.bytenr],
                        ['level', b.level],
                        ['items', b.nritems],
                        ['generation', b.generation],
                        ['owner', b.owner],
                        ['flags', b.flags],
                        ['fsid', b.fsid],
                        ['chunk tree uuid', b.chunkTreeUuid],
                        ...(b.validItems !== undefined ? [['valid items', b.validItems] as [string, string]] : []),
                      ]}
                    />
                    <p>
                      <button type="button" data-testid="who-uses-block" onClick={() => showUsers(true)}>
                        who uses this block
                      </button>{' '}
                      <span class="muted">(its back references in the extent tree, the trees that reach it)</span>
                    </p>
                    {users && <Users api={api} logical={String(b.bytenr)} />}
                    <p class="muted">click a slot to mark its key entry (blue) and item data (yellow) in the block's bytes</p>
                    <table data-testid="items" class="items">
                      <thead>
                        {b.level > 0 ? (
                          <tr>
                            <th>slot</th>
                            <th>key</th>
                            <th>block</th>
                            <th>generation</th>
                          </tr>
                        ) : (
                          <tr>
                            <th>slot</th>
                            <th>key</th>
                            <th>size</th>
                            <th>item</th>
                          </tr>
                        )}
                      </thead>
                      <tbody>
                        {rows.map((r) =>
                          r.record === 'ptr' ? (
                            <tr key={r.slot} data-slot={r.slot} class={r.slot === selected ? 'selected' : ''} onClick={pick(r.slot)}>
                              <td>{r.slot}</td>
                              <td class="mono key">{keyText(r.key)}</td>
                              <td>
                                <a href={href({ view: 'block', tree: tree ?? String(b.owner), logical: String(r.blockptr) })}>{r.blockptr}</a>
                              </td>
                              <td>{r.generation}</td>
                            </tr>
                          ) : (
                            <tr key={r.slot} data-slot={r.slot} class={r.slot === selected ? 'selected' : ''} onClick={pick(r.slot)}>
                              <td>{r.slot}</td>
                              <td class="mono key">{keyText(r.key)}</td>
                              <td>{r.itemSize}</td>
                              <td>
                                <details>
                                  <summary>
                                    {(r.item as Json)?.kind ?? 'item'} {itemLink(r)}
                                  </summary>
                                  <pre class="item-json">{JSON.stringify(r.item, null, 2)}</pre>
                                </details>
                              </td>
                            </tr>
                          ),
                        )}
                      </tbody>
                    </table>
                  </div>
                  {bytes && (
                    <div class="hex-pane">
                      <h3>raw block ({bytes.length} bytes)</h3>
                      <HexBlock bytes={bytes} marks={marks} />
                    </div>
                  )}
                </div>
              )}
            </div>
          );
        }}
      </Show>
    </div>
  );
}
