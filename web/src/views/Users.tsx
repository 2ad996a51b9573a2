import type { Inspector } from '../client.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Show } from './common.js';

type Json = Record<string, any>;

const fileRoute = (subvol: unknown, p: string) => href({ view: 'files', subvol: String(subvol), path: p.split('/').filter((x) => x.length > 0) });

/**
 * Who uses a logical address, as `resolve --logical --json` says: the extent holding it, its
 * back references (the trees that own a tree block; the subvolume, inode and offset of each
 * file reference), the trees that reach a tree block, and the files with their paths.
 */
export function Users({ api, logical }: { api: Inspector; logical: string }) {
  const it = useLoad(() => api.json<Json>({ op: 'resolve', logical }), [logical]);
  return (
    <Show it={it}>
      {(u) => (
        <div data-testid="block-users" data-logical={logical}>
          {u.extent && (
            <p>
              extent {u.extent.bytenr} ({u.extent.kind}), {(u.backrefs as Json[]).length} back reference(s)
            </p>
          )}
          {(u.backrefs as Json[]).length > 0 && (
            <ul data-testid="backrefs">
              {(u.backrefs as Json[]).map((b, i) => {
                const { kind, tree, subvol, ...rest } = b;
                return (
                  <li key={i} data-kind={kind} data-tree={tree ?? subvol ?? ''}>
                    {kind}
                    {tree !== undefined ? ` tree ${tree}` : ''}
                    {subvol !== undefined ? ` subvolume ${subvol}` : ''}{' '}
                    <span class="muted">
                      {Object.entries(rest)
                        .map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`)
                        .join(', ')}
                    </span>
                  </li>
                );
              })}
            </ul>
          )}
          {u.treeBlock && (
            <p data-testid="tree-block-users">
              a level {u.treeBlock.level} tree block owned by tree {u.treeBlock.owner}; reached from the root of tree(s) {(u.treeBlock.trees as unknown[]).map(String).join(', ') || '(none found)'}
            </p>
          )}
          <FileUsers u={u} />
        </div>
      )}
    </Show>
  );
}

/** The files using an address (`resolve --json`'s files, each path linked) and its notes. */
export function FileUsers({ u }: { u: Json }) {
  return (
    <>
      {(u.files as Json[]).length > 0 && (
        <ul data-testid="file-users">
          {(u.files as Json[]).map((f, i) => (
            <li key={i} data-subvol={f.subvol} data-ino={f.ino}>
              subvol {f.subvol} inode <a href={href({ view: 'inode', subvol: String(f.subvol), ino: String(f.ino) })}>{f.ino}</a> at file offset {f.fileOffset}:{' '}
              {(f.paths as string[]).map((p) => (
                <a key={p} href={fileRoute(f.subvol, p)}>
                  {p}{' '}
                </a>
              ))}
            </li>
          ))}
        </ul>
      )}
      {(u.notes as string[]).map((n) => (
        <p key={n} class="muted">
          {n}
        </p>
      ))}
    </>
  );
}
