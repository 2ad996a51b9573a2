import { describe, expect, it } from 'vitest';
import { ItemType } from '../src/format/constants.js';
import { decodeDirItem } from '../src/format/items/dir.js';
import { FsView } from '../src/fs/FsView.js';
import { displayName, displayPath, nameHash, parsePath, toBase64, unsafeNameReason, utf8Bytes } from '../src/fs/names.js';
import { parseInodeSpec, selectSubvolume } from '../src/fs/select.js';
import { lineageLines, modeString, formatTime } from '../src/report/fs.js';
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
      for (const e of d.entries) { expect(nameHash(e.name)).toBe(k.offset); n++; }
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

  it('display: invalid UTF-8, "/" and NUL as \\xNN; controls and backslash too in tables', () => {
    expect(displayName(Uint8Array.from([0x63, 0x61, 0x66, 0xe9]))).toBe('caf\\xe9');
    expect(displayName(utf8Bytes('日本語 ☃ 😀'))).toBe('日本語 ☃ 😀');
    expect(displayName(utf8Bytes('a/b'))).toBe('a\\x2fb');
    expect(displayName(utf8Bytes('new\nline\\'))).toBe('new\nline\\');
    expect(displayName(utf8Bytes('new\nline\\'), { controls: true })).toBe('new\\x0aline\\x5c');
    expect(displayName(Uint8Array.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80'); // a UTF-16 surrogate is not UTF-8
    expect(displayPath([])).toBe('/');
  });

  it('parsePath: "." and empty dropped, ".." kept, \\xNN escapes for bytes', () => {
    expect(parsePath('/a//./b/../c').map((c) => Buffer.from(c).toString())).toEqual(['a', 'b', '..', 'c']);
    expect(Array.from(parsePath('caf\\xe9', { escapes: true })[0]!)).toEqual([0x63, 0x61, 0x66, 0xe9]);
  });

  it('base64 without Buffer', () => {
    for (const n of [0, 1, 2, 3, 4, 5, 255, 256]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 37) & 0xff);
      expect(toBase64(b)).toBe(Buffer.from(b).toString('base64'));
    }
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
    const mk = (id: bigint, uuid: string, parentUuid: string | null, snapshotOf: bigint | null) => ({
      id, path: [utf8Bytes(`s${id}`)], uuid, parentUuid, snapshotOf, readOnly: false, deleted: false, receivedUuid: null, item: { v2Valid: true },
    }) as unknown as Parameters<typeof lineageLines>[0][number];
    const lines = lineageLines([mk(256n, 'a', 'b', 257n), mk(257n, 'b', 'a', 256n), mk(258n, 'c', 'zz', null)]);
    expect(lines.join('\n')).toMatch(/256 \/s256/);
    expect(lines.join('\n')).toMatch(/257 \/s257/);
    expect(lines.join('\n')).toMatch(/\(parent zz, not present\)\n└── 258 \/s258/);
  });
});
