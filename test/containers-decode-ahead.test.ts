import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dataJobs } from '../src/analysis/check/data.js';
import { DecodeAheadVerifier } from '../src/analysis/check/decodeAhead.js';
import { runCheck, verifyDataJob } from '../src/analysis/check/index.js';
import { ItemType, ObjectId } from '../src/format/constants.js';
import type { ByteSource } from '../src/io/ByteSource.js';
import type { ContainerCodecs } from '../src/io/containers/codecs.js';
import { EwfSource } from '../src/io/containers/ewf.js';
import { Qcow2Source, readQcow2Header } from '../src/io/containers/qcow2.js';
import { MemorySource } from '../src/io/MemorySource.js';
import { nodeCodecs } from '../src/io/node/codecs.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { fixtureBytes, truthLine } from './helpers/containers.js';

/**
 * Decoding ahead (ByteSource.decodeAhead): Node's zlib inflates a container's compressed blocks
 * on libuv's thread pool, several at once, before the synchronous reads that want them. It must
 * not change a byte (the truth: sha256sum of the raw image the fixtures were made from), must
 * really take the inflation off the reads, must stay within its bound, and must leave damage to
 * the reads, which report it located as before.
 */

/** Node's codecs, counting the inflations made by each path and the most ever in flight at once. */
function counting(): { codecs: ContainerCodecs; sync: number; async: number; maxInFlight: number } {
  const c = { sync: 0, async: 0, maxInFlight: 0, inFlight: 0 };
  const track =
    (f: (input: Uint8Array, size: number) => Promise<Uint8Array>) =>
    async (input: Uint8Array, size: number): Promise<Uint8Array> => {
      c.async++;
      c.maxInFlight = Math.max(c.maxInFlight, ++c.inFlight);
      try {
        return await f(input, size);
      } finally {
        c.inFlight--;
      }
    };
  const codecs: ContainerCodecs = {
    inflateRaw(i, s) {
      c.sync++;
      return nodeCodecs.inflateRaw(i, s);
    },
    inflateZlib(i, s) {
      c.sync++;
      return nodeCodecs.inflateZlib(i, s);
    },
    zstd: nodeCodecs.zstd,
    async: { inflateRaw: track(nodeCodecs.async!.inflateRaw), inflateZlib: track(nodeCodecs.async!.inflateZlib) },
  };
  return Object.assign(c, { codecs });
}

const MiB = 1 << 20;

/** sha256 of the whole source, each MiB decoded ahead `window` MiB before it is read (several in flight). */
async function sha256Ahead(src: ByteSource, window: number): Promise<string> {
  const h = createHash('sha256');
  const ahead = new Map<bigint, Promise<void>>();
  const ask = (o: bigint) => {
    if (o < src.size && !ahead.has(o)) ahead.set(o, src.decodeAhead!([{ offset: o, length: MiB }]));
  };
  for (let o = 0n; o < src.size; o += BigInt(MiB)) {
    for (let k = 0; k < window; k++) ask(o + BigInt(k * MiB));
    await ahead.get(o);
    ahead.delete(o);
    h.update(src.read(o, MiB));
  }
  await Promise.all(ahead.values());
  return h.digest('hex');
}

const qcow2Of = (bytes: Uint8Array, codecs: ContainerCodecs, cacheBytes?: number) => new Qcow2Source(new MemorySource(bytes, 'zlib.qcow2'), { codecs, ...(cacheBytes ? { cacheBytes } : {}) });
const ewfOf = (bytes: Uint8Array, codecs: ContainerCodecs) => new EwfSource([new MemorySource(bytes, 'fs.E01')], () => null, { codecs });

