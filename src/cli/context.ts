/** Where a command writes: injected so tests can run the CLI in-process. */
export interface CliIO {
  /** Done with the bytes when write() returns (the CLI reuses its buffers): copy them to keep them. */
  stdout: { write(s: string | Uint8Array): unknown };
  stderr: { write(s: string): unknown };
  /** Progress is drawn only when stderr is a terminal. */
  stderrIsTTY: boolean;
  /** Columns of the terminal stdout is, if it is one: tables are fitted to it (unless --wide). */
  stdoutColumns?: number;
}

/** A request the user made that cannot be served as asked: exit 2 with this message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Input that cannot be read at all: exit 2 with this message (and the hint, on a line of its own). */
export class InputError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * A well-formed request the image cannot serve: an address in no chunk, no
 * tree block there, no surviving root of that generation. Exit 1 ("request
 * not fully served"), with this message and the next step.
 */
export class NotServedError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'NotServedError';
  }
}

export const EXIT_OK = 0;
export const EXIT_DAMAGE = 1;
export const EXIT_USAGE = 2;

/** Writes lines through a buffer so huge dumps do not call write() per line. */
/** Output text gathered into large writes (a streamed JSON document comes in many small pieces). */
export class TextOut {
  private buf = '';
  constructor(private readonly stdout: CliIO['stdout']) {}
  readonly write = (s: string): void => {
    this.buf += s;
    if (this.buf.length > 1 << 16) this.flush();
  };
  flush(): void {
    if (this.buf) this.stdout.write(this.buf);
    this.buf = '';
  }
}

export class LineWriter {
  private buf: string[] = [];
  private size = 0;
  constructor(private readonly out: CliIO['stdout']) {}

  line(s: string): void {
    this.buf.push(s);
    this.size += s.length + 1;
    if (this.size > 1 << 16) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.out.write(this.buf.join('\n') + '\n');
    this.buf = [];
    this.size = 0;
  }
}

/**
 * Collects output bytes and writes them in large pieces (a dump emits millions
 * of small ones). Bytes are copied before write() returns, so a caller may
 * hand in a view of a buffer it reuses next (the render threads' slots).
 */
export class ByteWriter {
  private readonly buf: Uint8Array;
  private size = 0;
  constructor(
    private readonly out: CliIO['stdout'],
    chunk = 1 << 20,
  ) {
    this.buf = new Uint8Array(chunk);
  }

  readonly write = (b: Uint8Array): void => {
    if (this.size + b.length > this.buf.length) {
      this.flush();
      if (b.length >= this.buf.length) {
        this.out.write(b);
        return;
      }
    }
    this.buf.set(b, this.size);
    this.size += b.length;
  };

  flush(): void {
    if (this.size === 0) return;
    this.out.write(this.buf.subarray(0, this.size));
    this.size = 0;
  }
}
