/**
 * manifest and verify against other tools' view of the same content:
 * - test/fixtures/manifest: an image made by `mkfs.btrfs --rootdir` (as image builders make them)
 *   from a directory of which bsdtar wrote an mtree and sha256sum a list (build.sh);
 * - the demo image against the kernel's view of every file (sample-images/default/truth/files.json).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../src/report/manifestFormats.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { filesTruth } from './helpers/fsTruth.js';
import { SAMPLES } from './helpers/samples.js';

const DIR = join(import.meta.dirname, 'fixtures', 'manifest');
const IMAGE = join(DIR, 'rootdir.runs.gz');
const sarifSchema = JSON.parse(readFileSync(join(import.meta.dirname, 'fixtures', 'sarif', 'sarif-schema-2.1.0.json'), 'utf8'));
// ajv-draft-04 is CommonJS (module.exports = Ajv): loaded through require, typed as its default export.
const Ajv = createRequire(import.meta.url)('ajv-draft-04') as typeof import('ajv-draft-04').default;
const validateSarif = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(sarifSchema);
const tmp = mkdtempSync(join(tmpdir(), 'btrfs-manifest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('verify against manifests written by other tools', () => {
  it('a bsdtar mtree of the source directory matches the image made from it', async () => {
    const r = await cli('verify', IMAGE, '--manifest', join(DIR, 'rootdir.mtree'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('mtree manifest of 27 entries against 27 in the image: match\n');
    expect(r.code).toBe(0);
  });

  it("sha256sum's list of the source directory matches (directories and links are out of its scope)", async () => {
    const r = await cli('verify', IMAGE, '--manifest', join(DIR, 'rootdir.sha256'), '--json');
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ version: 3, command: 'verify', format: 'sha256sum', verdict: 'match', compared: 11, differences: [] });
    expect(r.code).toBe(0);
  });

  it('one file changed after the image was made: exactly its changed keywords are named, exit 1', async () => {
    const r = await cli('verify', IMAGE, '--manifest', join(DIR, 'changed.mtree'), '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    // The changed manifest (bsdtar, after build.sh rewrote etc/inline and chmod'ed it) says what it now holds.
    const changed = parseManifest(readFileSync(join(DIR, 'changed.mtree'), 'utf8')).records.find((x) => x.key === './etc/inline')!;
    const original = parseManifest(readFileSync(join(DIR, 'rootdir.mtree'), 'utf8')).records.find((x) => x.key === './etc/inline')!;
    expect(doc.verdict).toBe('differs');
    expect(doc.differences).toEqual(
      ['mode', 'size', 'sha256digest'].map((field) => ({
        difference: 'different',
        key: './etc/inline',
        line: changed.line,
        field,
        expected: changed.fields[field as 'mode'],
        found: original.fields[field as 'mode'],
      })),
    );
  });

  it('an entry the image lacks and one the manifest lacks are named as missing and extra', async () => {
    const lines = readFileSync(join(DIR, 'rootdir.mtree'), 'utf8').split('\n');
    const edited = lines.filter((l) => !l.startsWith('./var/fifo ')).concat(['./etc/not-there type=file mode=644']);
    const path = join(tmp, 'edited.mtree');
    writeFileSync(path, edited.join('\n'));
    const r = await cli('verify', IMAGE, '--manifest', path, '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    expect(doc.differences).toEqual([
      { difference: 'extra', key: './var/fifo', type: 'fifo' },
      { difference: 'missing', key: './etc/not-there', line: edited.length },
    ]);
  });

  it('--junit and --sarif carry every difference as a finding of the catalogue (manifest-missing, manifest-extra, manifest-different); SARIF schema-valid', async () => {
    const lines = readFileSync(join(DIR, 'changed.mtree'), 'utf8').split('\n');
    const edited = lines.filter((l) => !l.startsWith('./var/fifo ')).concat(['./etc/not-there type=file mode=644']);
    const path = join(tmp, 'edited-changed.mtree');
    writeFileSync(path, edited.join('\n'));
    const junit = join(tmp, 'verify.xml');
    const sarif = join(tmp, 'verify.sarif');
    const r = await cli('verify', IMAGE, '--manifest', path, '--junit', junit, '--sarif', sarif);
    expect(r.code).toBe(1);
    const doc = JSON.parse(readFileSync(sarif, 'utf8'));
    expect(validateSarif(doc), JSON.stringify(validateSarif.errors?.slice(0, 3))).toBe(true);
    const results = doc.runs[0].results.map((x: { ruleId: string; level: string; message: { text: string } }) => [x.ruleId, x.level, x.message.text]);
    const changed = parseManifest(readFileSync(join(DIR, 'changed.mtree'), 'utf8')).records.find((x) => x.key === './etc/inline')!;
    expect(results).toEqual([
      ...['mode', 'size', 'sha256digest'].map((f) => [
        'manifest-different',
        'error',
        expect.stringMatching(new RegExp(`^\\./etc/inline: ${f} .* in the image, ${changed.fields[f as 'mode']} in the manifest \\(manifest line ${changed.line}\\)$`)),
      ]),
      ['manifest-extra', 'error', './var/fifo: fifo in the image, not in the manifest'],
      ['manifest-missing', 'error', `./etc/not-there: in the manifest (manifest line ${edited.length}), not in the image`],
    ]);
    const x = readFileSync(junit, 'utf8');
    expect(x).toMatch(/^<\?xml version="1.0" encoding="UTF-8"\?>\n<testsuites name="btrfs-inspect verify" tests="2" failures="1" errors="0" *>\n/);
    expect(x).toContain('<failure message="5 finding(s): manifest-different, manifest-extra, manifest-missing" type="manifest-different">');
    expect(x).toContain('<testcase classname="' + IMAGE + '" name="policy" time="0"></testcase>');
  });

  it('reads the classic relative form of mtree(8) -c: /set defaults, names relative to the directory, ".."', async () => {
    const path = join(tmp, 'relative.mtree');
    writeFileSync(
      path,
      [
        '/set type=file uid=0 gid=0 mode=644',
        '. type=dir mode=755',
        'etc type=dir mode=755',
        '    hostname size=9 nlink=2',
        '    inline mode=600 size=14',
        '..',
        'dir\\040with\\040space type=dir mode=0755',
        '    back\\\\slash size=1',
        '    tab\\tname size=1',
        '..',
        'nothing optional',
      ].join('\n'),
    );
    const r = await cli('verify', IMAGE, '--manifest', path, '--json');
    const doc = JSON.parse(r.stdout);
    // Everything else in the image is extra; nothing named is missing or different (the optional entry may be absent).
    expect(doc.differences.filter((d: { difference: string }) => d.difference !== 'extra')).toEqual([]);
    expect(doc.extra).toBe(27 - 7);
  });

  it('a manifest it cannot read is a usage error naming the line', async () => {
    const path = join(tmp, 'bad.mtree');
    writeFileSync(path, '#mtree\n./a type=file\n./b\\q type=file\n');
    const r = await cli('verify', IMAGE, '--manifest', path);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('line 3');
  });
});

describe('manifest', () => {
  it('sha256sum form equals sha256sum run on the source directory', async () => {
    const r = await cli('manifest', IMAGE, '--format', 'sha256sum');
    expect(r.code).toBe(0);
    const sorted = (t: string) => t.trim().split('\n').sort();
    expect(sorted(r.stdout)).toEqual(sorted(readFileSync(join(DIR, 'rootdir.sha256'), 'utf8')));
  });

  it('hashdeep form lists the lines hashdeep -c md5,sha1,sha256 wrote for the source directory', async () => {
    const r = await cli('manifest', IMAGE, '--format', 'hashdeep', '--digests', 'sha256,md5,sha1');
    expect(r.code).toBe(0);
    const body = (t: string) =>
      t
        .split('\n')
        .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith('%%%%'))
        .sort();
    const theirs = readFileSync(join(DIR, 'rootdir.hashdeep'), 'utf8');
    expect(r.stdout.split('\n').slice(0, 2)).toEqual(theirs.split('\n').slice(0, 2));
    expect(body(r.stdout)).toEqual(body(theirs));
    const v = await cli('verify', IMAGE, '--manifest', join(DIR, 'rootdir.hashdeep'), '--json');
    expect(JSON.parse(v.stdout)).toMatchObject({ format: 'hashdeep', verdict: 'match', compared: 11 });
  });

  it("mtree form carries the same keywords and values as bsdtar's for every entry", async () => {
    const r = await cli('manifest', IMAGE, '--no-times');
    expect(r.code).toBe(0);
    const ours = new Map(parseManifest(r.stdout).records.map((x) => [x.key, x.fields]));
    const theirs = parseManifest(readFileSync(join(DIR, 'rootdir.mtree'), 'utf8')).records;
    expect([...ours.keys()].sort()).toEqual(theirs.map((x) => x.key).sort());
    for (const t of theirs) for (const [k, v] of Object.entries(t.fields)) expect(ours.get(t.key)?.[k as 'mode'], `${t.key} ${k}`).toBe(v);
  });

  it('of the kernel-made demo image: every file as the kernel showed it (type, mode, owner, size, nlink, mtime ns, link, xattrs, sha256)', async () => {
    const r = await cli('manifest', join(SAMPLES, 'default', 'dev1.runs.gz'), '--json');
    expect(r.code).toBe(0);
    const recs = r.stdout
      .trim()
      .split('\n')
      .map((l) => parseJsonExact(l) as Record<string, unknown>);
    expect(recs[0]).toMatchObject({ record: 'header', version: 3, command: 'manifest' });
    const byPath = new Map(recs.slice(1).map((x) => [x['path'] === '/' ? '.' : String(x['path']).slice(1), x]));
    const truth = filesTruth('default');
    expect(byPath.size).toBe(truth.length);
    for (const t of truth) {
      const o = byPath.get(t.path);
      expect(o, t.path).toBeDefined();
      expect({ type: o!['type'], mode: o!['mode'], uid: o!['uid'], gid: o!['gid'], nlink: o!['nlink'] }, t.path).toEqual({ type: t.type, mode: t.mode, uid: t.uid, gid: t.gid, nlink: t.nlink }); // st_mode, as ls and stat write it
      // The file entry ls and stat write: xattrs too, as the kernel lists them.
      if (o!['placeholder'] !== true)
        expect(Object.fromEntries(((o!['xattrs'] ?? []) as { name: string; valueBase64: string }[]).map((x) => [x.name, x.valueBase64])), `${t.path} xattrs`).toEqual(t.xattrs);
      // The kernel gives the empty directory standing in for a subvolume not linked in a snapshot the time of the lookup.
      if (o!['placeholder'] !== true) expect(String(o!['mtimeNs']), `${t.path} mtime`).toBe(t.mtime_ns);
      if (t.type === 'file') expect([String(o!['size']), o!['sha256']], t.path).toEqual([String(t.size), t.sha256]);
      if (t.symlink_target_b64 !== undefined)
        expect(Buffer.from(String(o!['symlinkTargetBase64'] ?? Buffer.from(String(o!['symlinkTarget'])).toString('base64')), 'base64').toString('base64')).toBe(t.symlink_target_b64);
    }
  });

  it('--max-hash-size: a larger file is named, gets no digest, and the run exits 1 (a hostile i_size cannot make it hash for ever)', async () => {
    const r = await cli('manifest', IMAGE, '--max-hash-size', '1K', '--format', 'sha256sum');
    expect(r.code).toBe(1);
    const big = parseManifest(readFileSync(join(DIR, 'rootdir.mtree'), 'utf8'))
      .records.filter((x) => x.fields.type === 'file' && BigInt(x.fields.size!) > 1024n)
      .map((x) => x.key.slice(1))
      .sort();
    expect(big.length).toBeGreaterThan(0);
    expect(
      r.stderr
        .trim()
        .split('\n')
        .map((l) => /^btrfs-inspect: (\S+): not hashed/.exec(l)?.[1])
        .sort(),
    ).toEqual(big);
    for (const b of big) expect(r.stdout).not.toContain(`.${b}\n`);
  });

  it('--no-content reads no data and gives no digests; sha256sum without content is refused', async () => {
    const r = await cli('manifest', IMAGE, '--no-content');
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('sha256digest');
    expect((await cli('manifest', IMAGE, '--no-content', '--format', 'sha256sum')).code).toBe(2);
    expect((await cli('manifest', IMAGE, '--format', 'cpio')).code).toBe(2);
  });
});

describe('verify: policy', () => {
  const DEMO = join(SAMPLES, 'default', 'dev1.runs.gz');

  it('world-writable and setuid files are those the kernel showed with such modes (truth files.json)', async () => {
    const r = await cli('verify', DEMO, '--deny', 'world-writable', '--deny', 'setuid', '--allow-setuid', '/rich/modes/setgid-2755', '--json');
    expect(r.code).toBe(1);
    const doc = JSON.parse(r.stdout);
    const got = (code: string) =>
      doc.policy
        .filter((v: { code: string }) => v.code === code)
        .map((v: { key: string }) => v.key)
        .sort();
    const truth = filesTruth('default');
    const perm = (t: { mode: number }) => t.mode & 0o7777;
    const key = (p: string) => (p === '.' ? '.' : `./${p}`);
    expect(got('policy-world-writable')).toEqual(
      truth
        .filter((t) => t.type !== 'symlink' && (perm(t) & 0o002) !== 0 && !(t.type === 'dir' && (perm(t) & 0o1000) !== 0))
        .map((t) => key(t.path))
        .sort(),
    );
    expect(got('policy-setuid')).toEqual(
      truth
        .filter((t) => t.type === 'file' && (perm(t) & 0o6000) !== 0 && t.path !== 'rich/modes/setgid-2755')
        .map((t) => key(t.path))
        .sort(),
    );
    expect(got('policy-setuid').length).toBeGreaterThan(0);
  });

  it('snapshots left in the image are those btrfs subvolume list shows with a parent uuid', async () => {
    const r = await cli('verify', DEMO, '--deny', 'snapshots', '--json');
    const doc = JSON.parse(r.stdout);
    const list = (JSON.parse(readFileSync(join(SAMPLES, 'default', 'truth', 'subvolumes.json'), 'utf8')) as { list: { id: number; parent_uuid: string | null }[] }).list;
    expect(doc.policy.map((v: { subvol: number }) => v.subvol).sort()).toEqual(
      list
        .filter((s) => s.parent_uuid !== null)
        .map((s) => s.id)
        .sort(),
    );
    expect(doc.policy.length).toBeGreaterThan(0);
    expect(new Set(doc.policy.map((v: { code: string }) => v.code))).toEqual(new Set(['policy-snapshot']));
    expect(r.code).toBe(1);
  });

  it('--min-free against btrfs filesystem usage\'s "Free (estimated)"', async () => {
    const usage = readFileSync(join(SAMPLES, 'default', 'truth', 'usage.txt'), 'utf8');
    const free = BigInt(/Free \(estimated\):\s+(\d+)/.exec(usage)![1]!);
    expect((await cli('verify', DEMO, '--min-free', String(free))).code).toBe(0);
    const short = await cli('verify', DEMO, '--min-free', String(free + 1n), '--json');
    expect(short.code).toBe(1);
    expect(JSON.parse(short.stdout).policy).toEqual([
      { code: 'policy-free-space', severity: 'error', message: `${free} bytes free (estimated, as "usage" says), less than the ${free + 1n} required` },
    ]);
  });

  it('--compressed all|none: the files with an extent FIEMAP showed without / with the "encoded" flag (compress sample, truth files.json)', async () => {
    const IMG = join(SAMPLES, 'compress', 'dev1.runs.gz');
    const truth = filesTruth('compress').filter((t) => t.type === 'file' && t.filefrag);
    const keys = (doc: { policy: { code: string; key: string }[] }) => {
      expect(new Set(doc.policy.map((v) => v.code))).toEqual(new Set(['policy-compression']));
      return doc.policy.map((v) => v.key).sort();
    };
    const where = (p: (flags: string[]) => boolean) =>
      truth
        .filter((t) => t.filefrag!.extents.some((x) => p(x.flags)))
        .map((t) => `./${t.path}`)
        .sort();
    const all = await cli('verify', IMG, '--compressed', 'all', '--json');
    const none = await cli('verify', IMG, '--compressed', 'none', '--json');
    const uncompressed = where((f) => !f.includes('encoded'));
    const compressed = where((f) => f.includes('encoded'));
    // The sample holds both kinds, and files with both (mixed.bin: compressible and random parts).
    expect(uncompressed.length).toBeGreaterThan(5);
    expect(compressed.length).toBeGreaterThan(20);
    expect(uncompressed.filter((k) => compressed.includes(k)).length).toBeGreaterThan(0);
    expect(keys(JSON.parse(all.stdout))).toEqual(uncompressed);
    expect(keys(JSON.parse(none.stdout))).toEqual(compressed);
    expect([all.code, none.code]).toEqual([1, 1]);
    expect((await cli('verify', IMG, '--compressed', 'some')).code).toBe(2);
  });

  it('nothing to verify, an unknown rule, or exceptions without the rule are usage errors', async () => {
    expect((await cli('verify', DEMO)).code).toBe(2);
    expect((await cli('verify', DEMO, '--deny', 'sockets')).code).toBe(2);
    expect((await cli('verify', DEMO, '--allow-setuid', '/x')).code).toBe(2);
  });
});
