/**
 * Writes docs/check-rules.md from the finding catalogue (src/findingRules.ts).
 * `node --import tsx scripts/check-rules-doc.ts` writes it; with `--check`
 * it only says whether the committed page is current (exit 1 when stale).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { renderRuleCatalogue } from '../src/report/ruleCatalogue.js';

const path = new URL('../docs/check-rules.md', import.meta.url);
const text = renderRuleCatalogue();
if (process.argv.includes('--check')) {
  let old = '';
  try {
    old = readFileSync(path, 'utf8');
  } catch {
    /* missing: stale */
  }
  if (old !== text) {
    process.stderr.write('docs/check-rules.md is stale: run `node --import tsx scripts/check-rules-doc.ts`\n');
    process.exit(1);
  }
} else writeFileSync(path, text);
