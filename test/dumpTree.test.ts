import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateRawSync, gunzipSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TreeRenderPool } from '../src/cli/commands/treeRenderPool.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { dumpAll, dumpAllText, dumpTree, printContextOf } from '../src/report/dumpTree.js';
import { RenderCache } from '../src/report/RenderCache.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { CORPUS, openSample, SAMPLES, sampleNames } from './helpers/samples.js';

/**
 * The whole `tree` text output against `btrfs inspect-internal dump-tree`
 * of the same image, line for line. The one normalisation: dump-tree writes
 * names as raw bytes, we write text, so the truth is read as UTF-8 (invalid
 * bytes become U+FFFD on both sides).
 */
describe.each(sampleNames())('tree dump of sample %s', (name) => {
  it.each([
    ['(cache of renderings as the library makes it)', undefined],
    // What the CLI uses: packed renderings, least recently used evicted; small here so that it evicts.
    [
      'through a small packed LRU cache (as the CLI dumps)',
      () => new RenderCache({ maxBytes: 256 * 1024, codec: { pack: (b: Uint8Array) => deflateRawSync(b, { level: 1 }), unpack: (b: Uint8Array) => inflateRawSync(b) } }),
    ],
  ] as const)('equals btrfs-progs dump-tree %s', (_how, makeCache) => {
    const truthBytes = gunzipSync(readFileSync(join(SAMPLES, name, 'truth', 'dump-tree.txt.gz')));
    const truth = new TextDecoder().decode(truthBytes).split('\n');
    expect(truth[0]).toMatch(/^btrfs-progs v/);
    const fs = openSample(name);
    const out: string[] = [];
    const cache = makeCache?.();
    dumpAllText(fs, (t) => out.push(t), cache ? { cache } : {});
    const ours = out.join('\n').split('\n');
    const want = truth.slice(1, truth[truth.length - 1] === '' ? -1 : undefined);
    // Compare in slices so a failure shows where, not a 20,000-line diff.
    for (let i = 0; i < Math.max(ours.length, want.length); i += 200) {
      expect(ours.slice(i, i + 200), `lines ${i + 2}..${i + 201} of dump-tree`).toEqual(want.slice(i, i + 200));
    }
  });
});

/**
 * The CLI's text dump renders leaves on other threads (and packs and unpacks
 * their cached texts there); the output must still be dump-tree's, in order.
 * Small slots make the ring wrap all the time, a tight text room makes some
 * leaves fail on the thread and be rendered on the main thread in their turn,
 * and a small cache makes leaves evict and render again.
 */
describe('tree dump through render threads', () => {
  const layouts = [
    ['2 slots, room for any text', { slots: 2, inCap: 65536 * 2, outCap: 65536 * 8, packCap: 65536 * 2 }, false],
    ['3 slots, text room 6 KiB (larger leaves fall back to the main thread)', { slots: 3, inCap: 65536 * 2, outCap: 6144, packCap: 65536 * 2 }, true],
  ] as const;
  it.each(layouts)(
    'equals btrfs-progs dump-tree on every sample, %s',
    async (_how, layout, fallsBack) => {
      const done = { threads: 0, here: 0 };
      for (const name of sampleNames()) {
        const truth = new TextDecoder().decode(gunzipSync(readFileSync(join(SAMPLES, name, 'truth', 'dump-tree.txt.gz')))).split('\n');
        const fs = openSample(name);
        const parts: string[] = [];
        const dec = new TextDecoder();
        const sink = (b: Uint8Array) => {
          parts.push(dec.decode(b, { stream: true }));
        };
        const pool = await TreeRenderPool.start(2, 'text', printContextOf(fs), sink, 64 * 1024, layout);
        expect(pool, 'render threads started').toBeDefined();
        try {
          dumpAll(fs, sink, { output: pool! });
          pool!.finish();
          done.threads += pool!.done.threads;
          done.here += pool!.done.here;
        } finally {
          pool!.close();
        }
        const ours = parts.join('').replace(/\n$/, '').split('\n');
        const want = truth.slice(1, truth[truth.length - 1] === '' ? -1 : undefined);
        for (let i = 0; i < Math.max(ours.length, want.length); i += 200) {
          expect(ours.slice(i, i + 200), `${name}: lines ${i + 2}..${i + 201} of dump-tree`).toEqual(want.slice(i, i + 200));
        }
      }
      expect(done.threads).toBeGreaterThan(100);
      if (fallsBack) expect(done.here).toBeGreaterThan(0);
      else expect(done.here).toBe(0);
    },
    300_000,
  );

  it('NDJSON (blocks emitted once, shared subtrees referred back to) equals the dump made on one thread', async () => {
    for (const name of sampleNames()) {
      const fs = openSample(name);
      const dec = new TextDecoder();
      const one: string[] = [];
      dumpAll(
        fs,
        (b) => {
          one.push(dec.decode(b, { stream: true }));
        },
        { format: 'json', order: 'dfs', emitted: new Set() },
      );
      const parts: string[] = [];
      const sink = (b: Uint8Array) => {
        parts.push(dec.decode(b, { stream: true }));
      };
      const pool = await TreeRenderPool.start(2, 'json', printContextOf(fs), sink, 64 * 1024, { slots: 3, inCap: 65536 * 2, outCap: 65536 * 8, packCap: 65536 * 2 });
      try {
        dumpAll(fs, sink, { format: 'json', order: 'dfs', emitted: new Set(), output: pool! });
        pool!.finish();
        expect(pool!.done.threads, name).toBeGreaterThan(0);
      } finally {
        pool!.close();
      }
      expect(parts.join(''), name).toBe(one.join(''));
    }
  }, 300_000);
});

