/**
 * The journal's op log (`journal_sync: normal`) as a memory-mapped file: appending a line is a
 * copy into the page cache, no system call on the order's path.
 *
 * Why mapped: the log's line is the one journal write before an order goes out, and a `write()`
 * to a file costs a system call with its locks and the file's time update: on this VM, at
 * trading pace (the thread idle between quotes), the op-log `write()` was ~20-40 µs of the
 * ~100 µs between the strategy's decision and the request reaching the broker
 * (BENCHMARKS.md, "Comparison"). A store into a shared mapping reaches the same page cache, so
 * it survives the process dying exactly as a `write()` does (and, as NORMAL says, not the host
 * losing power).
 *
 * Layout: the file is `capacity` bytes; lines of UTF-8 (JSON, which never holds a raw newline or
 * NUL byte) each ended by "\n", then zeros to the end. A line's bytes are copied first and its
 * "\n" stored after them, so a line with its "\n" is whole; a crash in the middle of a copy
 * leaves a last line without one, which readers ignore (its call never returned). `reset()`
 * zeroes what was written: a crash part-way leaves zeros at the start, which ends the log there.
 * Old files (a plain appended log) read the same way.
 *
 * Space: the file is written with zeros when opened (a `write()`, so a full disk is an error
 * then, not a SIGBUS on a store later), and its pages are in memory from then on.
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, writeSync } from "node:fs";

/** Default size of the log file; the journal starts it again long before (see OrderJournal). */
export const OPLOG_CAPACITY = 4 << 20;
const ZEROS = 64 << 10;

export class OpLog {
  readonly path: string;
  readonly capacity: number;
  #map: Uint8Array;
  #buf: Buffer;
  #end = 0;

  private constructor(path: string, map: Uint8Array) {
    this.path = path;
    this.#map = map;
    this.#buf = Buffer.from(map.buffer, map.byteOffset, map.byteLength);
    this.capacity = map.byteLength;
  }

  /** A new, empty log at `path` (what was there is overwritten: read it first). */
  static create(path: string, capacity = OPLOG_CAPACITY): OpLog {
    const fd = openSync(path, "w", 0o600);
    try {
      const zeros = Buffer.alloc(Math.min(ZEROS, capacity));
      for (let at = 0; at < capacity; ) {
        const n = writeSync(fd, zeros, 0, Math.min(zeros.length, capacity - at), at);
        if (n <= 0) throw new Error(`op log ${path}: wrote ${n} bytes at ${at} (disk full?)`);
        at += n;
      }
    } finally {
      closeSync(fd);
    }
    return new OpLog(path, Bun.mmap(path, { shared: true }));
  }

  /** The whole lines of the log at `path` ("" when there is none), in order. */
  static readLines(path: string): string[] {
    if (!existsSync(path)) return [];
    const bytes = readFileSync(path);
    let end = bytes.indexOf(0);
    if (end < 0) end = bytes.length;
    const lastNewline = bytes.lastIndexOf(0x0a, end - 1);
    if (lastNewline < 0) return [];
    return bytes.toString("utf8", 0, lastNewline).split("\n");
  }

  /** Empties the log at `path` without opening it as a log (journal_sync full). */
  static empty(path: string): void {
    if (!existsSync(path)) return;
    const fd = openSync(path, "r+");
    try {
      ftruncateSync(fd, 0);
    } finally {
      closeSync(fd);
    }
  }

  /** Bytes of lines written since the last reset. */
  get bytes(): number {
    return this.#end;
  }

  /**
   * Appends `line` (no "\n" in it) and its "\n"; returns false, writing nothing that counts,
   * when the rest of the file cannot hold it. Allocates nothing.
   */
  append(line: string): boolean {
    const room = this.capacity - this.#end - 1;
    // A UTF-16 unit is at most 3 UTF-8 bytes; only a line that might not fit is measured.
    if (line.length * 3 > room && Buffer.byteLength(line) > room) return false;
    const n = this.#buf.write(line, this.#end, "utf8");
    this.#map[this.#end + n] = 0x0a; // after the line's bytes: a "\n" means the line is whole
    this.#end += n + 1;
    return true;
  }

  /** Starts again at 0 (only once every line is applied and marked). */
  reset(): void {
    this.#map.fill(0, 0, this.#end);
    this.#end = 0;
  }

  /** The text written since the last reset (for keeping a copy as evidence). */
  text(): string {
    return this.#buf.toString("utf8", 0, this.#end);
  }

  /** Drops the mapping (the runtime unmaps it when collected; nothing writes to it after this). */
  close(): void {
    this.#map = new Uint8Array(0);
    this.#buf = Buffer.alloc(0);
    this.#end = 0;
  }
}
