import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, parseJsonExact } from './helpers/cli.js';
import { filesTruth } from './helpers/fsTruth.js';
import { SAMPLES } from './helpers/samples.js';

const DEMO = join(SAMPLES, 'default', 'dev1.runs.gz');
const NOTE = /No image given: using the bundled demo image sample-images\/default/;
const TYPO = '/evidence/typo.img';

/** Names of the entries directly in `dir` (relative, "" for the top), as the kernel listed them. */
function truthNames(dir: string): string[] {
  return filesTruth('default')
    .filter((e) => e.path !== '.' && e.path.slice(0, e.path.lastIndexOf('/') + 1) === (dir ? `${dir}/` : ''))
    .map((e) => e.path.slice(e.path.lastIndexOf('/') + 1))
    .sort();
}

const lsNames = (stdout: string) => (parseJsonExact(stdout) as { entries: { name: string }[] }).entries.map((e) => e.name).sort();

describe('the CLI never guesses the image', () => {
  it('a first positional that is not a file is the missing image: exit 2, its name, a hint at --demo, nothing read', async () => {
    for (const args of [
      ['ls', TYPO],
      ['stat', TYPO],
      ['cat', TYPO],
      ['extents', TYPO],
      ['extract', TYPO, '-o', '/nonexistent-out'],
      ['map', '30408704'],
      ['super', TYPO],
      ['partitions', TYPO],
    ]) {
      const r = await cli(...args);
      expect(r.code, args.join(' ')).toBe(2);
      const [first, hint] = r.stderr.split('\n');
      expect(first, args.join(' ')).toBe(`btrfs-inspect: ${args[1]}: no such file or device`);
      expect(hint).toMatch(/--demo/);
      expect(r.stderr).not.toMatch(NOTE);
      expect(r.stdout).toBe('');
    }
  });

  it('no positional at all: the demo image, said on stderr', async () => {
    const r = await cli('ls', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(NOTE);
    expect(lsNames(r.stdout)).toEqual(truthNames(''));
  });

  it('--demo: every positional is an argument, and nothing is said', async () => {
    const ls = await cli('ls', '--demo', '/subvol-a', '--json');
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stderr).toBe('');
    expect(lsNames(ls.stdout)).toEqual(truthNames('subvol-a'));
    expect(truthNames('subvol-a').length).toBeGreaterThan(1);

    const file = filesTruth('default').find((e) => e.path === 'rich/random-2m.bin')!;
    const cat = await cli('cat', '--demo', '/rich/random-2m.bin');
    expect(cat.code, cat.stderr).toBe(0);
    expect(createHash('sha256').update(cat.stdoutBytes).digest('hex')).toBe(file.sha256);

    const viaDemo = await cli('map', '--demo', '30408704', '--json');
    const viaPath = await cli('map', DEMO, '30408704', '--json');
    expect(viaDemo.code).toBe(0);
    expect(viaDemo.stdout).toBe(viaPath.stdout);
  });

  it('--demo with an image too is one positional too many', async () => {
    const r = await cli('ls', '--demo', DEMO, '/subvol-a');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/too many arguments/);
  });
});
