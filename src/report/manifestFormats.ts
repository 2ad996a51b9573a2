import type { ContentDigests, DigestAlgorithm, ManifestEntry } from '../analysis/manifest.js';
import type { ManifestField, ManifestRecord } from '../analysis/manifestCompare.js';
import { fromBase64, pathBytes, utf8Bytes } from '../fs/names.js';
import { fileEntryJson, rdevParts, timeNs } from './fs.js';

/**
 * Content manifests as other tools write and read them: BSD mtree (mtree(5),
 * as libarchive's bsdtar writes it with full paths) and GNU sha256sum's
 * list. Both describe a file by a canonical key, the mtree form of its path
 * ("." for the start, "./etc/hostname" below it), so that a manifest from
 * either tool compares with what the image holds, byte for byte.
 */

export type { ManifestField, ManifestRecord } from '../analysis/manifestCompare.js';

const MTREE_TYPE: Record<string, string> = { file: 'file', dir: 'dir', symlink: 'link', chr: 'char', blk: 'block', fifo: 'fifo', sock: 'socket' };

/**
 * mtree's quoting of a name: every byte outside printable ASCII, and the
 * three that mtree's syntax uses ("#" comments, "=" keywords, "\" escapes),
 * as a backslash and three octal digits — the set bsdtar escapes.
 */
export function mtreeQuote(b: Uint8Array): string {
  // Built as bytes and decoded once: a string appended a character at a time is a rope of one
  // node per byte, and the manifest keeps every key until it sorts them (a 5,000-level tree's
  // keys took 900 MiB that way).
  const out = new Uint8Array(4 * b.length);
  let n = 0;
  for (const c of b) {
    if (c > 0x20 && c < 0x7f && c !== 0x23 && c !== 0x3d && c !== 0x5c) out[n++] = c;
    else {
      out[n++] = 0x5c;
      out[n++] = 0x30 + (c >> 6);
      out[n++] = 0x30 + ((c >> 3) & 7);
      out[n++] = 0x30 + (c & 7);
    }
  }
  return MTREE_ASCII.decode(out.subarray(0, n));
}

const MTREE_ASCII = new TextDecoder();

/** The mtree key of a path below the manifest's start. */
export function mtreeKey(path: readonly Uint8Array[]): string {
  return path.length === 0 ? '.' : './' + mtreeQuote(pathBytes(path));
}

/** mtree's time value: seconds, a dot, nine digits of nanoseconds. */
function mtreeTime(ns: bigint): string {
  const neg = ns < 0n;
  const a = neg ? -ns : ns;
  let sec = a / 1_000_000_000n;
  let nsec = a % 1_000_000_000n;
  // A negative time is seconds before the epoch plus a positive fraction, as struct timespec holds it.
  if (neg && nsec !== 0n) {
    sec += 1n;
    nsec = 1_000_000_000n - nsec;
  }
  return `${neg ? '-' : ''}${sec}.${nsec.toString().padStart(9, '0')}`;
}

/** The record of an entry read from the image (every field it has). */
export function entryRecord(e: ManifestEntry, withTimes = true): ManifestRecord {
  const f: ManifestRecord['fields'] = { type: MTREE_TYPE[e.type] ?? e.type };
  if (e.type !== 'missing') {
    f.mode = e.perm.toString(8);
    f.uid = String(e.uid);
    f.gid = String(e.gid);
    if (withTimes && !e.placeholder) f.time = mtreeTime(timeNs(e.mtime));
    if (e.type === 'file') f.size = String(e.size);
    if (e.type !== 'dir') f.nlink = String(e.nlink);
    if (e.link) f.link = mtreeQuote(e.link);
    if (e.digests?.md5 !== undefined) f.md5digest = e.digests.md5;
    if (e.digests?.sha1 !== undefined) f.sha1digest = e.digests.sha1;
    if (e.digests?.sha256 !== undefined) f.sha256digest = e.digests.sha256;
    if (e.type === 'chr' || e.type === 'blk') {
      const { major, minor } = rdevParts(e.rdev);
      f.device = `native,${major},${minor}`;
    }
  }
  return { key: mtreeKey(e.path), fields: f };
}

