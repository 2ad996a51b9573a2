import type { Inspector } from '../client.js';
import { bytes, hexDump } from '../format.js';
import { useLoad } from '../hooks.js';
import { href } from '../route.js';
import { Show } from './common.js';

type Json = Record<string, any>;

/**
 * A device offset (where a finding says the damage lies on the medium): the 4 KiB around it in
 * hex, the named byte marked, and what the chunk map places there (`map --physical`), each
 * chunk linked to the Layout and each logical address to its block.
 */
export function Device({ api, devid, offset }: { api: Inspector; devid: string; offset: string }) {
  const it = useLoad(() => api.raw({ op: 'device', devid, offset }), [devid, offset]);
  return (
    <Show it={it}>
      {(r) => {
        const d = JSON.parse(r.json) as Json;
        const b = r.bytes ?? new Uint8Array(0);
        const start = BigInt(d.start);
        const at = Number(BigInt(offset) - start);
        // The 16-byte line holding the named byte.
        const line = at - (at % 16);
        const step = (delta: bigint) => {
          const n = BigInt(offset) + delta;
          return n < 0n ? '0' : String(n);
        };
        return (
          <div data-testid="device" data-devid={devid} data-offset={offset}>
            <h2>
              device {devid} ({d.name}, {bytes(d.size)}) at byte {offset}
            </h2>
            <p>
              <a href={href({ view: 'device', devid, offset: step(-4096n) })}>← 4 KiB</a> · <a href={href({ view: 'device', devid, offset: step(4096n) })}>4 KiB →</a>
            </p>
            {(d.logical as Json[]).length === 0 ? (
              <p class="muted" data-testid="device-unallocated">
                in no chunk's stripe: unallocated space (or outside what the chunk tree maps)
              </p>
            ) : (
              <table data-testid="device-map">
                <thead>
                  <tr>
                    <th>chunk</th>
                    <th>stripe</th>
                    <th>role</th>
                    <th>logical</th>
                  </tr>
                </thead>
                <tbody>
                  {(d.logical as Json[]).map((h, i) => (
                    <tr key={i} data-chunk={h.chunk} data-logical={h.logical ?? ''}>
                      <td>
                        <a href={href({ view: 'layout', chunk: String(h.chunk) })}>{h.chunk}</a>
                      </td>
                      <td>{h.stripe}</td>
                      <td>{h.role}</td>
                      <td>
                        {h.logical !== null && h.logical !== undefined ? (
                          <a href={href({ view: 'layout', chunk: String(h.logical) })}>{h.logical}</a>
                        ) : h.unplaced ? (
                          'none (no raid stripe item places data here)'
                        ) : (
                          `parity of the row at ${h.rowLogical}`
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <p class="muted">
              bytes {String(start)} to {String(start + BigInt(b.length) - 1n)} of the device (offsets in hex); the line of the named byte is marked
            </p>
            <pre class="preview" data-testid="device-hex" data-start={String(start)}>
              {line > 0 && `${hexDump(b.subarray(0, line), Number(start))}\n`}
              <mark data-testid="device-mark">{hexDump(b.subarray(line, line + 16), Number(start) + line)}</mark>
              {line + 16 < b.length && `\n${hexDump(b.subarray(line + 16), Number(start) + line + 16)}`}
            </pre>
          </div>
        );
      }}
    </Show>
  );
}
