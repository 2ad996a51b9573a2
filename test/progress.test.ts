import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../src/cli/main.js';
import { formatDuration, Progress } from '../src/cli/progress.js';
import { sampleNames } from './helpers/samples.js';

/** An io whose stderr is (or is not) a terminal, recording what is written. */
function fakeIo(tty: boolean) {
  const err: string[] = [];
  let out = '';
  return {
    err,
    out: () => out,
    io: {
      stdout: {
        write: (s: string | Uint8Array) => {
          out += typeof s === 'string' ? s : Buffer.from(s).toString();
          return true;
        },
      },
      stderr: {
        write: (s: string) => {
          err.push(s);
          return true;
        },
      },
      stderrIsTTY: tty,
    },
  };
}

describe('progress line', () => {
  it('shows phase, done/total, percent, rate and time left, redrawn at most ten times a second, and is erased', () => {
    const f = fakeIo(true);
    let now = 1_000_000;
    const p = new Progress(f.io, { now: () => now });
    p.phase('scanning metadata', { items: 'blocks' }, 10_000);
    expect(f.err).toEqual(['\rscanning metadata: [........................] 0.0% 0/10000 blocks\x1b[K']);
    now += 2000;
    p.update(2500);
    // 2500 blocks in 2 s: 1250/s; 7500 left: 6 s.
    expect(f.err[1]).toBe('\rscanning metadata: [######..................] 25.0% 2500/10000 blocks, 1250 blocks/s, 6s left\x1b[K');
    now += 50;
    p.update(2600);
    expect(f.err).toHaveLength(2);
    now += 60;
    p.update(2700);
    expect(f.err).toHaveLength(3);
    p.done();
    expect(f.err[3]).toBe('\r\x1b[K');
    p.done();
    expect(f.err).toHaveLength(4);
  });

  it('counts bytes in MiB and MiB/s; without a total, no percent or time left', () => {
    const f = fakeIo(true);
    let now = 0;
    const p = new Progress(f.io, { now: () => now });
    p.phase('checking data', 'bytes', 3 * 2 ** 30);
    now = 4000;
    p.update(2 ** 30);
    expect(f.err.at(-1)).toBe('\rchecking data: [########................] 33.3% 1024/3072 MiB, 256.0 MiB/s, 8s left\x1b[K');
    p.phase('walking trees', { items: 'tree blocks' });
    now = 4500;
    p.update(300);
    expect(f.err.at(-1)).toBe('\rwalking trees: 300 tree blocks, 600 tree blocks/s\x1b[K');
    p.phase('searching older trees');
    now = 75_000;
    p.update(0);
    expect(f.err.at(-1)).toBe('\rsearching older trees... 1m11s\x1b[K');
    expect([formatDuration(59.2), formatDuration(3725)]).toEqual(['1m00s', '1h02m']);
  });

  it('writes nothing when stderr is not a terminal', () => {
    const f = fakeIo(false);
    const p = new Progress(f.io, { now: () => 0 });
    expect(p.enabled).toBe(false);
    p.phase('x', 'bytes', 10);
    p.update(5);
    p.done();
    expect(f.err).toEqual([]);
  });
});

const sample = 'deleted';
describe.skipIf(!sampleNames().includes(sample))('progress in commands', () => {
  const image = () => join(import.meta.dirname, '..', 'sample-images', sample, 'dev1.runs.gz');

  it.each([['roots'], ['recover'], ['timeline'], ['sharing'], ['tree'], ['check', '--data', '--jobs', '1']])(
    '%s: a line on a terminal, erased before the output; nothing on a pipe; same stdout',
    async (cmd, ...rest) => {
      const tty = fakeIo(true),
        pipe = fakeIo(false);
      const args = [cmd, image(), ...rest];
      const a = await runCli(args, tty.io);
      const b = await runCli(args, pipe.io);
      expect(a).toBe(b);
      expect(tty.out()).toBe(pipe.out());
      expect(pipe.err.join('')).not.toContain('\r');
      const drawn = tty.err.filter((s) => s.startsWith('\r') && s.length > 4);
      expect(drawn.length).toBeGreaterThan(0);
      expect(drawn.every((s) => /^\r[a-z ]+(:|\.\.\.) .*\x1b\[K$/.test(s))).toBe(true);
      // Every drawn line is erased before the command ends.
      const lastDraw = tty.err.lastIndexOf(drawn.at(-1)!);
      expect(tty.err.slice(lastDraw + 1)).toContain('\r\x1b[K');
    },
  );
});
