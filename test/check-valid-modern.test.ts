import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCheck } from '../src/analysis/check/index.js';
import { loadRunsImage } from '../src/io/node/runs.js';
import { Filesystem } from '../src/tree/Filesystem.js';
import { ROOT } from './helpers/samples.js';

/**
 * Valid filesystems made the ways image builders and crashes make them, by btrfs-progs
 * v6.19 (mkfs --rootdir with block-group tree, squota, raid-stripe tree, compression,
 * 64 KiB nodes, 16 KiB sectors, no free-space tree and no no-holes) and by the kernel
 * (quotas rescanned, simple quotas, an fsync'd log tree copied before the commit, a deleted
 * snapshot not yet dropped):
 * test/fixtures/valid-modern/build.sh. btrfs check v6.19 found no error in any of them
 * (NAME.check.txt); check must not either, and must not warn.
 */
const DIR = join(ROOT, 'test', 'fixtures', 'valid-modern');
const NAMES = readdirSync(DIR)
  .filter((f) => f.endsWith('.runs.gz'))
  .map((f) => f.slice(0, -'.runs.gz'.length))
  .sort();

/** A field of btrfs inspect-internal dump-super's output (NAME.super.txt), as a bigint. */
function superField(name: string, field: string): bigint {
  const line = readFileSync(join(DIR, `${name}.super.txt`), 'utf8')
    .split('\n')
    .find((l) => l.split(/\s+/)[0] === field);
  if (!line) throw new Error(`${name}.super.txt has no ${field}`);
  return BigInt(line.trim().split(/\s+/).at(-1)!);
}

describe('check is clean on valid images of newer btrfs-progs and the kernel', () => {
  it('the fixtures are all there', () => {
    expect(NAMES).toEqual([
      'log-tree-fsync',
      'quotas-rescan',
      'rootdir-64k',
      'rootdir-bgt-squota',
      'rootdir-default',
      'rootdir-nofst',
      'rootdir-rst',
      'rootdir-s16k',
      'rootdir-zstd',
      'snapshot-deleted',
      'squota-kernel',
    ]);
  });

  it.each(NAMES)(
    '%s',
    (name) => {
      // The truth: btrfs check v6.19 called it clean.
      expect(readFileSync(join(DIR, `${name}.check.txt`), 'utf8')).toMatch(/no error found/);
      const fs = Filesystem.open([loadRunsImage(join(DIR, `${name}.runs.gz`))]);
      // The image is the one dump-super described (its features were really made).
      expect(fs.superblock.incompatFlags).toBe(superField(name, 'incompat_flags'));
      expect(fs.superblock.compatRoFlags).toBe(superField(name, 'compat_ro_flags'));
      const r = runCheck(fs, { data: true });
      expect(r.findings.filter((f) => f.severity !== 'info').map((f) => `${f.code}: ${f.message}`)).toEqual([]);
      expect(r.summary.dataChecked).toBe(true);
      // The only note is the unreplayed log tree, where the superblock names one.
      const logRoot = superField(name, 'log_root');
      expect(r.findings.map((f) => f.code)).toEqual(logRoot ? ['log-tree'] : []);
      if (logRoot) expect(r.findings[0]!.location.logical).toBe(logRoot);
    },
    30_000,
  );
});