const MTREE_ORDER: ManifestField[] = ['type', 'mode', 'uid', 'gid', 'size', 'nlink', 'time', 'link', 'device', 'md5digest', 'sha1digest', 'sha256digest'];

/** One mtree line. nlink is written only where it says something (a hard-linked file), as bsdtar does. */
export function mtreeLine(r: ManifestRecord): string {
  const parts = [r.key];
  for (const k of MTREE_ORDER) {
    const v = r.fields[k];
    if (v === undefined || (k === 'nlink' && v === '1')) continue;
    parts.push(`${k}=${v}`);
  }
  return parts.join(' ');
}

/**
 * One line of sha256sum's list, as bytes (a name need not be UTF-8):
 * "HASH  ./path\n". sha256sum marks a line whose name holds a backslash or
 * a line break with a leading backslash and writes those as \\ and \n;
 * every other byte of the name is written as it is.
 */
export function sha256sumLine(digest: string, path: readonly Uint8Array[]): Uint8Array {
  const name = pathBytes([utf8Bytes('.'), ...path]);
  const escaped = name.some((b) => b === 0x5c || b === 0x0a || b === 0x0d);
  const out: number[] = [];
  if (escaped) out.push(0x5c);
  for (const b of utf8Bytes(`${digest}  `)) out.push(b);
  for (const b of name) {
    if (escaped && b === 0x5c) out.push(0x5c, 0x5c);
    else if (escaped && b === 0x0a) out.push(0x5c, 0x6e);
    else if (escaped && b === 0x0d) out.push(0x5c, 0x72);
    else out.push(b);
  }
  out.push(0x0a);
  return Uint8Array.from(out);
}

/**
 * The NDJSON record of an entry (docs/json.md, "manifest"): `key`, the mtree
 * path, then the file entry `ls` and `stat` write (fileEntryJson; the path is
 * from the manifest's start; without the fields that say when and where the
 * inode was written), then the digests.
 */
export function entryJsonRecord(e: ManifestEntry): Record<string, unknown> {
  return {
    record: 'entry',
    key: mtreeKey(e.path),
    ...fileEntryJson({ path: e.path, ref: e.ref, inode: e.inode ?? null, symlinkTarget: e.link ?? null, ...(e.xattrs ? { xattrs: e.xattrs } : {}) }, { stable: true }),
    ...(e.subvolumeRoot ? { subvolumeRoot: true } : {}),
    ...(e.placeholder ? { placeholder: true } : {}),
    ...(e.digests ?? {}),
    ...(e.contentError !== undefined ? { contentError: e.contentError } : {}),
  };
}

/** The header of a hashdeep file listing these columns (hashdeep 4's "size,md5,sha256,filename"). */
export function hashdeepHeader(algorithms: readonly DigestAlgorithm[], invocation: string): string {
  return ['%%%% HASHDEEP-1.0', `%%%% size,${algorithms.join(',')},filename`, `## Invoked from: btrfs-inspect`, `## $ ${invocation}`, '##'].join('\n');
}

/** One hashdeep line as bytes: size, each digest, and the name ("./path") as it is (hashdeep quotes nothing). */
export function hashdeepLine(size: bigint, digests: ContentDigests, algorithms: readonly DigestAlgorithm[], path: readonly Uint8Array[]): Uint8Array {
  const head = utf8Bytes(`${size},${algorithms.map((a) => digests[a] ?? '').join(',')},`);
  const name = pathBytes([utf8Bytes('.'), ...path]);
  const out = new Uint8Array(head.length + name.length + 1);
  out.set(head);
  out.set(name, head.length);
  out[out.length - 1] = 0x0a;
  return out;
}

