import type { TreeBlock } from '../format/treeBlock.js';

/**
 * A bounded LRU of verified tree blocks, keyed by logical address (a Map
 * keeps insertion order, so re-inserting on hit makes the oldest entry the
 * first one). Bounded by bytes so that 64 KiB nodes do not blow the budget.
 */
export class BlockCache {
  private readonly map = new Map<bigint, TreeBlock>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  constructor(private readonly maxBytes = 64 * 1024 * 1024) {}

  get(logical: bigint): TreeBlock | undefined {
    const b = this.map.get(logical);
    if (b) {
      this.hits++;
      this.map.delete(logical);
      this.map.set(logical, b);
    } else this.misses++;
    return b;
  }

  set(b: TreeBlock): void {
    if (this.map.has(b.logical)) return;
    this.map.set(b.logical, b);
    this.bytes += b.data.length;
    while (this.bytes > this.maxBytes && this.map.size > 1) {
      const [k, old] = this.map.entries().next().value as [bigint, TreeBlock];
      this.map.delete(k);
      this.bytes -= old.data.length;
    }
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}
