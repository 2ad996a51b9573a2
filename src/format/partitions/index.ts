/** Pure decoders of partition tables (MBR, GPT): layouts and what their bytes mean; reading is in io/partitions. */
export * from './common.js';
export * from './gpt.js';
export * from './mbr.js';
export * from './names.js';
