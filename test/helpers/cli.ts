import { runCli } from '../../src/cli/main.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Runs the CLI in-process with captured output. */
export async function cli(...args: string[]): Promise<CliResult> {
  const out: Buffer[] = [];
  let err = '';
  const code = await runCli(args, {
    stdout: {
      write: (s: string | Uint8Array) => {
        out.push(Buffer.from(s));
        return true;
      },
    },
    stderr: {
      write: (s: string) => {
        err += s;
        return true;
      },
    },
    stderrIsTTY: false,
  });
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString('utf8'), stderr: err, stdoutBytes };
}

/** Parses NDJSON/JSON whose big integers must stay exact. */
export function parseJsonExact(text: string): unknown {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}
