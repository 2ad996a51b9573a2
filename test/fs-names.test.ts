import { describe, expect, it } from 'vitest';
import { toHex } from '../src/format/bytes.js';
import { ItemType } from '../src/format/constants.js';
import { decodeDirItem } from '../src/format/items/dir.js';
import { FsView } from '../src/fs/FsView.js';
import { bodyfilePath, bodyfileText, displayName, displayPath, displayText, jsonPath, jsonText, nameHash, parsePath, toBase64, unsafeNameReason, utf8Bytes } from '../src/fs/names.js';
import { parseInodeSpec, selectSubvolume } from '../src/fs/select.js';
import { formatTime, lineageLines, modeString } from '../src/report/fs.js';
import { openSample, sampleNames } from './helpers/samples.js';

describe('names', () => {
  it('nameHash is the key offset of every DIR_ITEM and XATTR_ITEM of a sample', () => {
    if (!sampleNames().includes('default')) return;
    const fs = openSample('default');
    let n = 0;
    for (const { block, slot } of fs.items(fs.treeRoot(5n)!)) {
      const k = block.key(slot);
      if (k.type !== ItemType.DIR_ITEM && k.type !== ItemType.XATTR_ITEM) continue;
      const d = decodeDirItem(k, block.itemData(slot));
      if (d.kind === 'invalid') throw new Error(d.reason);
      for (const e of d.entries) {
        expect(nameHash(e.name)).toBe(k.offset);
        n++;
      }
    }
    expect(n).toBeGreaterThan(50);
  });

  it('unsafe names: "/", NUL, ".", "..", empty, longer than 255 bytes', () => {
    expect(unsafeNameReason(utf8Bytes('ok name'))).toBeNull();
    expect(unsafeNameReason(new Uint8Array(255).fill(0x61))).toBeNull();
    expect(unsafeNameReason(new Uint8Array(256).fill(0x61))).toMatch(/256 bytes, longer than 255/);
    expect(unsafeNameReason(utf8Bytes('a/b'))).toMatch(/"\/"/);
    expect(unsafeNameReason(Uint8Array.from([0x61, 0]))).toMatch(/NUL/);
    expect(unsafeNameReason(utf8Bytes('.'))).toMatch(/"\."/);
    expect(unsafeNameReason(utf8Bytes('..'))).toMatch(/"\.\."/);
    expect(unsafeNameReason(new Uint8Array(0))).toMatch(/empty/);
    expect(unsafeNameReason(utf8Bytes('...'))).toBeNull();
  });

  it('one rule: printable UTF-8 as is; invalid UTF-8, controls (C0, DEL, C1) and the backslash as \\xNN for people; "/" only inside a path component', () => {
    expect(displayName(Uint8Array.from([0x63, 0x61, 0x66, 0xe9]))).toBe('caf\\xe9');
    expect(displayName(utf8Bytes('日本語 ☃ 😀'))).toBe('日本語 ☃ 😀');
    expect(displayName(utf8Bytes('a/b'))).toBe('a\\x2fb');
    expect(displayText(utf8Bytes('/etc/hostname'))).toBe('/etc/hostname');
    expect(displayText(utf8Bytes('new\nline\\'))).toBe('new\\x0aline\\x5c');
    expect(displayText(utf8Bytes('esc\u009b[2J'))).toBe('esc\\xc2\\x9b[2J'); // C1 CSI: a terminal would act on it
    expect(displayText(utf8Bytes('\u00a0é'))).toBe('\u00a0é'); // U+00A0 (also c2 xx) is printable
    expect(displayName(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80'); // a UTF-16 surrogate is not UTF-8
    expect(displayPath([])).toBe('/');
    expect(displayPath([utf8Bytes('a'), utf8Bytes('b|c\\')])).toBe('/a/b|c\\x5c');
  });

  it('bidirectional controls (U+202E and kin) are escaped for people and body files, kept in JSON; other 3-byte characters are not', () => {
    for (const cp of [0x200e, 0x200f, 0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069]) {
      const bytes = utf8Bytes(`a${String.fromCodePoint(cp)}b`);
      const hex = [...bytes.subarray(1, 4)].map((x) => `\\x${x.toString(16)}`).join('');
      expect(displayText(bytes), cp.toString(16)).toBe(`a${hex}b`);
      expect(bodyfileText(bytes)).toBe(`a${hex}b`);
      expect(jsonText(bytes)).toEqual({ text: `a${String.fromCodePoint(cp)}b`, exact: true });
      expect(parsePath(displayText(bytes), { escapes: true })).toEqual([bytes]);
    }
    for (const ch of ['\u2010', '\u2029', '\u2070', '\u20ac']) expect(displayText(utf8Bytes(ch))).toBe(ch);
  });

  it('JSON form: only bytes that are not UTF-8 escaped, and exact says when the text is the bytes', () => {
    expect(jsonText(utf8Bytes('new\nline\\'))).toEqual({ text: 'new\nline\\', exact: true });
    expect(jsonText(utf8Bytes('../a/b'))).toEqual({ text: '../a/b', exact: true });
    expect(jsonText(utf8Bytes('a/b'), true)).toEqual({ text: 'a\\x2fb', exact: false });
    expect(jsonText(Uint8Array.from([0x61, 0xff]))).toEqual({ text: 'a\\xff', exact: false });
    expect(jsonPath([utf8Bytes('x'), Uint8Array.from([0xff])])).toEqual({ text: '/x/\\xff', exact: false });
  });

  it('body-file form (TSK): backslash as is, "|" and controls escaped, "/" kept in targets', () => {
    expect(bodyfileText(utf8Bytes('C:\\dir|x\ty/z'))).toBe('C:\\dir\\x7cx\\x09y/z');
    expect(bodyfilePath([utf8Bytes('a|b'), Uint8Array.from([0x2f, 0xfe])])).toBe('/a\\x7cb/\\x2f\\xfe');
  });

  it('every escape reads back to the same bytes', () => {
    const hostile = Uint8Array.from([0x61, 0x5c, 0x78, 0x34, 0x31, 0x0a, 0xc2, 0x85, 0xff, 0x7f, 0xe2, 0x98, 0x83]);
    expect(Array.from(parsePath(displayName(hostile), { escapes: true })[0]!)).toEqual(Array.from(hostile));
  });

  it('parsePath: "." and empty dropped, ".." kept, \\xNN escapes for bytes', () => {
    expect(parsePath('/a//./b/../c').map((c) => Buffer.from(c).toString())).toEqual(['a', 'b', '..', 'c']);
    expect(Array.from(parsePath('caf\\xe9', { escapes: true })[0]!)).toEqual([0x63, 0x61, 0x66, 0xe9]);
  });

  it('base64 without Buffer', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 255, 256, 64_000, 64_001]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
      // Hex, short (the per-byte loop) and long (built as bytes), as Node's Buffer writes it.
      expect(toHex(b)).toBe(Buffer.from(b).toString('hex'));
    }
  });

  it('escaped text built as bytes: every byte value, and a path 5,000 components deep', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const expected = [...all].map((c) => (c < 0x20 || c === 0x7f || c === 0x5c || c >= 0x80 ? `\\x${c.toString(16).padStart(2, '0')}` : String.fromCharCode(c))).join('');
    expect(displayText(all)).toBe(expected);
    // Valid UTF-8 is kept; C1 controls and bidi overrides are escaped.
    expect(displayText(utf8Bytes('café \u202e x \u0085'))).toBe('café \\xe2\\x80\\xae x \\xc2\\x85');
    const deep = Array.from({ length: 5000 }, () => utf8Bytes('d'));
    expect(displayPath(deep)).toBe(`/${Array(5000).fill('d').join('/')}`);
  });

  it('inode specs and --subvol', () => {
    expect(parseInodeSpec('257:258', 5n)).toEqual({ subvol: 257n, ino: 258n });
    expect(parseInodeSpec('258', 7n)).toEqual({ subvol: 7n, ino: 258n });
    expect(parseInodeSpec('x:1', 5n)).toBeNull();
    if (!sampleNames().includes('default')) return;
    const view = new FsView(openSample('default'));
    expect(selectSubvolume(view, '/subvol-a/nested')).toMatchObject({ ok: true, root: { subvol: 257n, ino: 256n } });
    expect(selectSubvolume(view, '/rich')).toMatchObject({ ok: false });
    expect(selectSubvolume(view, '999')).toMatchObject({ ok: false });
    // A name that is not UTF-8, typed with \xNN.
    const r = view.resolve('/rich/names/latin1-caf\\xe9-\\xff\\xfe.bin');
    expect(r.ok).toBe(true);
  });

  it('modes and times', () => {
    expect(modeString(0o104755)).toBe('-rwsr-xr-x');
    expect(modeString(0o041777)).toBe('drwxrwxrwt');
    expect(modeString(0o020600)).toBe('crw-------');
    expect(formatTime({ sec: 0n, nsec: 1 })).toBe('1970-01-01T00:00:00.000000001Z');
    expect(formatTime({ sec: -1n, nsec: 500000000 })).toBe('1969-12-31T23:59:59.500000000Z');
    expect(formatTime({ sec: 1n << 62n, nsec: 0 })).toMatch(/invalid/);
    expect(formatTime({ sec: 0n, nsec: 2_000_000_000 })).toMatch(/invalid/);
  });

  it('lineage: a parent uuid cycle or a missing parent does not loop or vanish', () => {
    const mk = (id: bigint, uuid: string, parentUuid: string | null, snapshotOf: bigint | null) =>
      ({
        id,
        path: [utf8Bytes(`s${id}`)],
        uuid,
        parentUuid,
        snapshotOf,
        readOnly: false,
        deleted: false,
        receivedUuid: null,
        item: { v2Valid: true },
      }) as unknown as Parameters<typeof lineageLines>[0][number];
    const lines = lineageLines([mk(256n, 'a', 'b', 257n), mk(257n, 'b', 'a', 256n), mk(258n, 'c', 'zz', null)]);
    expect(lines.join('\n')).toMatch(/256 \/s256/);
    expect(lines.join('\n')).toMatch(/257 \/s257/);
    expect(lines.join('\n')).toMatch(/\(parent zz, not present\)\n└── 258 \/s258/);
  });
});
