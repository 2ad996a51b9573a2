import { describe, expect, it } from 'vitest';
import { FsView } from '../src/fs/FsView.js';
import { analyzeSharing } from '../src/analysis/sharing.js';
import { fileLayout } from '../src/analysis/layout.js';
import { openSample, sampleNames, truthJson } from './helpers/samples.js';
import { cli, parseJsonExact } from './helpers/cli.js';

interface Entry { path: string; path_b64: string; type: string; filefrag?: { extents: { logical: number; physical: number; length: number; flags: string[] }[] } }

const COMPARED = new Set(['shared', 'encoded', 'inline', 'unwritten', 'last']);
const fmt = (logical: bigint | number, physical: bigint | number, length: bigint | number, flags: string[]) =>
  `${logical}:${physical}:${length}:${flags.filter((f) => COMPARED.has(f)).sort().join(',')}`;

function components(b64: string): Uint8Array[] {
  const b = Buffer.from(b64, 'base64');
  const out: Uint8Array[] = [];
  let s = 0;
  for (let i = 0; i <= b.length; i++) if (i === b.length || b[i] === 0x2f) { out.push(new Uint8Array(b.subarray(s, i))); s = i + 1; }
  return out;
}

describe('extent layout: FIEMAP of every file equals the kernel\'s filefrag -v', () => {
  // log-tree's files.json is the view after log replay, not the committed trees read here.
  for (const name of sampleNames().filter((n) => n !== 'log-tree')) {
    it(name, () => {
      const view = new FsView(openSample(name));
      const sharing = analyzeSharing(view);
      const files = truthJson<{ entries: Entry[] }>(name, 'files.json').entries.filter((e) => e.type === 'file' && e.filefrag);
      expect(files.length).toBeGreaterThan(0);
      const bad: string[] = [];
      for (const e of files) {
        const res = view.resolve(components(e.path_b64));
        if (!res.ok) { bad.push(`${e.path}: ${res.error}`); continue; }
        const got = fileLayout(view, res.ref, sharing).fiemap.map((x) => fmt(x.logical, x.physical, x.length, x.flags)).join(' ');
        const want = e.filefrag!.extents.map((x) => fmt(x.logical, x.physical, x.length, x.flags)).join(' ');
        if (got !== want) bad.push(`${e.path}: got ${got} want ${want}`);
      }
      expect(bad).toEqual([]);
    });
  }
});

describe('extents CLI', () => {
  it('copies through the chunk map, sharing and fragmentation (rich/random-2m.reflink)', async () => {
    const r = await cli('extents', 'sample-images/default/dev1.runs.gz', '/rich/random-2m.reflink', '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as { extents: { diskBytenr: string | number; offset: string | number; copies: { devid: number; physical: string | number }[]; shared: boolean; otherInodes: boolean }[]; fiemap: unknown[]; runs: number };
    const ml = truthJson<{ chunks: { logical: number; length: number; stripes: { devid: number; offset: number }[] }[] }>('default', 'map-logical.json');
    for (const x of j.extents) {
      const addr = BigInt(x.diskBytenr) + BigInt(x.offset);
      const c = ml.chunks.find((k) => BigInt(k.logical) <= addr && addr < BigInt(k.logical) + BigInt(k.length))!;
      expect(x.copies.map((p) => BigInt(p.physical))).toEqual(c.stripes.map((s) => BigInt(s.offset) + addr - BigInt(c.logical)));
    }
    // filefrag truth: 3 extents, the first and last shared with random-2m.bin (another inode)
    expect(j.runs).toBe(3);
    expect(j.extents.filter((x) => x.shared).every((x) => x.otherInodes)).toBe(true);
    const t = await cli('extents', 'sample-images/default/dev1.runs.gz', '/rich/random-2m.reflink');
    expect(t.stdout).toMatch(/fragmentation: 3 contiguous run\(s\) on disk, 2 discontinuities/);
  });
  it('a missing file is a usage error', async () => {
    const r = await cli('extents', 'sample-images/default/dev1.runs.gz', '/nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/nope: no such file/);
  });
});
