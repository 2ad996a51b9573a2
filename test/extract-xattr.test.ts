import * as nodeFs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ExtractSummary } from '../src/cli/commands/extract.js';
import { loadXattrs } from '../src/node/extract/libc.js';
import { cli } from './helpers/cli.js';
import { filesTruth } from './helpers/fsTruth.js';
import { SAMPLES, sampleNames } from './helpers/samples.js';

/**
 * extract's xattrs against the kernel's truth of the demo image
 * (sample-images/default/truth/files.json, listed from a mount): set with
 * fsetxattr on files and directories and lsetxattr on a symlink (its own,
 * sample-images/fill.py gives /rich/symlink-relative trusted.on-symlink),
 * read back with lgetxattr; and, without the native part, one note and
 * every xattr listed as not restored.
 */

const calls = await loadXattrs();
const tmpRoot = nodeFs.mkdtempSync(join(tmpdir(), 'btrfs-inspect-xattr-'));
afterAll(() => nodeFs.rmSync(tmpRoot, { recursive: true, force: true }));
const image = join(SAMPLES, 'default', 'dev1.runs.gz');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe.runIf(sampleNames().includes('default'))('extract restores xattrs through the C library', () => {
  const withX = filesTruth('default').filter((t) => (t.path === 'rich' || t.path.startsWith('rich/')) && Object.keys(t.xattrs).length > 0);

  it.runIf(typeof calls !== 'string')("every xattr of /rich, a symlink's included, reads back as the kernel listed it", async () => {
    const out = join(tmpRoot, 'with');
    const r = await cli('extract', image, '/rich', '-o', out, '--json');
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as ExtractSummary;
    expect(withX.some((t) => t.type === 'symlink')).toBe(true);
    const x = calls as Exclude<typeof calls, string>;
    let checked = 0;
    for (const t of withX) {
      const p = Buffer.concat([Buffer.from(`${out}/`), Buffer.from(t.path_b64, 'base64')]);
      for (const [k, v] of Object.entries(t.xattrs)) {
        // Only root may set trusted.* (and security.* other than capabilities' own rules): listed with the kernel's refusal.
        const listed = s.xattrs.notRestored.find((n) => n.path === `/${t.path}` && n.name === k);
        if (!isRoot && listed) {
          expect(listed.reason, `${t.path} ${k}`).toMatch(/^EPERM/);
          continue;
        }
        expect(listed, `${t.path} ${k}`).toBeUndefined();
        expect(x.lget(p, Buffer.from(k))?.toString('base64'), `${t.path} ${k}`).toBe(v);
        checked++;
      }
    }
    expect(s.xattrs.restored).toBe(checked);
    if (isRoot) expect(x.lget(Buffer.from(`${out}/rich/symlink-relative`), Buffer.from('trusted.on-symlink'))?.toString()).toBe('symlink xattr');
  });

  it('without the native part: one note says why, and every xattr is listed as not restored', async () => {
    const { openSample } = await import('./helpers/samples.js');
    const { FsView } = await import('../src/fs/FsView.js');
    const { extractFiles } = await import('../src/node/extract/index.js');
    const view = new FsView(openSample('default'));
    const rich = view.resolve('/rich');
    if (!rich.ok) throw new Error(rich.error);
    const why = 'the optional koffi package is not available (test)';
    // Written into DIR itself: the summary's paths are then relative to /rich ("/" is /rich).
    const s = await extractFiles(view, { ref: rich.ref, inode: rich.inode, into: null }, join(tmpRoot, 'without'), { isRoot: false, xattr: why });
    expect(s.notes.filter((n) => n.includes('xattrs are not restored'))).toEqual([`xattrs are not restored: ${why}`]);
    const want = withX.flatMap((t) => Object.keys(t.xattrs).map((k) => `${t.path === 'rich' ? '/' : t.path.slice('rich'.length)}\u0000${k}`));
    expect(s.xattrs.notRestored.map((n) => `${n.path}\u0000${n.name}`).sort()).toEqual(want.sort());
    expect(s.xattrs.restored).toBe(0);
  });
});
