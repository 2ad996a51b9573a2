import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { INPUT_FORMATS } from '../src/io/containers/detect.js';
import { openByteSource } from '../src/io/node/openSource.js';
import { cli, parseJsonExact } from './helpers/cli.js';
import { fixtureBytes, sha256Of, truthLine } from './helpers/containers.js';

let dir: string;
const put = (name: string, bytes: Uint8Array = fixtureBytes(name)) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, bytes);
  return p;
};
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'btrfs-inspect-ifmt-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('--input-format overrides detection', () => {
  test('raw reads a qcow2 file as its bytes: the same sha256 as the file itself', () => {
    const p = put('zlib.qcow2');
    const src = openByteSource(p, { format: 'raw' });
    // Independent truth: the file's own bytes hashed by node:crypto.
    expect(src.size).toBe(BigInt(fs.statSync(p).size));
    expect(sha256Of(src)).toBe(createHash('sha256').update(fs.readFileSync(p)).digest('hex'));
    src.close?.();
  });

  test('naming the format the file has reads the disk qemu-img converted', () => {
    const src = openByteSource(put('zlib.qcow2'), { format: 'qcow2' });
    expect(sha256Of(src)).toBe(truthLine('raw.sha256'));
    src.close?.();
  });

  test('image-info --input-format raw: format raw, size that of the file', async () => {
    const p = put('zlib.qcow2');
    const r = await cli('image-info', p, '--input-format', 'raw', '--json');
    expect(r.code).toBe(0);
    const doc = parseJsonExact(r.stdout) as { format: string; size: bigint | number };
    expect(doc.format).toBe('raw');
    expect(BigInt(doc.size)).toBe(BigInt(fs.statSync(p).size));
  });

  test('an unknown name: exit 2 listing the names', async () => {
    const r = await cli('super', put('zlib.qcow2'), '--input-format', 'vdi');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--input-format must be one of ${INPUT_FORMATS.join(', ')}, got "vdi"`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  test('a format that does not parse the file: exit 2 naming the file and the format', async () => {
    const p = put('stream.vmdk');
    for (const cmd of ['super', 'partitions', 'image-info']) {
      const r = await cli(cmd, p, '--input-format', 'qcow2');
      expect(r.code, cmd).toBe(2);
      expect(r.stderr, cmd).toContain(`${p}: does not read as qcow2 (--input-format qcow2)`);
      expect(r.stderr, cmd).not.toMatch(/\n\s+at /);
    }
  });

  test('a VHD forced on a file with no footer is refused, not read as zeros', async () => {
    const r = await cli('super', put('zlib.qcow2'), '--input-format', 'vhd');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('does not read as vhd (--input-format vhd)');
  });

  test('check of several images refuses it: one format cannot name them all', async () => {
    const p = put('zlib.qcow2');
    const r = await cli('check', p, p, '--input-format', 'qcow2');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--input-format goes with one IMAGE');
  });
});
