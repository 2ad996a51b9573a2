declare module 'crc-32/crc32c.js' {
  /** CRC-32C (Castagnoli) of a byte array; returns a signed 32-bit integer. */
  export function buf(data: Uint8Array | number[], seed?: number): number;
}

declare module 'cli-table3/src/utils.js' {
  /** Display width of a string: ANSI escapes skipped, wide characters counted as two columns. */
  export function strlen(str: string): number;
}
