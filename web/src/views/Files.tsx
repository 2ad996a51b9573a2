import { useEffect, useState } from 'preact/hooks';
import type { Inspector } from '../client.js';
import { asText, entryName, hexDump, imageType } from '../format.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Fields, Show } from './common.js';

type Json = Record<string, any>;

/** Bytes read for a preview. */
const PREVIEW = 64 * 1024;
/** The largest file downloaded through the page (held in memory once). */
const DOWNLOAD_MAX = 1024 * 1024 * 1024;

/**
 * Snapshot lineage: each subvolume under the one its parent_uuid names (a
 * snapshot under its source), drawn as a tree; a dashed arc from the
 * subvolume a received one was sent from (received_uuid), when it is here.
 */
function Lineage({ subvols }: { subvols: Json[] }) {
  const byUuid = new Map(subvols.map((s) => [String(s.uuid), s]));
  const parentOf = (s: Json) => (s.parentUuid && byUuid.has(String(s.parentUuid)) && byUuid.get(String(s.parentUuid)) !== s ? byUuid.get(String(s.parentUuid))! : null);
  const children = new Map<string, Json[]>();
  for (const s of subvols) {
    const p = parentOf(s);
    if (p) children.set(String(p.subvol), [...(children.get(String(p.subvol)) ?? []), s]);
  }
  // Depth-first from the subvolumes with no parent here; a parent_uuid cycle (hostile) is cut where met.
  const rows: { s: Json; depth: number }[] = [];
  const seen = new Set<string>();
  const visit = (s: Json, depth: number) => {
    if (seen.has(String(s.subvol))) return;
    seen.add(String(s.subvol));
    rows.push({ s, depth });
    for (const c of children.get(String(s.subvol)) ?? []) visit(c, depth + 1);
  };
  for (const s of subvols) if (!parentOf(s)) visit(s, 0);
  for (const s of subvols) visit(s, 0);
  const ROW = 24;
  const W = 900;
  const rowOf = new Map(rows.map((r, i) => [String(r.s.subvol), i]));
  const y = (i: number) => i * ROW + 16;
  const received = subvols.filter((s) => s.receivedUuid && byUuid.has(String(s.receivedUuid)));
  return (
    <svg class="chart" data-testid="lineage" width={W} height={rows.length * ROW + 10} viewBox={`0 0 ${W} ${rows.length * ROW + 10}`}>
      <title>snapshot lineage: parent_uuid as a tree, received_uuid as dashed arcs</title>
      {rows.map(({ s, depth }, i) => {
        const p = parentOf(s);
        const pi = p ? rowOf.get(String(p.subvol)) : undefined;
        const x = 12 + depth * 28;
        return (
          <g key={s.subvol} data-subvol={s.subvol}>
            {pi !== undefined && <path class="edge" data-from={p!.subvol} data-to={s.subvol} data-kind="snapshot" d={`M ${x - 22} ${y(pi) + 5} V ${y(i) - 4} H ${x - 4}`} fill="none" stroke="#777" />}
            <circle cx={x} cy={y(i) - 4} r={4} fill={s.readOnly ? '#e07610' : '#1f5fbf'} />
            <a href={href({ view: 'files', subvol: String(s.subvol), path: [] })}>
              <text x={x + 10} y={y(i)}>
                {s.subvol} {s.path ?? '(unlinked)'}
                {s.readOnly ? ' (ro)' : ''}
                {s.default ? ' (default)' : ''}
              </text>
            </a>
          </g>
        );
      })}
      {received.map((s, k) => {
        const from = byUuid.get(String(s.receivedUuid))!;
        const a = y(rowOf.get(String(from.subvol))!) - 4;
        const b = y(rowOf.get(String(s.subvol))!) - 4;
        const x = 560 + k * 26;
        return (
          <path
            class="edge"
            key={`r${s.subvol}`}
            data-from={from.subvol}
            data-to={s.subvol}
            data-kind="received"
            d={`M 520 ${a} H ${x} V ${b} H 520`}
            fill="none"
            stroke="#1e9655"
            stroke-dasharray="4 3"
            marker-end="url(#arrow)"
          >
            <title>
              {s.subvol} was received from {from.subvol} (received_uuid {s.receivedUuid})
            </title>
          </path>
        );
      })}
      <defs>
        <marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto">
          <path d="M0,0 L8,4 L0,8 z" fill="#1e9655" />
        </marker>
      </defs>
    </svg>
  );
}

