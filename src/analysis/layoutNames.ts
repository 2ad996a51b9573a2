/** btrfs_file_extent_item.compression values by name (the table lives in format/constants). */
export { COMPRESSION_NAMES } from '../format/constants.js';
