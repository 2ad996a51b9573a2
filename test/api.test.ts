import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/samples.js';

/** The names a section of docs/architecture-api.md lists ("- `name` — ..."), up to the next "## " heading. */
function documented(section: string): string[] {
  const doc = readFileSync(join(ROOT, 'docs', 'architecture-api.md'), 'utf8');
  const start = doc.indexOf(`\n## ${section}\n`);
  expect(start, `section "${section}"`).toBeGreaterThan(0);
  const end = doc.indexOf('\n## ', start + 1);
  return [...doc.slice(start, end < 0 ? undefined : end).matchAll(/^- `(\w+)` — /gm)].map((m) => m[1]!).sort();
}

/** Relative static imports and re-exports of a module (type-only ones too: they cost nothing at run time, but are listed). */
function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: { spec: string; typeOnly: boolean }[] = [];
  for (const s of src.statements) {
    if ((ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) {
      const typeOnly = ts.isImportDeclaration(s) ? Boolean(s.importClause?.isTypeOnly) : s.isTypeOnly;
      out.push({ spec: s.moduleSpecifier.text, typeOnly });
    }
  }
  return out;
}

/** Every module of src/ that importing `entry` runs (type-only imports run nothing). */
function reachable(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    for (const { spec, typeOnly } of importsOf(file)) {
      if (typeOnly || !spec.startsWith('.')) continue;
      visit(resolve(dirname(file), spec.replace(/\.js$/, '.ts')));
    }
  };
  visit(join(ROOT, 'src', entry));
  return [...seen].sort();
}

/** `await` (or `for await`) outside every function body: a top-level await makes a module async, which require() refuses. */
function hasTopLevelAwait(file: string): boolean {
  const src = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  let found = false;
  const walk = (n: ts.Node): void => {
    if (found || ts.isFunctionLike(n) || ts.isClassStaticBlockDeclaration(n)) return;
    if (ts.isAwaitExpression(n) || (ts.isForOfStatement(n) && n.awaitModifier)) {
      found = true;
      return;
    }
    ts.forEachChild(n, walk);
  };
  ts.forEachChild(src, walk);
  return found;
}

describe('the public API', () => {
  it('btrfs-inspect exports exactly the values docs/architecture-api.md lists', async () => {
    const api = await import('../src/index.js');
    expect(Object.keys(api).sort()).toEqual(documented('Values'));
  });

  it('btrfs-inspect/node exports exactly the values docs/architecture-api.md lists', async () => {
    const api = await import('../src/node.js');
    expect(Object.keys(api).sort()).toEqual(documented('btrfs-inspect/node'));
  });

  it('no module either entry runs has a top-level await; btrfs-inspect/node does not load the CLI', () => {
    const core = reachable('index.ts');
    const node = reachable('node.ts');
    // The walk follows the graph: the core entry reaches the checksum module and the analyses.
    expect(core).toContain(join(ROOT, 'src', 'format', 'checksum.ts'));
    expect(core).toContain(join(ROOT, 'src', 'analysis', 'check', 'index.ts'));
    for (const f of [...core, ...node]) expect(hasTopLevelAwait(f), f).toBe(false);
    expect(node.filter((f) => f.includes(`${join('src', 'cli')}`))).toEqual([]);
    expect(core.filter((f) => f.includes(`${join('src', 'cli')}`) || f.includes(join('src', 'io', 'node')))).toEqual([]);
  });

  it('the test above finds a top-level await where there is one', () => {
    const file = join(ROOT, 'test', 'fixtures', 'api-tla.ts');
    expect(hasTopLevelAwait(file)).toBe(true);
  });

  it('importing creates no WebAssembly module; the first xxhash64 checksum does', async () => {
    const wasm = (globalThis as unknown as { WebAssembly: { Module: new (code: Uint8Array) => object } }).WebAssembly;
    const Real = wasm.Module;
    let made = 0;
    // biome-ignore lint/complexity/useArrowFunction: it is called with `new`, which an arrow function refuses
    wasm.Module = function (code: Uint8Array) {
      made++;
      return new Real(code);
    } as unknown as typeof Real;
    try {
      const api = await import('../src/index.js');
      const { computeCsum } = await import('../src/format/checksum.js');
      const { CsumType } = await import('../src/format/constants.js');
      expect(typeof api.Filesystem.open).toBe('function');
      expect(made).toBe(0);
      // XXH64 of no bytes is 0xef46db3751d8e999, stored little-endian.
      expect([...computeCsum(CsumType.XXHASH, new Uint8Array(0))]).toEqual([0x99, 0xe9, 0xd8, 0x51, 0x37, 0xdb, 0x46, 0xef]);
      expect(made).toBe(1);
    } finally {
      wasm.Module = Real;
    }
  });
});
