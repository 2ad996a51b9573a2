/** EWF signature "EVF\x09\x0d\x0a\xff\x00" (libewf's EWF documentation, "File header"). */
const EWF_SIGNATURE = [0x45, 0x56, 0x46, 0x09, 0x0d, 0x0a, 0xff, 0x00];

export function hasEwfMagic(head: Uint8Array): boolean {
  return head.length >= 13 && EWF_SIGNATURE.every((b, i) => head[i] === b);
}
