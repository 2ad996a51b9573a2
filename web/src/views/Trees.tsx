import { useState } from 'preact/hooks';
import type { Inspector } from '../client.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Fields, Show } from './common.js';

type Json = Record<string, any>;

const keyText = (k: Json) => `(${k.objectid} ${k.typeName} ${k.offset})`;

/** Jump to any tree block by its logical address. */
function Jump() {
  const [v, set] = useState('');
  return (
    <form class="jump" onSubmit={(e) => { e.preventDefault(); const t = v.trim(); if (/^\d+$/.test(t)) location.hash = href({ view: 'block', tree: null, logical: t }); }}>
      <label>logical address <input data-testid="jump-input" value={v} onInput={(e) => set((e.target as HTMLInputElement).value)} placeholder="e.g. 30408704" /></label>
      <button type="submit">open block</button>
    </form>
  );
}

/** Every tree the superblock and the root tree name, as the "tree" records of `tree --json`. */
export function TreeList({ api }: { api: Inspector }) {
  const it = useLoad(() => api.records({ op: 'trees' }) as Promise<Json[]>, []);
  return (
    <div>
      <Jump />
      <Show it={it}>
        {(trees) => (
          <table data-testid="trees">
            <thead><tr><th>tree</th><th>name</th><th>root block</th><th>level</th><th>key</th></tr></thead>
            <tbody>
              {trees.map((t, i) => (
                <tr key={i} data-tree={t.tree}>
                  <td>{t.tree}</td><td>{t.name}</td>
                  <td><a href={href({ view: 'block', tree: String(t.tree), logical: String(t.bytenr) })}>{t.bytenr}</a></td>
                  <td>{t.level}</td><td class="mono">{t.key ? keyText(t.key as Json) : ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Show>
    </div>
  );
}

/** A link to the tree an item points at (a ROOT_ITEM's root block). */
function itemLink(r: Json) {
  const item = r.item as Json;
  if (item?.kind === 'root_item' && item.bytenr !== undefined) {
    return <a href={href({ view: 'block', tree: String(r.key.objectid), logical: String(item.bytenr) })}>tree root {item.bytenr}</a>;
  }
  return null;
}

/** One tree block: header, and its pointers (a node) or its items decoded (a leaf). */
export function Block({ api, tree, logical }: { api: Inspector; tree: string | null; logical: string }) {
  const it = useLoad(() => api.records({ op: 'block', logical }), [logical]);
  return (
    <div>
      <Jump />
      <Show it={it}>
        {(records) => {
          const b = records.find((r) => r.record === 'block') as Json | undefined;
          const findings = records.filter((r) => r.record === 'finding') as Json[];
          const rows = records.filter((r) => r.record === 'item' || r.record === 'ptr') as Json[];
          return (
            <div data-testid="block" data-bytenr={logical}>
              {findings.length > 0 && <ul class="findings">{findings.map((f, i) => <li key={i} class={f.severity}>{f.code}: {f.message} ({f.where})</li>)}</ul>}
              {b && (
                <>
                  <h2>{b.level > 0 ? 'node' : 'leaf'} {b.bytenr}{tree !== null ? ` of tree ${tree}` : ''}</h2>
                  <Fields testid="block-header" rows={[
                    ['bytenr', b.bytenr], ['level', b.level], ['items', b.nritems], ['generation', b.generation], ['owner', b.owner],
                    ['flags', b.flags], ['fsid', b.fsid], ['chunk tree uuid', b.chunkTreeUuid],
                    ...(b.validItems !== undefined ? [['valid items', b.validItems] as [string, string]] : []),
                  ]} />
                  <table data-testid="items" class="items">
                    <thead>{b.level > 0
                      ? <tr><th>slot</th><th>key</th><th>block</th><th>generation</th></tr>
                      : <tr><th>slot</th><th>key</th><th>size</th><th>item</th></tr>}
                    </thead>
                    <tbody>
                      {rows.map((r) => r.record === 'ptr'
                        ? (
                          <tr key={r.slot} data-slot={r.slot}>
                            <td>{r.slot}</td><td class="mono key">{keyText(r.key)}</td>
                            <td><a href={href({ view: 'block', tree: tree ?? String(b.owner), logical: String(r.blockptr) })}>{r.blockptr}</a></td>
                            <td>{r.generation}</td>
                          </tr>
                        )
                        : (
                          <tr key={r.slot} data-slot={r.slot}>
                            <td>{r.slot}</td><td class="mono key">{keyText(r.key)}</td><td>{r.itemSize}</td>
                            <td>
                              <details>
                                <summary>{(r.item as Json)?.kind ?? 'item'} {itemLink(r)}</summary>
                                <pre class="item-json">{JSON.stringify(r.item, null, 2)}</pre>
                              </details>
                            </td>
                          </tr>
                        ))}
                    </tbody>
                  </table>
                </>
              )}
            </div>
          );
        }}
      </Show>
    </div>
  );
}
