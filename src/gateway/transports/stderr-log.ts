// What a backend writes to stderr (FastCGI FCGI_STDERR records, a CGI script's stderr), as log
// lines (bare: the logger the registry gives names the backend, once) with a per-request byte cap: a script looping on a warning must not fill the gateway's
// log. A short tail is kept for error details ("the script died: <last lines>").

const TAIL_CHARS = 2048;

export class StderrLog {
  readonly #logger: ((line: string) => void) | undefined;
  #budget: number;
  #partial = '';
  #tail = '';
  #truncated = false;

  constructor(logger: ((line: string) => void) | undefined, limitBytes: number) {
    this.#logger = logger;
    this.#budget = limitBytes;
  }

  /** Take one piece of stderr output. */
  write(data: Buffer): void {
    const text = data.toString('utf8');
    this.#tail = (this.#tail + (text.length > TAIL_CHARS ? text.slice(-TAIL_CHARS) : text)).slice(
      -TAIL_CHARS,
    );
    if (this.#logger === undefined) return;
    if (this.#budget <= 0) {
      this.#noteTruncated();
      return;
    }
    const allowed = data.length <= this.#budget ? text : data.subarray(0, this.#budget).toString('utf8');
    this.#budget -= data.length;
    const lines = (this.#partial + allowed).split('\n');
    this.#partial = lines.pop() ?? '';
    for (const line of lines) this.#emit(line);
    if (this.#budget <= 0) {
      this.#flushPartial();
      this.#noteTruncated();
    }
  }

  /** The request is over: emit a last unterminated line. */
  end(): void {
    this.#flushPartial();
  }

  /** The last ~2 KiB of stderr (for error details), whatever the cap. */
  get tail(): string {
    return this.#tail;
  }

  #flushPartial(): void {
    if (this.#partial !== '') this.#emit(this.#partial);
    this.#partial = '';
  }

  #emit(line: string): void {
    // CRLF-terminated output (fcgiwrap -f turns LF into CRLF) must not leave a CR in the log.
    this.#logger?.(line.endsWith('\r') ? line.slice(0, -1) : line);
  }

  #noteTruncated(): void {
    if (this.#truncated) return;
    this.#truncated = true;
    this.#logger?.('[stderr truncated: per-request limit reached]');
  }
}
