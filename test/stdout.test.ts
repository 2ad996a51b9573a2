import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { SAMPLES } from './helpers/samples.js';

/**
 * The CLI's stdout as a process sees it: blocking writes to a pipe. A reader
 * that takes its time gets every byte in order (the dump waits for it), and
 * a reader that goes away ends the command quietly (exit 0, no trace).
 */
const ROOT = join(SAMPLES, '..');
const image = join(SAMPLES, 'default', 'dev1.runs.gz');

/** Runs the CLI in a child process (TypeScript sources through tsx); `read` drains its stdout. */
function child(args: string[], read: (out: Readable) => Promise<Buffer>): Promise<{ code: number | null; out: Buffer; err: string }> {
  const p = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/cliEntry.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const out = read(p.stdout);
  return new Promise((resolve) => p.on('close', async (code) => resolve({ code, out: await out, err })));
}

const expected = async () => {
  const parts: Buffer[] = [];
  await runCli(['tree', image, '--jobs', '1'], {
    stdout: {
      write: (s: string | Uint8Array) => {
        parts.push(Buffer.from(s));
        return true;
      },
    },
    stderr: { write: () => true },
    stderrIsTTY: false,
  });
  return Buffer.concat(parts);
};

describe('stdout through a pipe', () => {
  it('a slow reader gets the whole dump, byte for byte', async () => {
    const want = await expected();
    expect(want.length).toBeGreaterThan(200_000);
    const r = await child(['tree', image], async (out) => {
      const got: Buffer[] = [];
      // Pause between reads so the pipe fills and the writer has to wait.
      for await (const chunk of out) {
        got.push(chunk as Buffer);
        if (got.length % 4 === 0) await new Promise((f) => setTimeout(f, 5));
      }
      return Buffer.concat(got);
    });
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out.equals(want)).toBe(true);
  }, 60_000);

  it('a reader that stops early ends the command quietly', async () => {
    const want = await expected();
    const r = await child(['tree', image], async (out) => {
      const first = await new Promise<Buffer>((resolve) => out.once('data', (d: Buffer) => resolve(d)));
      out.destroy();
      return first;
    });
    expect(r.code).toBe(0);
    expect(r.err).toBe('');
    expect(r.out.equals(want.subarray(0, r.out.length))).toBe(true);
  }, 60_000);
});
