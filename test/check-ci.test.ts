/**
 * check for CI: several images in one run (devices of one filesystem grouped by fsid), --fail-on,
 * --ignore and --config, JUnit and SARIF files, GitHub annotations. The damaged image is a recipe
 * (test/helpers/damagedCheck.ts) written to a file: its findings are the damage made.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { cli } from './helpers/cli.js';
import { recipes } from './helpers/damagedCheck.js';
import { writeSparse } from './helpers/fsTruth.js';
import { SAMPLES, truthJson } from './helpers/samples.js';

const tmp = mkdtempSync(join(tmpdir(), 'check-ci-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => {
  vi.unstubAllEnvs();
});

const img = (name: string, n = 1) => join(SAMPLES, name, `dev${n}.runs.gz`);
const damaged = join(tmp, 'damaged.img');
const recipe = recipes().find((r) => r.name === 'both DUP copies of an fs leaf corrupted')!;
writeSparse(recipe.sources[0]!, damaged);

describe('check: several images', () => {
  it('groups the devices of a multi-device filesystem by fsid, checks each filesystem, exits with the worst verdict', async () => {
    const r = await cli('check', img('default'), img('raid1', 2), damaged, img('raid1', 1), join(tmp, 'missing.img'), '--json');
    expect(r.code).toBe(2);
    const recs = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(recs[0]).toEqual({ record: 'header', version: 3, command: 'check' });
    const images = recs.filter((x) => x.record === 'image');
    // raid1's two devices (given in reverse, apart) are one filesystem; its devid 1 is the IMAGE (truth: manifest.json).
    const raid1 = truthJson<{ devices: { file: string; devid: number }[] }>('raid1', 'manifest.json').devices;
    expect(raid1.map((d) => [d.file, d.devid])).toEqual([
      ['dev1.runs.gz', 1],
      ['dev2.runs.gz', 2],
    ]);
    expect(images.map((x) => [x.image, x.devices, x.verdict])).toEqual([
      [img('default'), [], 'clean'],
      [img('raid1', 1), [img('raid1', 2)], 'clean'],
      [damaged, [], 'damaged'],
      [join(tmp, 'missing.img'), [], 'unreadable'],
    ]);
    const codes = images[2].findings
      .filter((f: { severity: string }) => f.severity === 'error')
      .map((f: { code: string; location: { logical: number; copy: number } }) => [f.code, BigInt(f.location.logical), f.location.copy]);
    expect(codes).toEqual(recipe.expected.map((e) => [e.code, e.logical, e.copy! + 1]));
    expect(recs.at(-1)).toEqual({ record: 'total', images: 4, clean: 2, damaged: 1, unreadable: 1, failOn: 'error', exitCode: 2 });
  });

  it('--from reads a list; text has a line per filesystem and the totals', async () => {
    const list = join(tmp, 'list.txt');
    writeFileSync(list, `# images\n${img('default')}\n\n${damaged}\n`);
    const r = await cli('check', '--from', list);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe(`${img('default')}: clean (0 warning(s), 4 note(s))`);
    expect(lines[1]).toMatch(new RegExp(`^${damaged.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: DAMAGED: ${recipe.expected.length} error\\(s\\)`));
    expect(lines.at(-1)).toBe('2 filesystems: 1 clean, 1 damaged, 0 could not be checked');
  });

  it('--jobs 2 checks the filesystems on two image workers: the same records, verdicts and exit code as one after another, in the order given', async () => {
    const args = [img('compress'), damaged, img('raid1', 2), join(tmp, 'missing.img'), img('default'), img('raid1', 1), '--json'];
    const one = await cli('check', ...args, '--jobs', '1');
    const two = await cli('check', ...args, '--jobs', '2');
    expect(two.code).toBe(2);
    expect(two.code).toBe(one.code);
    // Everything but the time each check took.
    const untimed = (t: string) => t.replace(/"elapsedMs":\d+/g, '"elapsedMs":0');
    expect(untimed(two.stdout)).toBe(untimed(one.stdout));
    const images = two.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((x) => x.record === 'image');
    expect(images.map((x) => [x.image, x.verdict])).toEqual([
      [img('compress'), 'clean'],
      [damaged, 'damaged'],
      [img('raid1', 1), 'clean'],
      [join(tmp, 'missing.img'), 'unreadable'],
      [img('default'), 'clean'],
    ]);
  });

  it('--jobs without --data is refused for one IMAGE (it means the data workers there)', async () => {
    const r = await cli('check', img('default'), '--jobs', '2');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--jobs goes with --data/);
  });

  it('--device with several images is a usage error', async () => {
    expect((await cli('check', img('default'), img('compress'), '--device', img('raid1', 2))).code).toBe(2);
  });
});

describe('check: what fails a run', () => {
  it('--fail-on info fails on the notes; --ignore accepts them (listed with the reason, not failing)', async () => {
    const notes = await cli('check', img('default'), '--json', '--fail-on', 'info');
    expect(notes.code).toBe(1);
    const doc = JSON.parse(notes.stdout);
    expect(doc).toMatchObject({ verdict: 'damaged', failOn: 'info' });
    const codes = [...new Set(doc.findings.map((f: { code: string }) => f.code))];
    const ok = await cli('check', img('default'), '--json', '--fail-on', 'info', '--ignore', codes.join(','));
    expect(ok.code).toBe(0);
    const okDoc = JSON.parse(ok.stdout);
    expect(okDoc.verdict).toBe('clean');
    expect(okDoc.findings.every((f: { accepted?: string }) => f.accepted === 'given as --ignore')).toBe(true);
  });

  it('a config file accepts a code for matching images only, with its reason; an unknown code or a missing reason is refused', async () => {
    const cfg = join(tmp, 'accept.json');
    writeFileSync(cfg, JSON.stringify({ ignore: [{ code: 'tree-block-csum', reason: 'known bad leaf in the fixture', images: ['damaged.*'] }] }));
    const r = await cli('check', damaged, '--config', cfg, '--json');
    const doc = JSON.parse(r.stdout);
    const csum = doc.findings.filter((f: { code: string }) => f.code === 'tree-block-csum');
    expect(csum.length).toBeGreaterThan(0);
    expect(csum.every((f: { accepted?: string }) => f.accepted === 'known bad leaf in the fixture')).toBe(true);
    expect(r.code).toBe(doc.findings.some((f: { severity: string; accepted?: string }) => f.severity === 'error' && !f.accepted) ? 1 : 0);
    writeFileSync(cfg, JSON.stringify({ ignore: [{ code: 'no-such-code', reason: 'x' }] }));
    expect((await cli('check', damaged, '--config', cfg)).code).toBe(2);
    writeFileSync(cfg, JSON.stringify({ ignore: [{ code: 'tree-block-csum' }] }));
    expect((await cli('check', damaged, '--config', cfg)).stderr).toContain('give the reason');
    expect((await cli('check', damaged, '--ignore', 'tree-block-cs')).code).toBe(2);
  });
});

describe('check: CI report files', () => {
  it('--junit and --sarif describe the same findings as --json; GitHub annotations when GITHUB_ACTIONS is set', async () => {
    const junit = join(tmp, 'r.xml');
    const sarif = join(tmp, 'r.sarif');
    vi.stubEnv('GITHUB_ACTIONS', 'true');
    const text = await cli('check', damaged, '--junit', junit, '--sarif', sarif);
    vi.unstubAllEnvs();
    const json = JSON.parse((await cli('check', damaged, '--json')).stdout);
    const errors = json.findings.filter((f: { severity: string }) => f.severity === 'error');
    expect(text.code).toBe(1);
    expect(text.stdout.split('\n').filter((l) => l.startsWith('::error '))).toHaveLength(errors.length);
    const s = JSON.parse(readFileSync(sarif, 'utf8'));
    expect(s.version).toBe('2.1.0');
    expect(s.runs[0].results.filter((x: { level: string }) => x.level === 'error').map((x: { ruleId: string; message: { text: string } }) => [x.ruleId, x.message.text])).toEqual(
      errors.map((f: { code: string; message: string }) => [f.code, f.message]),
    );
    const x = readFileSync(junit, 'utf8');
    expect(x).toMatch(/<testsuites name="btrfs-inspect check" tests="\d+" failures="[1-9]\d*" errors="0" *>/);
    for (const f of errors) expect(x).toContain(f.code);
  });

  it('one IMAGE that cannot be read: exit 2, and the report files are closed whole with it as an errored case', async () => {
    const junit = join(tmp, 'gone.xml');
    const sarif = join(tmp, 'gone.sarif');
    const gone = join(tmp, 'gone.img');
    const r = await cli('check', gone, '--junit', junit, '--sarif', sarif);
    expect(r.code).toBe(2);
    expect(readFileSync(junit, 'utf8')).toMatch(
      /<testsuites name="btrfs-inspect check" tests="1" failures="0" errors="1" *>[\s\S]*<error message="[^"]*gone\.img[^"]*" type="unreadable"\/>[\s\S]*<\/testsuites>\n$/,
    );
    const s = JSON.parse(readFileSync(sarif, 'utf8'));
    expect(s.runs[0].results.map((x: { ruleId: string; level: string }) => [x.ruleId, x.level])).toEqual([['unreadable', 'error']]);
  });
});
