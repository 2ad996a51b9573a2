import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * vitest global setup: when btrfs-progs' corpus is not beside the checkout,
 * the tests that read it are skipped; say so once, with where it comes from,
 * so that a green run is not mistaken for a run over the corpus.
 */
export default function setup(): void {
  const corpus = resolve(import.meta.dirname, '..', '..', '..', 'shared', 'corpus');
  if (existsSync(join(corpus, 'progs', 'MANIFEST.tsv'))) return;
  process.stderr.write(
    `note: ${corpus} not found: the tests over btrfs-progs' corpus of damaged images are skipped ` +
      `(check-corpus, corpus, fs-corpus, and the corpus parts of printTree, items and dumpTree). ` +
      `It is the shared/ folder laid beside this checkout; see README, "Tests".\n`,
  );
}