// ------------------------------------------------------------------ reading

export interface ParsedManifest {
  format: 'mtree' | 'sha256sum' | 'hashdeep' | 'json';
  records: ManifestRecord[];
  /** 'files': the manifest lists regular files only (sha256sum), so directories and links are not extra. */
  scope: 'all' | 'files';
  /** Keywords the manifest uses that this tool does not compare (uname, rmd160digest, ...). */
  ignoredKeywords: string[];
  /** Lines that could not be read. */
  errors: { line: number; message: string }[];
}

/** Longest manifest line accepted (mtree continuation lines joined): a hostile file cannot make one line of gigabytes. */
const MAX_LINE = 1 << 20;

/** Reads a manifest, telling its format from its content: "#mtree" or keyword lines, sha256sum lines, or this tool's NDJSON. */
export function parseManifest(text: string): ParsedManifest {
  const first =
    text
      .slice(0, 4096)
      .split('\n')
      .find((l) => l.trim() !== '') ?? '';
  if (first.startsWith('{')) return parseJsonManifest(text);
  if (first.startsWith('%%%% HASHDEEP-')) return parseHashdeep(text);
  if (/^\\?[0-9a-fA-F]{64} [ *]/.test(first)) return parseSha256sum(text);
  return parseMtree(text);
}

const COMPARED = new Set<string>(MTREE_ORDER);
const KEYWORD_ALIASES: Record<string, ManifestField> = { sha256: 'sha256digest', md5: 'md5digest', sha1: 'sha1digest' };
const FLAG_KEYWORDS = new Set(['optional', 'ignore', 'nochange']);

function parseMtree(text: string): ParsedManifest {
  const records: ManifestRecord[] = [];
  const errors: ParsedManifest['errors'] = [];
  const ignored = new Set<string>();
  let defaults = new Map<string, string>();
  const cwd: string[] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n]!;
    const lineNo = n + 1;
    // A line ending in a backslash continues on the next one.
    while (line.endsWith('\\') && !line.endsWith('\\\\') && n + 1 < lines.length && line.length < MAX_LINE) line = line.slice(0, -1) + ' ' + lines[++n]!;
    if (line.length >= MAX_LINE) {
      errors.push({ line: lineNo, message: 'line too long' });
      continue;
    }
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;
    const words = t.split(/[ \t]+/);
    const head = words[0]!;
    if (head === '/set') {
      for (const w of words.slice(1)) {
        const eq = w.indexOf('=');
        if (eq > 0) defaults.set(w.slice(0, eq), w.slice(eq + 1));
        else defaults.set(w, '');
      }
      continue;
    }
    if (head === '/unset') {
      for (const w of words.slice(1)) {
        if (w === 'all') defaults = new Map();
        else defaults.delete(w);
      }
      continue;
    }
    if (head.startsWith('/')) {
      errors.push({ line: lineNo, message: `unknown special "${head}"` });
      continue;
    }
    let name: string;
    try {
      name = mtreeRequote(head);
    } catch (e) {
      errors.push({ line: lineNo, message: (e as Error).message });
      continue;
    }
    if (name === '..') {
      if (cwd.length === 0) errors.push({ line: lineNo, message: '".." above the start' });
      else cwd.pop();
      continue;
    }
    const kw = new Map(defaults);
    for (const w of words.slice(1)) {
      const eq = w.indexOf('=');
      if (eq > 0) kw.set(w.slice(0, eq), w.slice(eq + 1));
      else kw.set(w, '');
    }
    // A name with a slash is a full path from the start; one without is relative to the current directory.
    const full = name.includes('/');
    const comps = full ? name.split('/').filter((c) => c !== '' && c !== '.') : name === '.' ? [] : [...cwd, name];
    const key = comps.length === 0 ? '.' : './' + comps.join('/');
    const rec: ManifestRecord = { key, fields: {}, line: lineNo };
    for (const [k0, v] of kw) {
      const k: string = KEYWORD_ALIASES[k0] ?? k0;
      if (k === 'optional') rec.optional = true;
      else if (k === 'ignore') rec.ignoreBelow = true;
      else if (COMPARED.has(k)) rec.fields[k as ManifestField] = canonicalValue(k as ManifestField, v);
      else if (!FLAG_KEYWORDS.has(k)) ignored.add(k0);
    }
    records.push(rec);
    if (!full && name !== '.' && rec.fields.type === 'dir') cwd.push(name);
  }
  return { format: 'mtree', records, scope: 'all', ignoredKeywords: [...ignored].sort(), errors };
}

