import type { Inspector } from '../client.js';
import { bytes } from '../format.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { CheckStatus } from './CheckStatus.js';
import { Fields, Show } from './common.js';

type Json = Record<string, any>;

/** Superblock, devices and their superblock copies, subvolumes, usage by type and profile, the check's status. */
export function Overview({ api }: { api: Inspector }) {
  const it = useLoad(() => api.json<Json>({ op: 'overview' }), []);
  return (
    <Show it={it}>
      {(o) => (
        <div class="overview">
          <section>
            <h2>Check</h2>
            <CheckStatus api={api} link />
          </section>
          <section>
            <h2>Usage by type and profile</h2>
            <table data-testid="usage">
              <thead>
                <tr>
                  <th>type</th>
                  <th>profile</th>
                  <th>size</th>
                  <th>used</th>
                  <th class="bar-col">fill</th>
                  <th>raw on devices</th>
                  <th>chunks</th>
                </tr>
              </thead>
              <tbody>
                {(o.usage.groups as Json[]).map((g) => {
                  const pct = Number(g.size) > 0 ? (Number(g.used) * 100) / Number(g.size) : 0;
                  return (
                    <tr key={`${g.type},${g.profile}`} data-group={`${g.type},${g.profile}`}>
                      <td>{g.type}</td>
                      <td>{g.profile}</td>
                      <td>{bytes(g.size)}</td>
                      <td>{bytes(g.used)}</td>
                      <td class="bar-col">
                        <div class={`bar t-${String(g.type).toLowerCase()}`}>
                          <span style={{ width: `${pct}%` }} />
                        </div>
                        {pct.toFixed(1)}%
                      </td>
                      <td>{bytes(g.raw)}</td>
                      <td>{g.chunks}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
            <p class="muted">
              device size {bytes(o.usage.deviceSize)}, allocated {bytes(o.usage.allocated)}, used {bytes(o.usage.used)}, free (estimated) {bytes(o.usage.freeEstimated)}
            </p>
          </section>
          <section>
            <h2>Subvolumes and snapshots</h2>
            <table data-testid="subvolumes">
              <thead>
                <tr>
                  <th>id</th>
                  <th>path</th>
                  <th>parent</th>
                  <th>gen</th>
                  <th>uuid</th>
                  <th>parent uuid</th>
                  <th>flags</th>
                </tr>
              </thead>
              <tbody>
                {(o.subvolumes as Json[]).map((s) => (
                  <tr key={s.subvol} data-subvol={s.subvol}>
                    <td>
                      <a href={href({ view: 'files', subvol: s.subvol, path: [] })}>{s.subvol}</a>
                    </td>
                    <td>
                      {s.path ?? '(unlinked)'}
                      {s.default ? ' (default)' : ''}
                    </td>
                    <td>{s.parentSubvol ?? '-'}</td>
                    <td>{s.generation}</td>
                    <td class="mono">{s.uuid}</td>
                    <td class="mono">{s.parentUuid ?? '-'}</td>
                    <td>{[s.readOnly ? 'ro' : 'rw', s.deleted ? 'deleted' : ''].filter(Boolean).join(',')}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
          <section>
            <h2>Devices and superblock copies</h2>
            <table data-testid="devices">
              <thead>
                <tr>
                  <th>device</th>
                  <th>size</th>
                  <th>copy</th>
                  <th>offset</th>
                  <th>state</th>
                  <th>generation</th>
                  <th>problems</th>
                </tr>
              </thead>
              <tbody>
                {(o.devices as Json[]).flatMap((d) =>
                  (d.mirrors as Json[]).map((m) => (
                    <tr key={`${d.name}/${m.index}`}>
                      <td>{d.name}</td>
                      <td>{bytes(d.size)}</td>
                      <td>{m.index + 1}</td>
                      <td>{m.offset}</td>
                      <td class={m.state === 'ok' || m.state === 'missing' ? '' : 'error'}>
                        {m.state}
                        {m.index === d.usedCopy ? ' (used)' : ''}
                      </td>
                      <td>{m.generation ?? ''}</td>
                      <td>{(m.problems as string[]).join(', ')}</td>
                    </tr>
                  )),
                )}
              </tbody>
            </table>
          </section>
          <section>
            <h2>Superblock</h2>
            <Fields testid="superblock" rows={(o.superblockRows as [string, string][]).map(([k, v]) => [k, <span class="mono">{v}</span>])} />
          </section>
          {o.findings.length > 0 && (
            <section>
              <h2>Damage met while opening</h2>
              <ul>
                {(o.findings as Json[]).map((f, i) => (
                  <li key={i} class={f.severity}>
                    {f.code}: {f.message} ({f.where})
                  </li>
                ))}
              </ul>
            </section>
          )}
        </div>
      )}
    </Show>
  );
}
