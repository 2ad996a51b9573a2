import { describe, expect, it } from 'vitest';
import { fileLayout } from '../src/analysis/layout.js';
import { analyzeSharing } from '../src/analysis/sharing.js';
import { FsView } from '../src/fs/FsView.js';
import { filefragText } from '../src/report/filefrag.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { openSample, sampleNames, truthJson } from './helpers/samples.js';

interface Entry {
  path: string;
  path_b64: string;
  type: string;
  size: number;
  filefrag?: { extents: { logical: number; physical: number; length: number; flags: string[] }[]; raw: string };
}

const COMPARED = new Set(['shared', 'encoded', 'inline', 'unwritten', 'last']);
const fmt = (logical: bigint | number, physical: bigint | number, length: bigint | number, flags: string[]) =>
  `${logical}:${physical}:${length}:${flags
    .filter((f) => COMPARED.has(f))
    .sort()
    .join(',')}`;

function components(b64: string): Uint8Array[] {
  const b = Buffer.from(b64, 'base64');
  const out: Uint8Array[] = [];
  let s = 0;
  for (let i = 0; i <= b.length; i++)
    if (i === b.length || b[i] === 0x2f) {
      out.push(new Uint8Array(b.subarray(s, i)));
      s = i + 1;
    }
  return out;
}

describe("extent layout: FIEMAP of every file equals the kernel's filefrag -v", () => {
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
        if (!res.ok) {
          bad.push(`${e.path}: ${res.error}`);
          continue;
        }
        const got = fileLayout(view, res.ref, sharing)
          .fiemap.map((x) => fmt(x.logical, x.physical, x.length, x.flags))
          .join(' ');
        const want = e.filefrag!.extents.map((x) => fmt(x.logical, x.physical, x.length, x.flags)).join(' ');
        if (got !== want) bad.push(`${e.path}: got ${got} want ${want}`);
      }
      expect(bad).toEqual([]);
    });
  }
});

describe("filefrag text: the exact output of the kernel's filefrag -v -b1 for every file", () => {
  for (const name of sampleNames().filter((n) => n !== 'log-tree')) {
    it(name, () => {
      const fs = openSample(name);
      const view = new FsView(fs);
      const sharing = analyzeSharing(view);
      const files = truthJson<{ entries: Entry[] }>(name, 'files.json').entries.filter((e) => e.type === 'file' && e.filefrag);
      const bad: string[] = [];
      let compared = 0;
      for (const e of files) {
        // The recording ran filefrag on <mnt>/PATH; names that are not UTF-8 are not in the raw text as the path field has them.
        if (!e.filefrag!.raw.includes(`<mnt>/${e.path}:`)) continue;
        const res = view.resolve(components(e.path_b64));
        if (!res.ok) {
          bad.push(`${e.path}: ${res.error}`);
          continue;
        }
        const got = filefragText({
          name: `/${e.path}`,
          size: res.inode.size,
          blockSize: BigInt(view.sectorsize),
          fsBlocks: fs.superblock.totalBytes / BigInt(view.sectorsize),
          fiemap: fileLayout(view, res.ref, sharing).fiemap,
        });
        const want = e.filefrag!.raw.replaceAll('<mnt>/', '/');
        if (got !== want) bad.push(`${e.path}:\n${got}---- want\n${want}`);
        compared++;
      }
      expect(bad.slice(0, 3)).toEqual([]);
      expect(compared).toBeGreaterThan(files.length - 2);
    });
  }
});

describe('extents CLI', () => {
  it('copies through the chunk map, sharing and fragmentation (rich/random-2m.reflink)', async () => {
    const r = await cli('extents', 'sample-images/default/dev1.runs.gz', '/rich/random-2m.reflink', '--json');
    expect(r.code).toBe(0);
    const j = parseJsonExact(r.stdout) as {
      extents: { diskBytenr: string | number; offset: string | number; copies: { devid: number; physical: string | number }[]; shared: boolean; otherInodes: boolean }[];
      fiemap: unknown[];
      runs: number;
    };
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
  it('--filefrag prints what filefrag -v -b1 prints, several files one after another with the type line once', async () => {
    const files = truthJson<{ entries: Entry[] }>('default', 'files.json').entries;
    const raw = (p: string) => files.find((e) => e.path === p)!.filefrag!.raw.replaceAll('<mnt>/', '/');
    const r = await cli('extents', 'sample-images/default/dev1.runs.gz', '/rich/random-2m.reflink', '/rich/sparse-hole-start.bin', '/rich/tiny.txt', '--filefrag');
    expect(r.code).toBe(0);
    const typeLine = 'Filesystem type is: 9123683e\n';
    expect(r.stdout).toBe(raw('rich/random-2m.reflink') + raw('rich/sparse-hole-start.bin').replace(typeLine, '') + raw('rich/tiny.txt').replace(typeLine, ''));
    const t = await cli('extents', 'sample-images/default/dev1.runs.gz', '/rich/random-2m.reflink');
    expect(t.stdout).toContain(raw('rich/random-2m.reflink'));
    const j = parseJsonExact((await cli('extents', 'sample-images/default/dev1.runs.gz', '/rich/random-2m.reflink', '--json')).stdout) as { fiemap: { flags: string[]; expected: number | null }[] };
    expect(j.fiemap.map((f) => [f.flags.join(','), f.expected])).toEqual([
      ['shared', null],
      ['', 64372736],
      ['last,shared,eof', 15024128],
    ]);
    expect((await cli('extents', 'sample-images/default/dev1.runs.gz', '/rich/tiny.txt', '--filefrag', '--json')).code).toBe(2);
  });
  it('a missing file is a usage error', async () => {
    const r = await cli('extents', 'sample-images/default/dev1.runs.gz', '/nope');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/nope: no such file/);
  });
});