/** Values as this tool writes them: octal modes without leading zeros, nine-digit time fractions, requoted links. */
function canonicalValue(k: ManifestField, v: string): string {
  switch (k) {
    case 'mode':
      return /^[0-7]+$/.test(v) ? (parseInt(v, 8) & 0o7777).toString(8) : v;
    case 'time': {
      const m = /^(-?\d+)(?:\.(\d{1,9}))?$/.exec(v);
      return m ? `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}` : v;
    }
    case 'link':
      return mtreeRequote(v);
    case 'md5digest':
    case 'sha1digest':
    case 'sha256digest':
      return v.toLowerCase();
    case 'uid':
    case 'gid':
    case 'size':
    case 'nlink':
      return /^\d+$/.test(v) ? BigInt(v).toString() : v;
    default:
      return v;
  }
}

/** A name as written in a manifest (vis escapes of any style) in this tool's quoting. */
function mtreeRequote(s: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c !== '\\') {
      for (const b of utf8Bytes(c)) bytes.push(b);
      i++;
      continue;
    }
    const oct = /^[0-7]{3}/.exec(s.slice(i + 1, i + 4));
    if (oct) {
      bytes.push(parseInt(oct[0], 8) & 0xff);
      i += 4;
      continue;
    }
    const esc: Record<string, number> = { '\\': 0x5c, s: 0x20, t: 0x09, n: 0x0a, r: 0x0d, a: 0x07, b: 0x08, f: 0x0c, v: 0x0b, '0': 0 };
    const e = s[i + 1];
    if (e !== undefined && e in esc) {
      bytes.push(esc[e]!);
      i += 2;
      continue;
    }
    throw new Error(`unknown escape "\\${e ?? ''}" in "${s}"`);
  }
  return bytes.map((b) => (b > 0x20 && b < 0x7f && b !== 0x23 && b !== 0x3d && b !== 0x5c ? String.fromCharCode(b) : '\\' + b.toString(8).padStart(3, '0'))).join('');
}

function parseSha256sum(text: string): ParsedManifest {
  const records: ManifestRecord[] = [];
  const errors: ParsedManifest['errors'] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    if (line.trim() === '') continue;
    const m = /^(\\?)([0-9a-fA-F]{64}) [ *](.*)$/.exec(line);
    if (!m) {
      errors.push({ line: n + 1, message: 'not a sha256sum line' });
      continue;
    }
    let name = m[3]!;
    if (m[1]) name = name.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));
    const comps = name.split('/').filter((c) => c !== '' && c !== '.');
    // sha256sum writes the name's bytes as they are; the manifest text was decoded as UTF-8.
    const key = comps.length === 0 ? '.' : './' + mtreeQuote(utf8Bytes(comps.join('/')));
    records.push({ key, fields: { type: 'file', sha256digest: m[2]!.toLowerCase() }, line: n + 1 });
  }
  return { format: 'sha256sum', records, scope: 'files', ignoredKeywords: [], errors };
}

/**
 * hashdeep's file: "%%%%" lines give the columns (size, digests, filename),
 * "##" lines are comments, then one line per regular file. The name is the
 * rest of the line after the last digest column (it may hold commas).
 */
