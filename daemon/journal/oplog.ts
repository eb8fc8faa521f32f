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
 * then, not a SIGBUS on a store later), and its pages are in memory from then on. That holds
 * only where a file's blocks are overwritten in place: on copy-on-write or compressing file
 * systems (btrfs, ZFS, bcachefs...) or network ones, a store into a full disk is a SIGBUS that
 * kills the process. So the log is mapped only on the file systems known to write in place
 * (ext2/3/4, XFS, tmpfs); elsewhere each line is a `pwrite()` at its place (the same format, a
 * system call per line, a short write an error).
 *
 * Never truncate the file while the daemon runs (a store past the new end is a SIGBUS).
 */
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, statfsSync, writeSync } from "node:fs";
import { dirname } from "node:path";

/** Default size of the log file; the journal starts it again long before (see OrderJournal). */
export const OPLOG_CAPACITY = 4 << 20;
const ZEROS = 64 << 10;
/** statfs f_type of the file systems that overwrite a file's blocks in place. */
const IN_PLACE_FS = new Map<number, string>([
  [0xef53, "ext2/3/4"],
  [0x58465342, "xfs"],
  [0x01021994, "tmpfs"],
]);

/** Writes zeros over bytes [from, to) of `fd`; a write that makes no progress throws. */
function writeZeros(fd: number, from: number, to: number, path: string): void {
  const zeros = Buffer.alloc(Math.min(ZEROS, Math.max(0, to - from)));
  for (let at = from; at < to; ) {
    const n = writeSync(fd, zeros, 0, Math.min(zeros.length, to - at), at);
    if (n <= 0) throw new Error(`op log ${path}: wrote ${n} bytes at ${at} (disk full?)`);
    at += n;
  }
}

/** Whether the log at `path` may be mapped (see the module doc), and the file system seen. */
export function mappable(path: string): { ok: boolean; fs: string } {
  try {
    const type = statfsSync(dirname(path)).type;
    const name = IN_PLACE_FS.get(type);
    return name !== undefined ? { ok: true, fs: name } : { ok: false, fs: `0x${type.toString(16)}` };
  } catch (e) {
    return { ok: false, fs: `unknown (${(e as Error).message})` };
  }
}

export class OpLog {
  readonly path: string;
  readonly capacity: number;
  /** `mapped`: lines are copies into a shared mapping; `pwrite`: one system call per line. */
  readonly mode: "mapped" | "pwrite";
  #map: Uint8Array;
  #buf: Buffer;
  /** The file, open for `pwrite` mode (null when mapped). */
  #fd: number | null;
  #end = 0;

  private constructor(path: string, capacity: number, map: Uint8Array | null, fd: number | null) {
    this.path = path;
    this.capacity = capacity;
    this.mode = map !== null ? "mapped" : "pwrite";
    this.#map = map ?? new Uint8Array(0);
    this.#buf = Buffer.from(this.#map.buffer, this.#map.byteOffset, this.#map.byteLength);
    this.#fd = fd;
  }

  /**
   * A new, empty log at `path` (what was there is overwritten: read it first). Mapped where the
   * file system allows it (`mappable`), or with `mode: "pwrite"`.
   */
  static create(path: string, capacity = OPLOG_CAPACITY, mode: "auto" | "pwrite" = "auto"): OpLog {
    const fd = openSync(path, "w", 0o600);
    try {
      writeZeros(fd, 0, capacity, path);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    if (mode === "auto" && mappable(path).ok) {
      closeSync(fd);
      return new OpLog(path, capacity, Bun.mmap(path, { shared: true }), null);
    }
    return new OpLog(path, capacity, null, fd);
  }

  /**
   * A log in plain memory, no file (keep-warm: `OrderJournal.warmIntent` appends its canned line
   * here with the live log's code, which a line in the real log would make a real operation).
   */
  static scratch(capacity = 256 << 10): OpLog {
    return new OpLog("", capacity, new Uint8Array(capacity), null);
  }

  /** The whole lines of the log at `path` ("" when there is none), in order. */
  static readLines(path: string): string[] {
    if (!existsSync(path)) return [];
    const bytes = readFileSync(path);
    let end = bytes.indexOf(0);
    if (end < 0) end = bytes.length;
    if (end === 0) return []; // (lastIndexOf from -1 would search from the end)
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
    if (this.#fd !== null) {
      const text = line + "\n";
      const bytes = Buffer.byteLength(text);
      const n = writeSync(this.#fd, text, this.#end, "utf8");
      if (n !== bytes) {
        // A torn line: zero what went out (the next line starts here), and fail the call.
        if (n > 0) writeZeros(this.#fd, this.#end, this.#end + n, this.path);
        throw new Error(`op log ${this.path}: short write (${n} of ${bytes} bytes; disk full?)`);
      }
      this.#end += n;
      return true;
    }
    const n = this.#buf.write(line, this.#end, "utf8");
    this.#map[this.#end + n] = 0x0a; // after the line's bytes: a "\n" means the line is whole
    this.#end += n + 1;
    return true;
  }

  /**
   * Keep-warm, mapped mode: stores zero over the zeros where the next line will go (the file's
   * bytes do not change), so that page is mapped writable and in the cache before the order that
   * writes it: a page the kernel has written back takes a write fault on its next store. Nothing
   * in `pwrite` mode. The price: an idle log's page is dirty again after each writeback, so the
   * kernel writes it (4 KiB, and the file's mtime) about once per dirty-expire interval (~30 s).
   */
  touchNext(): void {
    if (this.#fd !== null) return;
    const map = this.#map;
    const end = this.#end;
    if (end < map.length) map[end] = 0;
    if (end + 512 < map.length) map[end + 512] = 0; // the next line may reach into the next page
  }

  /** Starts again at 0 (only once every line is applied and marked). */
  reset(): void {
    if (this.#fd !== null) writeZeros(this.#fd, 0, this.#end, this.path);
    else this.#map.fill(0, 0, this.#end);
    this.#end = 0;
  }

  /** The text written since the last reset (for keeping a copy as evidence). */
  text(): string {
    if (this.#fd !== null) return readFileSync(this.path).toString("utf8", 0, this.#end);
    return this.#buf.toString("utf8", 0, this.#end);
  }

  /** Drops the mapping (the runtime unmaps it when collected; nothing writes to it after this). */
  close(): void {
    if (this.#fd !== null) closeSync(this.#fd);
    this.#fd = null;
    this.#map = new Uint8Array(0);
    this.#buf = Buffer.alloc(0);
    this.#end = 0;
  }
}
