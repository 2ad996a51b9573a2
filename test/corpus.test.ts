import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { NotBtrfsError } from '../src/volume/assemble.js';
import { CORPUS } from './helpers/samples.js';

interface CorpusEntry {
  image: string;
  description: string;
  expected: string;
  checkRc: string;
  errors: string;
}

function corpusEntries(): CorpusEntry[] {
  const manifest = join(CORPUS, 'progs', 'MANIFEST.tsv');
  if (!existsSync(manifest)) return [];
  return readFileSync(manifest, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => {
      const c = l.split('\t');
      return { image: c[0]!, description: c[2]!, expected: c[6]!, checkRc: c[7]!, errors: c[8] ?? '' };
    });
}

const entries = corpusEntries();

/**
 * btrfs-progs' own damaged and fuzzed images: opening and walking every
 * tree must never throw (except the one clear "not btrfs" error), never hang,
 * and what is wrong must come back as findings.
 */
describe.runIf(entries.length > 0)('btrfs-progs corpus: every tree of every image walks without a crash', () => {
  it.each(entries.map((e) => [e.image, e] as const))(
    '%s',
    (_name, e) => {
      const path = join(CORPUS, 'progs', `${e.image}.runs.gz`);
      const src = loadRunsImage(path);
      let fs: Filesystem;
      try {
        fs = Filesystem.open([src]);
      } catch (err) {
        // Only a clear, located "no valid superblock" is an acceptable refusal.
        expect(err).toBeInstanceOf(NotBtrfsError);
        expect((err as Error).message).toMatch(/no valid btrfs superblock \(copy 1 at 65536/);
        return;
      }
      const log = fs.logRootTree;
      for (const r of [fs.rootTree, fs.chunkTree, ...(log ? [log] : []), ...fs.roots(), ...fs.logTrees()]) {
        fs.walk(r, {}, { useDamaged: true });
      }
      for (const f of fs.findings.items) {
        expect(f.message.length).toBeGreaterThan(0);
        expect(typeof f.code).toBe('string');
      }
    },
    20_000,
  );
});

/** The metadata_uuid images are two 2-device filesystems, one of them caught in the middle of an fsid change. */
describe.runIf(entries.length > 0)('btrfs-progs corpus: multi-device assembly', () => {
  it.each([
    ['disk1', 'disk2'],
    ['disk3', 'disk4'],
  ])('%s + %s assemble into one filesystem with both devices', (a, b) => {
    const dir = join(CORPUS, 'progs', 'misc-tests', '034-metadata-uuid');
    const fs = Filesystem.open([loadRunsImage(join(dir, `${a}.runs.gz`)), loadRunsImage(join(dir, `${b}.runs.gz`))]);
    expect([...fs.volume.devices.values()].map((d) => [d.devid, d.source !== null])).toEqual([
      [1n, true],
      [2n, true],
    ]);
    const log = fs.logRootTree;
    for (const r of [fs.rootTree, fs.chunkTree, ...(log ? [log] : []), ...fs.roots()]) fs.walk(r, {});
    // One device of each pair is a transaction behind (the fsid change was interrupted): its stale
    // metadata copies are found, and every one of them has a good copy on the other device.
    expect(fs.findings.items.some((f) => f.code === 'device-generation')).toBe(true);
    const damage = fs.findings.items.filter((f) => f.severity === 'error');
    expect(damage.every((f) => f.code === 'transid-mismatch' && f.repairable === true)).toBe(true);
  });

  it('one device alone: the other is named missing (devid and uuid), and what can be read is read', () => {
    const dir = join(CORPUS, 'progs', 'misc-tests', '034-metadata-uuid');
    const fs = Filesystem.open([loadRunsImage(join(dir, 'disk2.runs.gz'))]);
    const missing = fs.findings.items.filter((f) => f.code === 'device-missing');
    expect(missing).toHaveLength(1);
    expect(missing[0]!.message).toMatch(/devid 1 uuid [0-9a-f-]{36} is missing/);
    expect(fs.roots().length).toBeGreaterThan(3);
  });
});