function parseHashdeep(text: string): ParsedManifest {
  const records: ManifestRecord[] = [];
  const errors: ParsedManifest['errors'] = [];
  const ignored = new Set<string>();
  let columns: string[] | null = null;
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.replace(/\r$/, '');
    if (line === '' || line.startsWith('##')) continue;
    if (line.startsWith('%%%%')) {
      const m = /^%%%% (size,.*,filename)$/.exec(line);
      if (m) columns = m[1]!.split(',');
      continue;
    }
    if (!columns) {
      errors.push({ line: n + 1, message: 'no "%%%% size,...,filename" header before it' });
      continue;
    }
    const parts = line.split(',');
    if (parts.length < columns.length) {
      errors.push({ line: n + 1, message: `${parts.length} fields, the header names ${columns.length}` });
      continue;
    }
    const name = parts.slice(columns.length - 1).join(',');
    const fields: ManifestRecord['fields'] = { type: 'file' };
    columns.slice(0, -1).forEach((c, i) => {
      const v = parts[i]!;
      if (c === 'size') fields.size = canonicalValue('size', v);
      else if (c === 'md5' || c === 'sha1' || c === 'sha256') fields[`${c}digest`] = v.toLowerCase();
      else ignored.add(c);
    });
    const comps = name.split('/').filter((c) => c !== '' && c !== '.');
    records.push({ key: comps.length === 0 ? '.' : './' + mtreeQuote(utf8Bytes(comps.join('/'))), fields, line: n + 1 });
  }
  return { format: 'hashdeep', records, scope: 'files', ignoredKeywords: [...ignored].sort(), errors };
}

function parseJsonManifest(text: string): ParsedManifest {
  const records: ManifestRecord[] = [];
  const errors: ParsedManifest['errors'] = [];
  const lines = text.split('\n');
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!.trim();
    if (line === '') continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      errors.push({ line: n + 1, message: 'not JSON' });
      continue;
    }
    if (o['record'] !== 'entry') continue;
    const key = typeof o['key'] === 'string' ? o['key'] : null;
    if (key === null) {
      errors.push({ line: n + 1, message: 'entry without "key"' });
      continue;
    }
    const fields: ManifestRecord['fields'] = {};
    const type = o['type'];
    if (typeof type === 'string') fields.type = MTREE_TYPE[type] ?? type;
    if (typeof o['mode'] === 'number') fields.mode = (o['mode'] & 0o7777).toString(8);
    for (const k of ['uid', 'gid', 'size', 'nlink'] as const) if (typeof o[k] === 'number' || typeof o[k] === 'string') fields[k] = String(o[k]);
    if (type !== 'file') delete fields.size;
    if (type === 'dir') delete fields.nlink;
    const ns = o['mtimeNs'];
    if (typeof ns === 'number' || typeof ns === 'string') fields.time = mtreeTime(BigInt(ns));
    if (typeof o['symlinkTargetBase64'] === 'string') fields.link = mtreeQuote(fromBase64(o['symlinkTargetBase64']));
    else if (typeof o['symlinkTarget'] === 'string') fields.link = mtreeQuote(utf8Bytes(o['symlinkTarget']));
    for (const a of ['md5', 'sha1', 'sha256'] as const) if (typeof o[a] === 'string') fields[`${a}digest`] = (o[a] as string).toLowerCase();
    // rdevMajor/rdevMinor (the file entry); an older manifest wrote rdev as { major, minor }.
    const rdev = o['rdev'] as { major?: unknown; minor?: unknown } | undefined;
    const major = o['rdevMajor'] ?? rdev?.major,
      minor = o['rdevMinor'] ?? rdev?.minor;
    if ((type === 'chr' || type === 'blk') && typeof major === 'number' && typeof minor === 'number') fields.device = `native,${major},${minor}`;
    records.push({ key, fields, line: n + 1 });
  }
  return { format: 'json', records, scope: 'all', ignoredKeywords: [], errors };
}
