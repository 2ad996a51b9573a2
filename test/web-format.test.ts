import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { imageType } from '../web/src/format.js';
import { ROOT } from './helpers/samples.js';

/** The file preview draws an image when the file's first bytes are an image format's signature. */
describe('imageType (web/src/format.ts)', () => {
  it('knows a PNG Chromium wrote, and takes text, a tar or a truncated signature for no image', () => {
    expect(imageType(readFileSync(join(ROOT, 'docs', 'web-file.png')))).toBe('image/png');
    expect(imageType(new TextEncoder().encode('hello, btrfs\n'))).toBeNull();
    expect(imageType(readFileSync(join(ROOT, 'docs', 'web-file.png')).subarray(0, 4))).toBeNull();
    expect(imageType(readFileSync(join(ROOT, 'package.json')))).toBeNull();
  });
});