/** The subvolumes, each a way into its files, and their snapshot lineage. */
function SubvolumeList({ api }: { api: Inspector }) {
  const it = useLoad(() => api.json<Json>({ op: 'overview' }), []);
  return (
    <Show it={it}>
      {(o) => (
        <div>
          <h2>Snapshot lineage</h2>
          <Lineage subvols={o.subvolumes as Json[]} />
          <p class="legend">
            <span class="sw">
              <i style={{ background: '#1f5fbf' }} /> read-write
            </span>
            <span class="sw">
              <i style={{ background: '#e07610' }} /> read-only
            </span>
            <span class="muted">grey: snapshot of (parent_uuid); green dashed: received from (received_uuid)</span>
          </p>
          <table data-testid="subvolume-list">
            <thead>
              <tr>
                <th>id</th>
                <th>path</th>
                <th>parent uuid</th>
                <th>flags</th>
              </tr>
            </thead>
            <tbody>
              {(o.subvolumes as Json[]).map((s) => (
                <tr key={s.subvol} data-subvol={s.subvol}>
                  <td>{s.subvol}</td>
                  <td>
                    <a href={href({ view: 'files', subvol: s.subvol, path: [] })}>{s.path ?? `(unlinked subvolume ${s.subvol})`}</a>
                    {s.default ? ' (default)' : ''}
                  </td>
                  <td class="mono">{s.parentUuid ?? '-'}</td>
                  <td>
                    {s.readOnly ? 'ro' : 'rw'}
                    {s.deleted ? ',deleted' : ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Show>
  );
}

/** Where an entry of the listed directory leads: into its own subvolume's root, or one step down. */
function entryHref(subvol: string, path: string[], e: Json): string {
  if (e.subvolumeRoot && e.subvol !== subvol) return href({ view: 'files', subvol: e.subvol, path: [] });
  return href({ view: 'files', subvol, path: [...path, entryName(e)] });
}

function Breadcrumbs({ subvol, path }: { subvol: string; path: string[] }) {
  return (
    <nav class="crumbs" data-testid="crumbs">
      <a href={href({ view: 'files', subvol: null, path: [] })}>subvolumes</a>
      {' / '}
      <a href={href({ view: 'files', subvol, path: [] })}>subvolume {subvol}</a>
      {path.map((p, i) => (
        <span key={i}>
          {' / '}
          <a href={href({ view: 'files', subvol, path: path.slice(0, i + 1) })}>{p}</a>
        </span>
      ))}
    </nav>
  );
}

function Listing({ subvol, path, ls }: { subvol: string; path: string[]; ls: Json }) {
  return (
    <table data-testid="listing">
      <thead>
        <tr>
          <th>name</th>
          <th>type</th>
          <th>ino</th>
          <th>mode</th>
          <th>size</th>
          <th>mtime</th>
        </tr>
      </thead>
      <tbody>
        {(ls.entries as Json[]).map((e) => (
          <tr key={entryName(e)} data-name={entryName(e)} data-ino={e.ino}>
            <td>
              <a href={entryHref(subvol, path, e)}>{entryName(e)}</a>
              {e.type === 'dir' ? '/' : ''}
              {e.subvolumeRoot ? ` [subvolume ${e.subvol}]` : ''}
              {e.symlinkTarget !== undefined || e.symlinkTargetHex !== undefined ? ` → ${entryName(e, 'symlinkTarget')}` : ''}
            </td>
            <td>{e.type}</td>
            <td>{e.ino}</td>
            <td class="mono">{e.modeString ?? ''}</td>
            <td>{e.size ?? ''}</td>
            <td class="mono">{e.mtime ?? ''}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Stat({ st }: { st: Json }) {
  // A directory, device or fifo has no extents part (stat --json leaves it out).
  const ext = st.extents as Json | undefined;
  return (
    <>
      <Fields
        testid="stat"
        rows={[
          ['paths', (st.paths as string[]).join('\n') || '(no path)'],
          ['subvol', st.subvol],
          ['ino', st.ino],
          ['type', st.type],
          ['mode', `${st.modeString} (${st.modeOctal})`],
          ['nlink', st.nlink],
          ['uid', st.uid],
          ['gid', st.gid],
          ['size', st.size],
          ['nbytes', st.nbytes],
          ['flags', (st.flagNames as string[]).join(', ') || '0'],
          ['generation', st.generation],
          ['transid', st.transid],
          ['atime', st.atime],
          ['mtime', st.mtime],
          ['ctime', st.ctime],
          ['otime', st.otime],
          ...(st.item
            ? [
                [
                  'inode item',
                  <a href={href({ view: 'block', tree: String(st.item.tree), logical: String(st.item.block) })}>
                    block {st.item.block} slot {st.item.slot}
                  </a>,
                ] as [string, any],
              ]
            : []),
          ...(st.symlinkTarget !== undefined || st.symlinkTargetHex !== undefined ? [['symlink target', entryName(st, 'symlinkTarget')] as [string, string]] : []),
        ]}
      />
      {(st.xattrs as Json[]).length > 0 && (
        <table data-testid="xattrs">
          <thead>
            <tr>
              <th>xattr</th>
              <th>value</th>
            </tr>
          </thead>
          <tbody>
            {(st.xattrs as Json[]).map((x) => (
              <tr key={entryName(x)}>
                <td>{entryName(x)}</td>
                <td class="mono">{String(x.valueText ?? x.valueHex ?? '').slice(0, 300)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {ext && (
        <>
          <h3>Extents</h3>
          <p data-testid="extent-summary">
            {ext.count} extents: {ext.regular} regular, {ext.inline} inline, {ext.prealloc} prealloc, {ext.hole} hole; {ext.mappedBytes} bytes mapped, {ext.diskBytes} bytes of disk extents
          </p>
          {(ext.list as Json[]).length > 0 && (
            <table data-testid="extents">
              <thead>
                <tr>
                  <th>file offset</th>
                  <th>length</th>
                  <th>kind</th>
                  <th>compression</th>
                  <th>disk (logical): who shares it</th>
                  <th>disk bytes</th>
                  <th>offset in extent</th>
                  <th>item</th>
                </tr>
              </thead>
              <tbody>
                {(ext.list as Json[]).map((x, i) => (
                  <tr key={i}>
                    <td>{x.fileOffset}</td>
                    <td>{x.length}</td>
                    <td>{x.kind}</td>
                    <td>{x.compression}</td>
                    <td>{x.diskBytenr !== undefined && String(x.diskBytenr) !== '0' ? <a href={href({ view: 'layout', chunk: String(x.diskBytenr) })}>{x.diskBytenr}</a> : (x.diskBytenr ?? '')}</td>
                    <td>{x.diskNumBytes ?? ''}</td>
                    <td>{x.offset ?? ''}</td>
                    <td>
                      {x.item && (
                        <a href={href({ view: 'block', tree: String(x.item.tree), logical: String(x.item.block) })}>
                          {x.item.block} slot {x.item.slot}
                        </a>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </>
      )}
    </>
  );
}

/** The largest image drawn in the preview (read whole, checksums verified). */
const IMAGE_MAX = 16 * 1024 * 1024;

/** An image file drawn from its bytes (a blob URL: nothing leaves the page). */
function ImagePreview({ api, subvol, path, type, size, first }: { api: Inspector; subvol: string; path: string; type: string; size: number; first: Uint8Array }) {
  const it = useLoad(async () => (size <= first.length ? first : ((await api.raw({ op: 'read', subvol, path, max: IMAGE_MAX })).bytes ?? new Uint8Array(0))), [subvol, path]);
  const [url, setUrl] = useState<string | null>(null);
  useEffect(() => {
    if (it.state !== 'ok') return;
    const u = URL.createObjectURL(new Blob([it.value as Uint8Array<ArrayBuffer>], { type }));
    setUrl(u);
    return () => URL.revokeObjectURL(u);
  }, [it]);
  if (size > IMAGE_MAX)
    return (
      <p class="muted">
        an image ({type}) of {size} bytes: larger than the preview draws; download it
      </p>
    );
  return <Show it={it}>{() => url && <img data-testid="preview-image" data-type={type} src={url} alt={path} class="preview-image" />}</Show>;
}

/** The first bytes of a file, as text when they are UTF-8, else as hex, an image drawn; and a download of the whole file. */
function Preview({ api, subvol, path, name }: { api: Inspector; subvol: string; path: string; name: string }) {
  const it = useLoad(() => api.raw({ op: 'read', subvol, path, max: PREVIEW }), [subvol, path]);
  const [busy, setBusy] = useState<string | null>(null);
  const download = async () => {
    setBusy('reading…');
    try {
      const r = await api.raw({ op: 'read', subvol, path, max: DOWNLOAD_MAX });
      const url = URL.createObjectURL(new Blob([(r.bytes ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>]));
      const a = document.createElement('a');
      a.href = url;
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      const info = JSON.parse(r.json) as Json;
      setBusy((info.errors as Json[]).length ? `downloaded; ${(info.errors as Json[]).length} range(s) no copy reads correctly are zeros` : null);
    } catch (e) {
      setBusy((e as Error).message);
    }
  };
  return (
    <Show it={it}>
      {(r) => {
        const info = JSON.parse(r.json) as Json;
        const b = r.bytes ?? new Uint8Array(0);
        const text = asText(b);
        const image = imageType(b);
        return (
          <div>
            <h3>
              Content{' '}
              <button type="button" data-testid="download" onClick={download}>
                download
              </button>{' '}
              {busy && <span class="muted">{busy}</span>}
            </h3>
            {(info.errors as Json[]).length > 0 && <p class="error">unreadable ranges (no copy matches its checksum): {(info.errors as Json[]).map((e) => `${e.offset}+${e.length}`).join(', ')}</p>}
            <p class="muted">
              {Number(info.size) > b.length ? `first ${b.length} of ${info.size} bytes` : `${b.length} bytes`}, shown as {text !== null ? 'text' : 'hex'}
            </p>
            {image && <ImagePreview api={api} subvol={subvol} path={path} type={image} size={Number(info.size)} first={b} />}
            <pre data-testid="preview" data-kind={text !== null ? 'text' : 'hex'} class="preview">
              {text ?? hexDump(b)}
            </pre>
          </div>
        );
      }}
    </Show>
  );
}

/**
 * The directory and everything below it as one tar file (pax format: exact
 * names, nanosecond mtimes), built in the worker from the files' data as
 * read (checksums verified; unreadable ranges are zeros and named).
 */
function TarDownload({ api, subvol, path, name }: { api: Inspector; subvol: string; path: string; name: string }) {
  const [busy, setBusy] = useState<string | null>(null);
  const run = async () => {
    setBusy('reading the files…');
    try {
      const r = await api.raw({ op: 'tar', subvol, path, max: DOWNLOAD_MAX });
      const info = JSON.parse(r.json) as Json;
      const url = URL.createObjectURL(new Blob([(r.bytes ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>], { type: 'application/x-tar' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = `${name}.tar`;
      a.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      const notes = [`${info.entries} entries`];
      if (info.skipped.length) notes.push(`skipped ${info.skipped.length}: ${(info.skipped as string[]).join('; ')}`);
      if (info.unreadable.length) notes.push(`with unreadable ranges (zeros): ${(info.unreadable as string[]).join(', ')}`);
      setBusy(notes.join(' · '));
    } catch (e) {
      setBusy((e as Error).message);
    }
  };
  return (
    <p>
      <button type="button" data-testid="download-tar" onClick={run}>
        download this directory as .tar
      </button>{' '}
      {busy && (
        <span class="muted" data-testid="tar-status">
          {busy}
        </span>
      )}
    </p>
  );
}

/** A directory (listing and stat) or a file (stat, extents, content). */
function Entry({ api, subvol, path }: { api: Inspector; subvol: string; path: string[] }) {
  const p = `/${path.join('/')}`;
  const it = useLoad(async () => ({ ls: await api.json<Json>({ op: 'ls', subvol, path: p }), st: await api.json<Json>({ op: 'stat', subvol, path: p }) }), [subvol, p]);
  return (
    <div>
      <Breadcrumbs subvol={subvol} path={path} />
      <Show it={it}>
        {({ ls, st }) => (
          <div data-testid="entry" data-type={st.type}>
            {st.type === 'dir' && <TarDownload api={api} subvol={subvol} path={p} name={path[path.length - 1] ?? `subvol-${subvol}`} />}
            {st.type === 'dir' && <Listing subvol={subvol} path={path} ls={ls} />}
            <h3>Inode</h3>
            <Stat st={st} />
            {st.type === 'file' && <Preview api={api} subvol={subvol} path={p} name={path[path.length - 1] ?? 'file'} />}
          </div>
        )}
      </Show>
    </div>
  );
}

export function Files({ api, subvol, path }: { api: Inspector; subvol: string | null; path: string[] }) {
  return subvol === null ? <SubvolumeList api={api} /> : <Entry api={api} subvol={subvol} path={path} />;
}

/**
 * An inode by number (where a finding or a back reference names it): its paths, each a link
 * into the directory browser, and its stat.
 */
export function InodeView({ api, subvol, ino }: { api: Inspector; subvol: string; ino: string }) {
  const it = useLoad(() => api.json<Json>({ op: 'stat', subvol, path: '', ino }), [subvol, ino]);
  return (
    <Show it={it}>
      {(st) => (
        <div data-testid="inode" data-subvol={subvol} data-ino={ino}>
          <h2>
            inode {ino} of subvolume {subvol}
          </h2>
          <ul data-testid="inode-paths">
            {(st.paths as string[]).length === 0 && <li class="muted">no path reaches it (an orphan, or its names are in damaged blocks)</li>}
            {(st.paths as string[]).map((p) => (
              <li key={p}>
                <a href={href({ view: 'files', subvol, path: p.split('/').filter((x) => x.length > 0) })}>{p}</a>
              </li>
            ))}
          </ul>
          <Stat st={st} />
        </div>
      )}
    </Show>
  );
}
