/**
 * Fuzz cases that once failed, replayed by the test suite (seed, case
 * index and the single sample the case picked, as the failure's replay
 * line gives them) so a fix stays fixed.
 */
export const REGRESSIONS: { seed: number; index: number; sample: string; why: string }[] = [
  // i_size 2^64-2 made `cat --no-verify` stream zeros until the harness's 30 s hang limit: a file
  // may legally be that sparse (test/limits.test.ts); the harness's stdout now ends like a closed pipe.
  { seed: 99, index: 6, sample: 'partitioned-gpt', why: 'cat of a file with i_size 2^64-2 streams until the reader stops' },
];
