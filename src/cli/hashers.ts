import { createHash } from 'node:crypto';
import type { ContentHasher, DigestAlgorithm } from '../analysis/manifest.js';

/** Digests through Node's crypto (native, several times a JS implementation's speed). */
export const nodeHasher = (algorithms: readonly DigestAlgorithm[]) => (): ContentHasher => {
  const hs = algorithms.map((a) => [a, createHash(a)] as const);
  return {
    update: (b) => {
      for (const [, h] of hs) h.update(b);
    },
    digest: () => Object.fromEntries(hs.map(([a, h]) => [a, h.digest('hex')])),
  };
};
