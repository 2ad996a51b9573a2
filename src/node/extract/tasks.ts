/**
 * A bounded set of running tasks: `start` runs one now, `room` waits until
 * fewer than `max` are running, `idle` until none is. Only the extracting
 * loop starts tasks, so at most `max` are ever in flight, which bounds both
 * the open descriptors and the file data held for writing (each task holds
 * at most one data segment of readFile, 1 MiB).
 */
export class TaskSet {
  private running = 0;
  private wake: (() => void) | null = null;

  constructor(
    private readonly max: number,
    private readonly onError: (e: unknown) => void,
  ) {}

  get size(): number {
    return this.running;
  }

  start(task: () => Promise<void>): void {
    this.running++;
    task()
      .catch(this.onError)
      .finally(() => {
        this.running--;
        const w = this.wake;
        this.wake = null;
        w?.();
      });
  }

  /** Resolves once another task may start. */
  async room(): Promise<void> {
    while (this.running >= this.max)
      await new Promise<void>((r) => {
        this.wake = r;
      });
  }

  /** Resolves once every started task has ended. */
  async idle(): Promise<void> {
    while (this.running > 0)
      await new Promise<void>((r) => {
        this.wake = r;
      });
  }
}

/** A counting semaphore: at most `max` holders at once, served in order. */
export class Slots {
  private held = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {}

  async acquire(): Promise<void> {
    if (this.held < this.max) {
      this.held++;
      return;
    }
    await new Promise<void>((r) => this.waiting.push(r));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.held--;
  }
}