describe('decoding ahead reads the same bytes, off the reads', () => {
  test('zlib qcow2 (qemu-img convert -c): the raw image, every compressed cluster inflated ahead, several at once', async () => {
    const c = counting();
    const src = qcow2Of(fixtureBytes('zlib.qcow2'), c.codecs);
    expect(await sha256Ahead(src, 4)).toBe(truthLine('raw.sha256'));
    expect(c.async).toBeGreaterThan(0);
    expect(c.sync).toBe(0);
    expect(c.maxInFlight).toBeGreaterThan(1);
  });

  test('E01 (ewfacquire, deflate chunks): the raw image, every compressed chunk inflated ahead', async () => {
    const c = counting();
    const src = ewfOf(fixtureBytes('fs.E01'), c.codecs);
    expect(await sha256Ahead(src, 4)).toBe(truthLine('raw.sha256'));
    expect(c.async).toBe(src.info().compressedChunks);
    expect(c.sync).toBe(0);
  });

  test('the decoded bytes in flight stay within a quarter of the cache', async () => {
    const bytes = fixtureBytes('zlib.qcow2');
    const cs = readQcow2Header(new MemorySource(bytes)).clusterSize;
    const c = counting();
    // Room for two clusters in flight: more asked for at once wait their turn.
    const src = qcow2Of(bytes, c.codecs, 8 * cs);
    expect(await sha256Ahead(src, 8)).toBe(truthLine('raw.sha256'));
    expect(c.maxInFlight).toBe(2);
  });

  test('a source without asynchronous codecs (the browser core) does not decode ahead', () => {
    const { async: _, ...syncOnly } = nodeCodecs;
    expect(qcow2Of(fixtureBytes('zlib.qcow2'), syncOnly).decodeAhead).toBeUndefined();
    expect(ewfOf(fixtureBytes('fs.E01'), syncOnly).decodeAhead).toBeUndefined();
  });
});

describe('check --data decoding ahead on one thread (DecodeAheadVerifier)', () => {
  test('every data job handed in at once: at most 4 decoding ahead, the results those of the synchronous verification', async () => {
    const bytes = fixtureBytes('zlib.qcow2');
    const fsys = Filesystem.open([qcow2Of(bytes, nodeCodecs)]);
    const { async: _, ...syncOnly } = nodeCodecs;
    const plain = Filesystem.open([qcow2Of(bytes, syncOnly)]);
    let inFlight = 0,
      maxInFlight = 0,
      calls = 0;
    const decodeAhead = fsys.volume.decodeAhead.bind(fsys.volume);
    fsys.volume.decodeAhead = async (logical, length) => {
      calls++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        await decodeAhead(logical, length);
      } finally {
        inFlight--;
      }
    };
    // The fixture's data makes one job of at most 1 MiB: cut into one job per 4 KiB sector.
    const ss = fsys.superblock.sectorsize,
      cs = fsys.superblock.csumSize;
    const jobs = [...dataJobs(fsys, () => {})].flatMap((j) =>
      Array.from({ length: j.sectors }, (_, i) => ({ ...j, logical: j.logical + BigInt(i * ss), sectors: 1, csums: j.csums.slice(i * cs, (i + 1) * cs) })),
    );
    expect(jobs.length).toBeGreaterThan(4);
    const verifier = new DecodeAheadVerifier(fsys);
    const results = await Promise.all(jobs.map((j) => verifier.verify(j)));
    expect(calls).toBe(jobs.length);
    expect(maxInFlight).toBe(4);
    expect(results).toEqual(jobs.map((j) => verifyDataJob(plain, j)));
  });
});

