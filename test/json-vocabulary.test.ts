import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { filesTruth } from './helpers/fsTruth.js';
import { ROOT, SAMPLES, sampleNames } from './helpers/samples.js';

/**
 * Every command's --json on the sample images, checked against docs/json.md:
 * the form the documents table gives (object or NDJSON), the version, the
 * names (subvol, tree, type, kind, root), the times (ISO + exact ns), and
 * --json-bigint=string (no numeral past 2^53; the same values as numbers).
 */

const DOC = readFileSync(join(ROOT, 'docs', 'json.md'), 'utf8');
const VERSION = 3;

/** The documents table: "`ls -R`" → NDJSON, "`stat`" → object. */
const FORMS = new Map(
  DOC.slice(DOC.indexOf('<!-- documents'), DOC.indexOf('<!-- end documents'))
    .split('\n')
    .map((l) => /^\| `([^`]+)` \| (object|NDJSON) \|/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [m[1]!, m[2]!]),
);

const FILE_TYPES = new Set(['file', 'dir', 'symlink', 'chr', 'blk', 'fifo', 'sock', 'unknown', 'missing']);
const BANNED = new Set(['id', 'ids', 'parentId', 'subvolId', 'subvolumeId', 'defaultSubvolume']);
const ISO9 = /^-?\d{4,6}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/;

const img = (name: string, n = 1) => join(SAMPLES, name, `dev${n}.runs.gz`);
const has = (n: string) => sampleNames().includes(n);

/** Exact ns of an ISO time with 9 fraction digits. */
function isoNs(s: string): bigint {
  const ms = Date.parse(s.slice(0, -11) + 'Z');
  return BigInt(ms / 1000) * 1_000_000_000n + BigInt(s.slice(-10, -1));
}

/** A JSON text with every integer numeral outside strings rewritten by `f` (a scanner: names and messages hold digits too). */
function mapNumerals(text: string, f: (numeral: string) => string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '-' || (c >= '0' && c <= '9')) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(text.slice(i, i + 64))![0];
      out += /^-?\d+$/.test(m) ? f(m) : m;
      i += m.length;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const BIG = '#exact-integer#';

/** Parses with every integer numeral kept exact (as a bigint). */
function parseExact(text: string): unknown {
  return JSON.parse(
    mapNumerals(text, (n) => `"${BIG}${n}"`),
    (_k, v: unknown) => (typeof v === 'string' && v.startsWith(BIG) ? BigInt(v.slice(BIG.length)) : v),
  );
}

/** Breaks of the vocabulary's rules in one parsed value, as "path: what". */
function breaks(v: unknown, path = '', out: string[] = []): string[] {
  if (Array.isArray(v)) {
    v.forEach((x, i) => breaks(x, `${path}[${i}]`, out));
    return out;
  }
  if (v === null || typeof v !== 'object') return out;
  const o = v as Record<string, unknown>;
  // Decoded tree items are the on-disk structure field by field (documented exception).
  const isTreeItem = o['record'] === 'item';
  for (const [k, x] of Object.entries(o)) {
    const at = `${path}.${k}`;
    if (isTreeItem && k === 'item') continue;
    if (BANNED.has(k)) out.push(`${at}: "${k}" is not in the vocabulary`);
    if (k === 'root' && !path.endsWith('.superblock')) out.push(`${at}: "root" outside a superblock`);
    if (k === 'kind' && typeof x === 'string' && FILE_TYPES.has(x)) out.push(`${at}: a file type is "type", not "kind"`);
    if (/^[acmorst]?time$/.test(k)) {
      const ns = o[`${k}Ns`];
      if (!(`${k}Ns` in o)) out.push(`${at}: no ${k}Ns beside it`);
      else if (x === null) {
        if (ns !== null) out.push(`${at}: null but ${k}Ns is not`);
      } else if (typeof x !== 'string') out.push(`${at}: not a string`);
      else if (ISO9.test(x)) {
        if (typeof ns !== 'bigint' || isoNs(x) !== ns) out.push(`${at}: ${x} is not ${String(ns)} ns`);
      } else if (!/^-?\d+\.\d{9}s \(invalid\)$/.test(x)) out.push(`${at}: "${x}" is neither ISO with 9 digits nor the invalid form`);
    }
    if (k.endsWith('Ns') && !(k.slice(0, -2) in o)) out.push(`${at}: no ${k.slice(0, -2)} beside it`);
    breaks(x, at, out);
  }
  return out;
}

/** Every integer numeral of a JSON text quoted: documents written in both u64 forms compare equal this way. */
const numeralsAsText = (s: string) => mapNumerals(s, (n) => `"${n}"`);

interface Case {
  doc: string;
  args: string[];
  when?: boolean;
}

describe('--json: one vocabulary (docs/json.md)', () => {
  const out = mkdtempSync(join(tmpdir(), 'json-vocab-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));
  const D = img('default');
  const random = filesTruth('default').find((t) => t.path === 'rich/random-2m.bin')!;
  const dataAddr = String(random.filefrag!.extents[0]!.physical);
  const cases: Case[] = [
    { doc: 'super', args: ['super', D] },
    { doc: 'chunks', args: ['chunks', D] },
    { doc: 'map', args: ['map', D, dataAddr] },
    { doc: 'map', args: ['map', img('raid1'), dataAddr, '--device', img('raid1', 2)], when: has('raid1') },
    { doc: 'tree', args: ['tree', D] },
    { doc: 'partitions', args: ['partitions', D] },
    { doc: 'partitions', args: ['partitions', img('partitioned-gpt')], when: has('partitioned-gpt') },
    { doc: 'image-info', args: ['image-info', D] },
    { doc: 'image-info', args: ['image-info', img('partitioned-gpt')], when: has('partitioned-gpt') },
    { doc: 'subvolumes', args: ['subvolumes', D] },
    { doc: 'ls', args: ['ls', D, '/rich'] },
    { doc: 'ls', args: ['ls', D, '/rich/times'] },
    { doc: 'ls -R', args: ['ls', D, '-R'] },
    { doc: 'stat', args: ['stat', D, '/rich/hardlink-a'] },
    { doc: 'stat', args: ['stat', D, '/rich/xattrs.txt', '/snapshots/snap-a-ro'] },
    { doc: 'stat', args: ['stat', img('vm-made/fsverity'), '/salted-70000', '/sha512-300000'] },
    { doc: 'extents', args: ['extents', D, '/rich/random-2m.reflink'] },
    { doc: 'extents', args: ['extents', D, '/rich/random-2m.bin', '/rich/tiny.txt'] },
    { doc: 'extract', args: ['extract', D, '/rich/times', '-o', join(out, 'x')] },
    { doc: 'resolve', args: ['resolve', D, '--inode', '5:276'] },
    { doc: 'resolve', args: ['resolve', D, '--logical', dataAddr] },
    { doc: 'roots', args: ['roots', D] },
    { doc: 'roots', args: ['roots', img('log-tree')], when: has('log-tree') },
    { doc: 'recover', args: ['recover', img('deleted')], when: has('deleted') },
    { doc: 'timeline', args: ['timeline', img('deleted')], when: has('deleted') },
    { doc: 'report', args: ['report', img('deleted'), '--no-hash'], when: has('deleted') },
    { doc: 'check', args: ['check', D] },
    { doc: 'sharing', args: ['sharing', D, '--matrix', '--free', '256'] },
    { doc: 'diff', args: ['diff', D, '/snapshots/snap-a-ro', '261'] },
    { doc: 'usage', args: ['usage', D] },
    { doc: 'manifest', args: ['manifest', D, '/rich'] },
    { doc: 'verify', args: ['verify', D, '--manifest', join(ROOT, 'test', 'fixtures', 'manifest', 'rootdir.mtree')] },
  ];

  it('the checker itself: the old names, a file type as kind, a time without its ns are caught', () => {
    const old = {
      defaultSubvolume: 5n,
      subvolumes: [{ id: 5n, ctime: '2026-11-21T15:57:21.416545631Z' }],
      files: [{ subvol: 5n, ino: 257n, kind: 'file', mtime: '2026-11-21T15:57:21.416545631Z', mtimeNs: 1795276641416545632n }],
      log: { root: 1n },
    };
    expect(breaks(old).sort()).toEqual([
      '.defaultSubvolume: "defaultSubvolume" is not in the vocabulary',
      '.files[0].kind: a file type is "type", not "kind"',
      '.files[0].mtime: 2026-11-21T15:57:21.416545631Z is not 1795276641416545632 ns',
      '.log.root: "root" outside a superblock',
      '.subvolumes[0].ctime: no ctimeNs beside it',
      '.subvolumes[0].id: "id" is not in the vocabulary',
    ]);
    expect(parseExact('{"a":18446744073709551615,"m":"[1, 2]","f":1.5}')).toEqual({ a: 18446744073709551615n, m: '[1, 2]', f: 1.5 });
  });

  it('the documents table names every command that has --json, and this test runs each', async () => {
    const help = (await cli('--help')).stdout;
    const commands = [...help.matchAll(/^ {2}([a-z-]+)(?:\|[a-z]+)? \[options\]/gm)].map((m) => m[1]!);
    expect(commands.length).toBeGreaterThan(15);
    const withJson: string[] = [];
    for (const c of commands) if ((await cli(c, '--help')).stdout.includes('--json ')) withJson.push(c);
    const documented = new Set([...FORMS.keys()].map((k) => k.split(' ')[0]));
    // cat and heatmap write bytes and pictures: they have no --json (and refuse one, see cli-options.test.ts).
    // serve runs until stopped: its one object (docs/json.md, below the table) is read by test/web.test.ts.
    expect(withJson.filter((c) => !documented.has(c)).sort()).toEqual(['serve']);
    expect(withJson).not.toContain('cat');
    expect(new Set(cases.map((c) => c.doc))).toEqual(new Set(FORMS.keys()));
  });

  for (const c of cases) {
    it.runIf(c.when ?? true)(
      `${c.args[0]} ${c.args
        .slice(2)
        .filter((a) => !a.startsWith('/work') && !a.includes('json-vocab'))
        .join(' ')}`,
      async () => {
        const form = FORMS.get(c.doc);
        expect(form, c.doc).toBeDefined();
        const extractTo = c.args.indexOf('-o');
        const args = (suffix: string) => (extractTo < 0 ? c.args : c.args.map((a, i) => (i === extractTo + 1 ? a + suffix : a)));
        const n = await cli(...args('-n'), '--json');
        expect(n.code, n.stderr).toBeLessThan(2);
        const docs = form === 'NDJSON' ? n.stdout.trimEnd().split('\n').map(parseExact) : [parseExact(n.stdout)];
        const first = docs[0] as Record<string, unknown>;
        if (form === 'NDJSON') {
          expect(first).toEqual({ record: 'header', version: BigInt(VERSION), command: c.args[0] });
          expect(docs.length).toBeGreaterThan(1);
          for (const d of docs) expect(typeof (d as Record<string, unknown>)['record']).toBe('string');
        } else {
          expect(n.stdout.trimEnd().split('\n').length).toBeGreaterThan(1);
          expect(Object.keys(first).slice(0, 2)).toEqual(['version', 'command']);
          expect(first).toMatchObject({ version: BigInt(VERSION), command: c.args[0] });
        }
        expect(docs.flatMap((d) => breaks(d))).toEqual([]);

        // --json-bigint=string: JSON.parse reads it without rounding, and it holds the same values.
        const s = await cli(...args('-s'), '--json', '--json-bigint=string');
        expect(s.code).toBe(n.code);
        const plain =
          form === 'NDJSON'
            ? s.stdout
                .trimEnd()
                .split('\n')
                .map((l) => JSON.parse(l) as unknown)
            : [JSON.parse(s.stdout) as unknown];
        const unsafe: string[] = [];
        const scan = (v: unknown, p: string) => {
          if (typeof v === 'number' && !Number.isSafeInteger(v) && Number.isInteger(v)) unsafe.push(`${p}=${v}`);
          if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) scan(x, `${p}.${k}`);
        };
        plain.forEach((d, i) => scan(d, `[${i}]`));
        expect(unsafe).toEqual([]);
        // u64 fields are strings whatever their value: an inode number, a subvolume id, a generation.
        const firstU64 = /"(ino|subvol|generation|bytenr|logical)": ?("?)\d/.exec(s.stdout);
        if (firstU64) expect(firstU64[2], firstU64[0]).toBe('"');
        const norm = (t: string) => numeralsAsText(t).replace(/"(output|elapsedMs|generated)":("[^"]*"|\d+)/g, '"$1":""');
        expect(norm(s.stdout.replace(/\s+/g, ''))).toBe(norm(n.stdout.replace(/\s+/g, '')));
      },
    );
  }
});
