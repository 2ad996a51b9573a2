/** btrfs_file_extent_item.compression values by name. */
export const COMPRESSION_NAMES: Record<number, string> = { 0: 'none', 1: 'zlib', 2: 'lzo', 3: 'zstd' };
