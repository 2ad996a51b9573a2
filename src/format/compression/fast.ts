/**
 * A faster decoder of one algorithm, handed in by a platform entry
 * (index.ts useFastDecoders): `out` is the zeroed output of the extent's
 * ram_bytes; it returns whether it decoded the whole input stream into it
 * cleanly (a complete stream whose content fits, with its own checks
 * passed). On false, whatever it wrote is discarded and the portable
 * decoder runs.
 */
export type FastDecoder = (input: Uint8Array, out: Uint8Array) => boolean;

/** The decoders in use (none until an entry hands some in). */
export const fastDecoders: { zlib: FastDecoder | null; zstd: FastDecoder | null } = { zlib: null, zstd: null };
