import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { jsonDocument, toJson } from '../../report/json.js';
import { Filesystem } from '../../tree/Filesystem.js';
import { NotBtrfsError } from '../../volume/assemble.js';
import { type CliIO, InputError, UsageError } from '../context.js';
import { openSources } from '../open.js';
import { serve } from '../serve/server.js';

interface ServeOptions {
  device?: string[];
  partition?: string;
  offset?: string;
  demo?: boolean;
  port?: string;
  open?: boolean;
  json?: boolean;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** The built app: dist/web of the package (this module is src/cli/commands or dist/cli/commands, three levels down). */
export function webAppDir(): string {
  return join(fileURLToPath(new URL('../../../', import.meta.url)), 'dist', 'web');
}

/** The system's way to open a URL in the default browser. */
function openInBrowser(url: string, io: CliIO): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
  child.on('error', (e) => io.stderr.write(`btrfs-inspect: cannot open a browser (${cmd}: ${e.message}); open the URL above yourself\n`));
  child.unref();
}

export function registerServe(program: Command, io: CliIO, done: (code: number) => void): void {
  program
    .command('serve')
    .argument('[image]', 'image file or device')
    .description('the web inspector: serves the app and the image (read-only, by byte range) on 127.0.0.1, behind a random token in the URL; Ctrl-C stops it')
    .option('--device <path>', 'another device of a multi-device filesystem (repeatable)', collect)
    .option('--partition <n>', 'use partition N of a whole-disk image')
    .option('--offset <bytes>', 'the filesystem starts at this byte offset of the image')
    .option('--demo', 'serve the bundled demo image')
    .option('--port <n>', 'port on 127.0.0.1 (default: a free one)')
    .option('--open', 'open the URL in the default browser')
    .option('--json', 'print the URL and devices as one JSON document once serving')
    .action(async (image: string | undefined, opts: ServeOptions) => {
      const port = opts.port === undefined ? 0 : Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a whole number from 0 to 65535, got "${opts.port}"`);
      const sources = openSources(image, opts, io);
      // Opened here too, so that what is not btrfs is said now, not in the browser.
      let fs: Filesystem;
      try {
        fs = Filesystem.open(sources);
      } catch (e) {
        if (e instanceof NotBtrfsError) throw new InputError(e.message);
        throw e;
      }
      const appDir = webAppDir();
      if (!existsSync(join(appDir, 'index.html'))) throw new InputError(`the web app is not built (${appDir} has no index.html)`, '(run "npm run build" in the package directory)');
      let s: Awaited<ReturnType<typeof serve>>;
      try {
        s = await serve({ appDir, sources, port });
      } catch (e) {
        throw new InputError(`cannot listen on 127.0.0.1:${port} (${(e as Error).message})`, port ? '(pick another --port, or leave it out for a free one)' : undefined);
      }
      const sb = fs.superblock;
      if (opts.json) {
        io.stdout.write(toJson(jsonDocument('serve', { url: s.url, port: s.port, label: sb.label, fsid: sb.fsid, devices: sources.map((d) => ({ name: d.name, size: d.size })) })) + '\n');
      } else {
        io.stdout.write(`serving ${sources.map((d) => d.name).join(', ')} (label "${sb.label}", fsid ${sb.fsid}), read-only\nopen ${s.url}\n(Ctrl-C stops the server)\n`);
      }
      if (opts.open) openInBrowser(s.url, io);
      await new Promise<void>((resolve) => {
        const stop = () => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void s.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      for (const src of sources) src.close?.();
      done(0);
    });
}