describe('damage decoded ahead is still reported by the read, located', () => {
  const base = fixtureBytes('zlib.qcow2');
  const header = readQcow2Header(new MemorySource(base));
  const cs = header.clusterSize;
  const be = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  /** Every compressed cluster: guest cluster number, where its data lies and how long it may be. */
  function compressedClusters(bytes: Uint8Array): { cluster: number; host: number; room: number }[] {
    const out = [];
    const x = 62n - BigInt(header.clusterBits - 8);
    for (let i = 0; i < header.l1Size; i++) {
      const l2 = be(bytes).getBigUint64(Number(header.l1TableOffset) + i * 8) & 0x00fffffffffffe00n;
      if (!l2) continue;
      for (let j = 0; j < cs / 8; j++) {
        const e = be(bytes).getBigUint64(Number(l2) + j * 8);
        if (!(e & (1n << 62n))) continue;
        const host = Number(e & ((1n << x) - 1n));
        const sectors = Number((e >> x) & ((1n << BigInt(header.clusterBits - 8)) - 1n)) + 1;
        out.push({ cluster: i * (cs / 8) + j, host, room: sectors * 512 - (host & 511) });
      }
    }
    return out;
  }
  const readAllOf = (src: ByteSource) => {
    for (let o = 0n; o < src.size; o += BigInt(MiB)) src.read(o, MiB);
  };

  test('a qcow2 cluster inflating beyond its size, and one of garbage: decodeAhead resolves, the read throws as the sync path does', async () => {
    for (const damage of ['bomb', 'garbage'] as const) {
      const b = base.slice();
      const victim = compressedClusters(b)[3]!;
      if (damage === 'bomb') b.set(deflateRawSync(new Uint8Array(cs * 4)), victim.host);
      else b.fill(0xff, victim.host, victim.host + victim.room);
      const c = counting();
      const ahead = qcow2Of(b, c.codecs);
      await expect(ahead.decodeAhead!([{ offset: 0n, length: Number(ahead.size) }])).resolves.toBeUndefined();
      let syncMessage = '';
      try {
        readAllOf(qcow2Of(b, nodeCodecs));
      } catch (e) {
        syncMessage = (e as Error).message;
      }
      expect(syncMessage).toMatch(new RegExp(`^zlib\\.qcow2: qcow2: compressed guest cluster ${victim.cluster}: deflate data (inflates beyond ${cs} bytes|is not valid)`));
      expect(() => readAllOf(ahead)).toThrow(syncMessage);
      // The damaged cluster was tried ahead, failed there, and was left to the read.
      expect(c.sync).toBe(1);
    }
  });

  test('a truncated qcow2: decodeAhead resolves, the reads past the cut fail as before', async () => {
    // Cut inside the clusters, which qemu-img wrote after the tables (as container-read-errors.test.ts does).
    const cut = base.slice(0, 370000);
    const src = qcow2Of(cut, nodeCodecs);
    await expect(src.decodeAhead!([{ offset: 0n, length: Number(src.size) }])).resolves.toBeUndefined();
    let syncMessage = '';
    try {
      readAllOf(qcow2Of(cut, nodeCodecs));
    } catch (e) {
      syncMessage = (e as Error).message;
    }
    // The cluster the cut goes through inflates short; the ones after it lie outside the file.
    expect(syncMessage).toMatch(/^zlib\.qcow2: qcow2: compressed guest cluster \d+: deflate data (inflates to \d+ bytes, not 65536|is not valid)/);
    expect(() => readAllOf(src)).toThrow(syncMessage);
  });

  describe('check --data decoding ahead (the concurrent path) over a qcow2 with a garbled data cluster', () => {
    let dir: string, image: string, victimLogical: bigint, garbled: Uint8Array;
    beforeAll(() => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-ahead-'));
      // The cluster holding the first data block of /dir/random.bin: its compressed bytes garbled.
      const b = base.slice();
      const fsys = Filesystem.open([qcow2Of(b, nodeCodecs)]);
      const csumRoot = fsys.globalRoots(ObjectId.CSUM_TREE)[0]!;
      const first = fsys.items(csumRoot, { objectid: ObjectId.EXTENT_CSUM, type: ItemType.EXTENT_CSUM, offset: 0n }).next().value!;
      victimLogical = first.block.keyOffsetField(first.slot);
      const physical = BigInt(fsys.volume.map(victimLogical)!.copies[0]!.physical);
      const victim = compressedClusters(b).find((x) => BigInt(x.cluster) === physical / BigInt(cs));
      expect(victim).toBeDefined();
      b.fill(0xff, victim!.host, victim!.host + victim!.room);
      garbled = b;
      image = path.join(dir, 'garbled.qcow2');
      fs.writeFileSync(image, b);
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    test('the same located findings as the synchronous check, with --jobs 1 (an inflate worker beside) and --jobs 2', async () => {
      const { async: _, ...syncOnly } = nodeCodecs;
      const sync = runCheck(Filesystem.open([new Qcow2Source(new MemorySource(garbled, image), { codecs: syncOnly })]), { data: true });
      const expected = sync.findings.filter((f) => f.code === 'data-unreadable').map((f) => [f.message, String(f.location.logical)]);
      expect(expected.length).toBeGreaterThan(0);
      expect(expected[0]![0]).toMatch(/compressed guest cluster \d+: deflate data is not valid/);
      expect(BigInt(expected[0]![1]!)).toBeLessThanOrEqual(victimLogical);
      // --jobs 1 decodes ahead whenever the machine has a second core; --jobs 2 when it has a third.
      expect(openByteSource(image).decodeAhead).toBeDefined();
      for (const jobs of ['1', '2']) {
        const r = await cli('check', image, '--data', '--jobs', jobs, '--json');
        expect(r.code).toBe(1);
        const doc = parseJsonExact(r.stdout) as { findings: { code: string; message: string; location: { logical?: string | number } }[] };
        expect(doc.findings.filter((f) => f.code === 'data-unreadable').map((f) => [f.message, String(f.location.logical)])).toEqual(expected);
      }
    });
  });
});
