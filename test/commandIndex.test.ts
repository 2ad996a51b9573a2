import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from '../src/cli/commandIndex.js';
import type { CliIO } from '../src/cli/context.js';
import { runCli } from '../src/cli/main.js';
import { VERSION } from '../src/cli/version.js';

const io = { stdout: { write: () => true }, stderr: { write: () => true }, stderrIsTTY: false } as unknown as CliIO;

describe('command index (lazy loading)', () => {
  it('each entry loads the module that defines exactly that command and its aliases', async () => {
    for (const entry of COMMANDS) {
      const program = new Command();
      (await entry.load())(program, io, () => {});
      expect(
        program.commands.map((c) => c.name()),
        entry.name,
      ).toEqual([entry.name]);
      expect(program.commands[0]!.aliases()).toEqual(entry.aliases ?? []);
    }
  });

  it('lists every command module of src/cli/commands', () => {
    const modules = readdirSync(join(__dirname, '..', 'src', 'cli', 'commands'))
      .filter((f) => f.endsWith('.ts'))
      .map((f) => f.replace(/\.ts$/, ''));
    // Helper modules of commands (workers, render pools) register nothing.
    const helpers = modules.filter((m) => /Worker|Pool|Slots/.test(m));
    expect(COMMANDS.map((c) => c.name).sort()).toEqual(modules.filter((m) => !helpers.includes(m)).sort());
  });

  it('loads one command for a run, all for help or an unknown word, none for --version', async () => {
    expect(await commandsFor(['stat', 'x.img', '/a'])).toHaveLength(1);
    expect(await commandsFor(['subvol', 'x.img'])).toHaveLength(1);
    expect(await commandsFor([])).toHaveLength(COMMANDS.length);
    expect(await commandsFor(['--help'])).toHaveLength(COMMANDS.length);
    expect(await commandsFor(['stta'])).toHaveLength(COMMANDS.length);
    expect(await commandsFor(['--version'])).toHaveLength(0);
  });

  it('--version alone is answered by bin/ before any module loads, with the version the CLI and package.json give', async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
    const fast = spawnSync(process.execPath, [join(__dirname, '..', 'bin', 'btrfs-inspect.js'), '--version'], { encoding: 'utf8' });
    expect(fast.status).toBe(0);
    expect(fast.stdout).toBe(`${pkg.version}\n`);
    let out = '';
    const write = (s: string) => {
      out += s;
      return true;
    };
    const cliIo = { ...io, stdout: { write } } as unknown as CliIO;
    expect(await runCli(['--version'], cliIo)).toBe(0);
    expect(out).toBe(`${VERSION}\n`);
    expect(VERSION).toBe(pkg.version);
  });
});
