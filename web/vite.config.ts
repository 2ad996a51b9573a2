import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The app takes the decoding core only: a Node built-in, or a module of
 * src/cli, src/node or src/io/node, fails the build with the importer named
 * (tsconfig.core.json checks the core's own imports; this checks the bundle).
 */
function coreOnly(): Plugin {
  const builtins = new Set(builtinModules);
  return {
    name: 'btrfs-inspect-core-only',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id.startsWith('node:') || builtins.has(id.split('/')[0]!)) {
        this.error(`${importer ?? 'the app'} imports the Node module "${id}": the web app may use the core library only (src/, not src/cli, src/node, src/io/node)`);
      }
      return null;
    },
    load(id) {
      if (/[\\/]src[\\/](cli|node|io[\\/]node)[\\/]/.test(id)) this.error(`${id} is Node-only code and may not reach the web app`);
      return null;
    },
  };
}

export default defineConfig({
  root: here,
  // Relative asset paths: the same build works at / of `btrfs-inspect serve` and from any static host path.
  base: './',
  plugins: [coreOnly()],
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  worker: { format: 'es', plugins: () => [coreOnly()] },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 2048,
  },
  logLevel: 'warn',
});
