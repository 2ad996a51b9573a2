// Limits against hostile tables.
export const MAX_LOGICAL_PARTITIONS = 128;
/** EBRs visited in one chain (empty EBRs may be linked without holding a partition). */
export const MAX_EBR_HOPS = 256;
/** Largest GPT entry array accepted (the usual is 128 x 128 = 16 KiB). */
export const MAX_GPT_ARRAY_BYTES = 1 << 20;
export const MAX_GPT_ENTRY_SIZE = 4096;
