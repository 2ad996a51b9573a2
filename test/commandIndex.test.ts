import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { COMMANDS, commandsFor } from '../src/cli/commandIndex.js';
import type { CliIO } from '../src/cli/context.js';

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
});
