import { MAX_EXACT } from '../format/bytes.js';
import type { TreeBlock } from '../format/treeBlock.js';

/**
 * A bounded LRU of verified tree blocks, keyed by logical address (a Map
 * keeps insertion order, so re-inserting on hit makes the oldest entry the
 * first one). Bounded by bytes so that 64 KiB nodes do not blow the budget.
 */
export class BlockCache {
  /** Keyed by the address as a number where it is exact (nearly always): a Map hashes a BigInt far slower, and every block read asks here first. */
  private readonly map = new Map<number | bigint, TreeBlock>();
  private bytes = 0;
  hits = 0;
  misses = 0;
  constructor(private maxBytes = 64 * 1024 * 1024) {}

  get(logical: bigint): TreeBlock | undefined {
    const k = keyOf(logical);
    const b = this.map.get(k);
    if (b) {
      this.hits++;
      this.map.delete(k);
      this.map.set(k, b);
    } else this.misses++;
    return b;
  }

  set(b: TreeBlock): void {
    const k = keyOf(b.logical);
    if (this.map.has(k)) return;
    this.map.set(k, b);
    this.bytes += b.data.length;
    while (this.bytes > this.maxBytes && this.map.size > 1) {
      const [oldest, old] = this.map.entries().next().value as [number | bigint, TreeBlock];
      this.map.delete(oldest);
      this.bytes -= old.data.length;
    }
  }

  /**
   * Changes the bound, evicting the oldest blocks past it, and returns the
   * previous one: a pass that reads every block once (e.g. the sharing
   * analysis) gains nothing from a large cache and can lower it meanwhile.
   */
  setLimit(maxBytes: number): number {
    const prev = this.maxBytes;
    this.maxBytes = maxBytes;
    while (this.bytes > this.maxBytes && this.map.size > 1) {
      const [oldest, old] = this.map.entries().next().value as [number | bigint, TreeBlock];
      this.map.delete(oldest);
      this.bytes -= old.data.length;
    }
    return prev;
  }

  clear(): void {
    this.map.clear();
    this.bytes = 0;
  }
}

function keyOf(logical: bigint): number | bigint {
  return logical <= MAX_EXACT ? Number(logical) : logical;
}