/** btrfs-progs' damaged and fuzzed images, as the library opens them (undefined: refused, not btrfs). */
function corpusImages(): { name: string; open: () => Filesystem | undefined }[] {
  const dir = join(CORPUS, 'progs');
  let files: string[] = [];
  try {
    files = readdirSync(dir, { recursive: true })
      .map(String)
      .filter((f) => f.endsWith('.runs.gz'))
      .sort();
  } catch {
    return [];
  }
  return files.map((f) => ({
    name: f,
    open: () => {
      try {
        return Filesystem.open([loadRunsImage(join(dir, f))]);
      } catch {
        return undefined;
      }
    },
  }));
}

describe.runIf(corpusImages().length > 0)('tree dump through render threads on damaged images', () => {
  it("text and NDJSON equal the one-thread dump on every image of btrfs-progs' corpus (damaged blocks, unreadable subtrees)", async () => {
    let dumped = 0;
    let onThreads = 0;
    for (const { name, open } of corpusImages()) {
      for (const format of ['text', 'json'] as const) {
        const fs = open();
        if (!fs) continue;
        const dec = new TextDecoder();
        const opts = format === 'json' ? { format, order: 'dfs' as const, emitted: new Set<bigint>() } : { format };
        const one: string[] = [];
        dumpAll(
          fs,
          (b) => {
            one.push(dec.decode(b, { stream: true }));
          },
          opts,
        );
        const fs2 = open()!;
        const parts: string[] = [];
        const sink = (b: Uint8Array) => {
          parts.push(dec.decode(b, { stream: true }));
        };
        const pool = await TreeRenderPool.start(1, format, printContextOf(fs2), sink, 64 * 1024, { slots: 2, inCap: 65536 * 2, outCap: 65536 * 8, packCap: 65536 * 2 });
        try {
          dumpAll(fs2, sink, { ...opts, ...(format === 'json' ? { emitted: new Set<bigint>() } : {}), output: pool! });
          pool!.finish();
          onThreads += pool!.done.threads;
        } finally {
          pool!.close();
        }
        expect(parts.join(''), `${name} ${format}`).toBe(one.join(''));
        dumped++;
      }
    }
    expect(dumped).toBeGreaterThan(100);
    expect(onThreads).toBeGreaterThan(1000);
  }, 600_000);
});

describe('the cache of renderings', () => {
  const packed = (maxBytes: number) => new RenderCache({ maxBytes, codec: { pack: (b: Uint8Array) => deflateRawSync(b, { level: 1 }), unpack: (b: Uint8Array) => inflateRawSync(b) } });
  const dumpTwice = (cache: RenderCache) => {
    // The samples' snapshots are one-leaf trees (nothing shared below a root): a two-level tree dumped twice shares every leaf.
    const fs = openSample('default');
    const root = fs.treeRoot(5n)!;
    const dec = new TextDecoder();
    let first = '',
      second = '';
    dumpTree(
      fs,
      root,
      (b) => {
        first += dec.decode(b);
      },
      { cache },
    );
    const hitsBefore = cache.hits;
    dumpTree(
      fs,
      root,
      (b) => {
        second += dec.decode(b);
      },
      { cache },
    );
    return { first, second, hits: cache.hits - hitsBefore, leaves: (first.match(/^leaf \d+ items/gm) ?? []).length };
  };

  it('serves a leaf rendered before (packed, unpacked on the way out) byte for byte', () => {
    const r = dumpTwice(packed(1 << 20));
    expect(r.leaves).toBeGreaterThan(1);
    expect(r.hits).toBe(r.leaves);
    expect(r.second).toBe(r.first);
  });

  it('evicts the least recently used past its bound and still dumps the same', () => {
    const r = dumpTwice(packed(4096));
    expect(r.hits).toBeLessThan(r.leaves);
    expect(r.second).toBe(r.first);
  });
});
