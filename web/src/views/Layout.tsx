import { useRef, useState } from 'preact/hooks';
import type { Inspector } from '../client.js';
import { bytes } from '../format.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Show } from './common.js';
import { FileUsers, Users } from './Users.js';

type Json = Record<string, any>;

const W = 1100;
const LEFT = 70;
const ROW = 64;
const BAND = 8;
const BODY = 34;
const BAR = W - LEFT - 10;

/** Short byte count for axis ticks: 1.5G, 256M. */
function short(n: number): string {
  const u = ['B', 'K', 'M', 'G', 'T', 'P'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v % 1 === 0 ? v.toFixed(0) : v.toFixed(1)}${u[i]}`;
}

/** Tick step: a power of two giving at most ~8 ticks over the window. */
function step(span: number): number {
  let s = 1;
  while (span / s > 8) s *= 2;
  return s;
}

/**
 * The chunk map: one bar per device over its physical offsets, each device
 * extent drawn where it lies — top band coloured by type, body shaded by how
 * full the block group is (the colours of `heatmap`). The wheel zooms around
 * the pointer, a drag pans, so chunks of a few MiB on a device of TiB are
 * reachable; a click opens the chunk. Hand-drawn SVG: every rect is an element
 * the browser test can find by its chunk and device.
 */
function ChunkMap({ map, selected, onPick }: { map: Json; selected: string | null; onPick: (logical: string) => void }) {
  const full = Math.max(1, ...(map.devices as Json[]).map((d) => Number(d.size)));
  const [win, setWin] = useState<[number, number]>([0, full]);
  const [drag, setDrag] = useState<{ x: number; win: [number, number] } | null>(null);
  // A drag that moved the map is a pan, not a click on the chunk under the pointer.
  const panned = useRef(false);
  const [lo, hi] = win;
  const span = hi - lo;
  const xOf = (p: number) => LEFT + ((p - lo) * BAR) / span;
  const clamp = (a: number, b: number): [number, number] => {
    const s = Math.min(full, Math.max(4096, b - a));
    const s0 = Math.max(0, Math.min(full - s, a));
    return [s0, s0 + s];
  };
  const zoom = (factor: number, at = lo + span / 2) => setWin(clamp(at - (at - lo) * factor, at + (hi - at) * factor));
  const devices = map.devices as Json[];
  const height = devices.length * ROW + 20;
  const st = step(span);
  const ticks: number[] = [];
  for (let t = Math.ceil(lo / st) * st; t <= hi; t += st) ticks.push(t);
  const posOf = (e: MouseEvent) => {
    const r = (e.currentTarget as SVGSVGElement).getBoundingClientRect();
    return lo + ((e.clientX - r.left - LEFT) * span) / BAR;
  };
  return (
    <div>
      <p class="zoombar">
        <button type="button" data-testid="zoom-in" onClick={() => zoom(0.5)}>
          zoom in
        </button>{' '}
        <button type="button" data-testid="zoom-out" onClick={() => zoom(2)}>
          zoom out
        </button>{' '}
        <button type="button" data-testid="zoom-reset" onClick={() => setWin([0, full])}>
          whole devices
        </button>{' '}
        <span class="muted" data-testid="window">
          physical {short(lo)} – {short(hi)} (wheel: zoom, drag: pan, click: open the chunk)
        </span>
      </p>
      <svg
        class="chunkmap"
        data-testid="chunkmap"
        width={W}
        height={height}
        viewBox={`0 0 ${W} ${height}`}
        onWheel={(e) => {
          e.preventDefault();
          zoom(e.deltaY < 0 ? 0.8 : 1.25, posOf(e));
        }}
        onMouseDown={(e) => {
          panned.current = false;
          setDrag({ x: e.clientX, win });
        }}
        onMouseMove={(e) => {
          if (!drag || e.buttons === 0) return;
          if (Math.abs(e.clientX - drag.x) > 3) panned.current = true;
          const d = ((e.clientX - drag.x) * (drag.win[1] - drag.win[0])) / BAR;
          setWin(clamp(drag.win[0] - d, drag.win[1] - d));
        }}
        onMouseUp={() => setDrag(null)}
      >
        <title>chunk map: each device's physical space, its chunks coloured by type and fill</title>
        <defs>
          <clipPath id="bars">
            <rect x={LEFT} y={0} width={BAR} height={height} />
          </clipPath>
        </defs>
        {devices.map((d, i) => {
          const y = i * ROW + 4;
          const size = Number(d.size);
          return (
            <g key={d.devid} data-devid={d.devid}>
              <text x={4} y={y + 24} class="devlabel">
                devid {d.devid}
              </text>
              <text x={4} y={y + 36} class="devlabel muted">
                {short(size)}
              </text>
              <g clip-path="url(#bars)">
                <rect x={xOf(0)} y={y} width={Math.max(0, xOf(size) - xOf(0))} height={BAND + BODY} fill="#e4e4e4">
                  <title>unallocated</title>
                </rect>
                {(map.extents as Json[])
                  .filter((x) => x.devid === d.devid)
                  .map((x) => {
                    const a = xOf(Number(x.physical));
                    const b = xOf(Number(x.physical) + Number(x.length));
                    if (b < LEFT - 2 || a > W) return null;
                    const w = Math.max(1, b - a);
                    const tip = `${x.kind} chunk ${x.chunk}: used ${x.used} of ${x.chunkLength} (${(x.fill * 100).toFixed(1)}%), physical ${x.physical} +${x.length}`;
                    return (
                      <g
                        key={`${x.chunk}:${x.physical}`}
                        class={`ext${selected !== null && x.chunk === selected ? ' selected' : ''}`}
                        data-chunk={x.chunk}
                        data-physical={x.physical}
                        data-kind={x.kind}
                        onClick={() => {
                          if (!panned.current) onPick(String(x.chunk));
                        }}
                      >
                        <title>{tip}</title>
                        <rect x={a} y={y} width={w} height={BAND} fill={x.band} />
                        <rect x={a} y={y + BAND} width={w} height={BODY} fill={x.body} />
                      </g>
                    );
                  })}
              </g>
              {ticks.map((t) => (
                <g key={t}>
                  <rect x={xOf(t)} y={y + BAND + BODY} width={1} height={4} fill="#777" />
                  <text x={Math.min(xOf(t) + 2, W - 36)} y={y + BAND + BODY + 13} class="tick">
                    {short(t)}
                  </text>
                </g>
              ))}
            </g>
          );
        })}
      </svg>
      <p class="legend">
        {[
          ['data', '#1f5fbf'],
          ['metadata', '#e07610'],
          ['system', '#c0282d'],
          ['data+metadata', '#1e9655'],
          ['unallocated', '#e4e4e4'],
        ].map(([n, c]) => (
          <span key={n} class="sw">
            <i style={{ background: c }} /> {n}
          </span>
        ))}{' '}
        <span class="muted">band: type; body: pale = empty, deep = full</span>
      </p>
    </div>
  );
}

/** One chunk: stripes and their device extents, its block group's heatmap, the extents in it and who uses one. */
function ChunkDetail({ api, logical }: { api: Inspector; logical: string }) {
  const it = useLoad(() => api.json<Json>({ op: 'chunk', logical }), [logical]);
  const [who, setWho] = useState<string | null>(null);
  const users = useLoad(() => (who === null ? Promise.resolve(null) : api.json<Json>({ op: 'resolve', logical: who })), [who]);
  return (
    <Show it={it}>
      {(d) => {
        const c = d.chunk as Json;
        return (
          <section data-testid="chunk" data-logical={c.logical}>
            <h2>
              {c.type} chunk {c.logical}
            </h2>
            <p>
              length {bytes(c.length)}, {c.profile}, used {c.used === null ? '?' : bytes(c.used)}, stripe_len {c.stripeLen}, {c.numStripes} stripe(s) of {bytes(c.stripeSize)}
            </p>
            {String(c.logical) !== logical && (
              <div data-testid="named-address">
                <h3>
                  The address {logical} ({String(BigInt(logical) - BigInt(c.logical))} bytes into the chunk): who uses it
                </h3>
                <Users api={api} logical={logical} />
              </div>
            )}
            <table data-testid="stripes">
              <thead>
                <tr>
                  <th>stripe</th>
                  <th>devid</th>
                  <th>physical</th>
                  <th>device uuid</th>
                  <th>dev extent</th>
                </tr>
              </thead>
              <tbody>
                {(c.stripes as Json[]).map((s, i) => (
                  <tr key={i} data-devid={s.devid} data-physical={s.physical}>
                    <td>{i}</td>
                    <td>{s.devid}</td>
                    <td>{s.physical}</td>
                    <td class="mono">{s.devUuid}</td>
                    <td class={s.devExtent === 'ok' ? '' : 'error'}>{s.devExtent}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {/* The SVG is the library's own renderSvg output: its texts are escaped there. */}
            {d.heatmap && <div class="bg-heatmap" data-testid="bg-heatmap" dangerouslySetInnerHTML={{ __html: d.heatmap }} />}
            <h3>
              What lives there: {d.extentCount} extent item(s){d.extentCount > d.extents.length ? ` (the first ${d.extents.length})` : ''}
            </h3>
            <div class="block-grid">
              <table data-testid="bg-extents">
                <thead>
                  <tr>
                    <th>logical</th>
                    <th>length</th>
                    <th>kind</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {(d.extents as Json[]).map((e) => (
                    <tr key={e.bytenr} data-bytenr={e.bytenr} class={who === String(e.bytenr) ? 'selected' : ''}>
                      <td>{e.bytenr}</td>
                      <td>{e.length}</td>
                      <td>{e.kind}</td>
                      <td>
                        {e.kind === 'tree block' ? (
                          <a href={href({ view: 'block', tree: null, logical: String(e.bytenr) })}>open block</a>
                        ) : (
                          <button type="button" data-testid="who" onClick={() => setWho(String(e.bytenr))}>
                            files using it
                          </button>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {who !== null && (
                <Show it={users}>
                  {(u) =>
                    u && (
                      <div data-testid="users" data-logical={who}>
                        <h3>users of {who}</h3>
                        <FileUsers u={u} />
                      </div>
                    )
                  }
                </Show>
              )}
            </div>
          </section>
        );
      }}
    </Show>
  );
}

/** Layout: the chunk map and, below it, the chunk the URL names. */
export function Layout({ api, chunk }: { api: Inspector; chunk: string | null }) {
  const it = useLoad(() => api.json<Json>({ op: 'layout' }), []);
  return (
    <Show it={it}>
      {(map) => (
        <div>
          <ChunkMap
            map={map}
            selected={chunk}
            onPick={(c) => {
              location.hash = href({ view: 'layout', chunk: c });
            }}
          />
          <p class="muted">
            {map.chunks.length} chunks on {map.devices.length} device(s): {(map.devices as Json[]).map((d) => `devid ${d.devid} ${d.name} ${bytes(d.size)}`).join('; ')}
          </p>
          {chunk !== null && <ChunkDetail api={api} logical={chunk} />}
        </div>
      )}
    </Show>
  );
}
