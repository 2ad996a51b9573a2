#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and the
// most total (inclusive) time, as a text table. Usage: node bench/profile-summary.js FILE.cpuprofile [N]
//
// Self time of a node is its hit count times the sampling interval; a function's total time counts
// each sample once per distinct function on the stack (recursion is not counted twice).
import { readFileSync } from 'node:fs';

const [file, nArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/profile-summary.js FILE.cpuprofile [N]\n');
  process.exit(2);
}
const top = Number(nArg ?? 30);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const nameOf = (n) => {
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(dist|src|node_modules)\//, '$1/')}:${f.lineNumber + 1}` : '';
  return `${f.functionName || '(anonymous)'} ${where}`.trim();
};

// Sample counts per node, from the samples array (hitCount is not always filled).
const hits = new Map();
for (const id of prof.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const total = prof.samples.length;
const ms = (prof.endTime - prof.startTime) / 1000;
const perSample = ms / total;

const self = new Map();
const incl = new Map();
for (const [id, h] of hits) {
  const n = byId.get(id);
  const k = nameOf(n);
  self.set(k, (self.get(k) ?? 0) + h);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
    const kk = nameOf(byId.get(cur));
    if (seen.has(kk)) continue;
    seen.add(kk);
    incl.set(kk, (incl.get(kk) ?? 0) + h);
  }
}

const table = (title, m) => {
  const rows = [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  process.stdout.write(`\n${title}\n`);
  for (const [k, h] of rows) process.stdout.write(`${((100 * h) / total).toFixed(1).padStart(6)} %  ${(h * perSample).toFixed(0).padStart(7)} ms  ${k}\n`);
};
process.stdout.write(`${file}: ${total} samples over ${ms.toFixed(0)} ms\n`);
table('Self time', self);
table('Total time (inclusive)', incl);
