import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/samples.js';

/**
 * The web build takes the core library only: an import of a Node built-in, or
 * of Node-only code of this package (src/cli, src/node, src/io/node), fails
 * the build (web/vite.config.ts), naming the importer.
 */
describe('web build: no Node-only code in the bundle', () => {
  const attempt = async (source: string) => {
    const dir = mkdtempSync(join(tmpdir(), 'btrfs-inspect-webbuild-'));
    try {
      const entry = join(dir, 'entry.ts');
      writeFileSync(entry, source);
      const { build } = await import('vite');
      await build({ configFile: join(ROOT, 'web', 'vite.config.ts'), logLevel: 'silent', build: { outDir: join(dir, 'out'), rollupOptions: { input: entry } } });
      return 'built';
    } catch (e) {
      return (e as Error).message;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  it('refuses node:* and bare built-ins', async () => {
    expect(await attempt("import { readFileSync } from 'node:fs';\nconsole.log(readFileSync);\n")).toContain('imports the Node module "node:fs"');
    expect(await attempt("import { join } from 'path';\nconsole.log(join);\n")).toContain('imports the Node module "path"');
  }, 60_000);

  it('refuses the Node-only modules of the package, and builds the core', async () => {
    expect(await attempt(`import { loadRunsImage } from '${join(ROOT, 'src', 'io', 'node', 'runs.ts')}';\nconsole.log(loadRunsImage);\n`)).toMatch(/Node-only code|imports the Node module/);
    expect(await attempt(`import { Filesystem } from '${join(ROOT, 'src', 'index.ts')}';\nconsole.log(Filesystem);\n`)).toBe('built');
  }, 60_000);
});
