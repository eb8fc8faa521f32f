/**
 * The recording format of `feed.record` / `feed.kind: replay`: every raw frame as it came off
 * the WebSocket, with the time it was received. Append-only; a crash loses at most the frame
 * being written (a truncated last record is ignored on read).
 *
 * | offset | size | field |
 * |---|---|---|
 * | 0 | 8 | magic `TDRECv01` (ASCII) |
 * | 8 | 4 | header length H (u32 little-endian) |
 * | 12 | H | header: UTF-8 JSON `{ "source": url, "created_unix_ms": n, "format": 1 }` |
 * | 12+H | … | records, back to back |
 *
 * Record:
 *
 * | size | field |
 * |---|---|
 * | 4 | frame length N in bytes (u32 LE) |
 * | 8 | receive time, Unix epoch nanoseconds (f64 LE; wall clock, for the replay's pacing and for people) |
 * | N | the frame, UTF-8, exactly as received |
 */
import { closeSync, fsyncSync, openSync, readFileSync, writeSync, fstatSync } from "node:fs";

export const MAGIC = "TDRECv01";
const RECORD_HEAD = 12;

export interface RecordingHeader {
  source: string;
  created_unix_ms: number;
  format: 1;
}

export class RecordingFormatError extends Error {
  override name = "RecordingFormatError";
}

/** Appends frames to a recording (creating it with its header when new or empty). */
export class FrameRecorder {
  readonly #fd: number;
  readonly #head = new Uint8Array(RECORD_HEAD);
  readonly #view = new DataView(this.#head.buffer);
  readonly #encoder = new TextEncoder();
  frames = 0;

  constructor(
    readonly path: string,
    source: string,
  ) {
    this.#fd = openSync(path, "a");
    if (fstatSync(this.#fd).size === 0) {
      const header = this.#encoder.encode(JSON.stringify({ source, created_unix_ms: Date.now(), format: 1 } satisfies RecordingHeader));
      const pre = new Uint8Array(12);
      pre.set(this.#encoder.encode(MAGIC), 0);
      new DataView(pre.buffer).setUint32(8, header.length, true);
      writeSync(this.#fd, pre);
      writeSync(this.#fd, header);
    }
  }

  /** Allocates (the frame's UTF-8 bytes): recording is off the latency budget by choice. */
  write(frame: string, recvUnixNs: number): void {
    const bytes = this.#encoder.encode(frame);
    this.#view.setUint32(0, bytes.length, true);
    this.#view.setFloat64(4, recvUnixNs, true);
    writeSync(this.#fd, this.#head);
    writeSync(this.#fd, bytes);
    this.frames++;
  }

  close(): void {
    try {
      fsyncSync(this.#fd);
    } finally {
      closeSync(this.#fd);
    }
  }
}

export interface RecordedFrame {
  recvUnixNs: number;
  frame: string;
}

/** Reads a whole recording. A truncated last record (a crash while writing) is dropped. */
export function readRecording(path: string): { header: RecordingHeader; frames: RecordedFrame[]; truncated: boolean } {
  const buf = readFileSync(path);
  if (buf.length < 12 || buf.toString("latin1", 0, 8) !== MAGIC) throw new RecordingFormatError(`${path}: not a tradingd recording (no ${MAGIC} magic)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const h = view.getUint32(8, true);
  if (12 + h > buf.length) throw new RecordingFormatError(`${path}: header runs past the end of the file`);
  let header: RecordingHeader;
  try {
    header = JSON.parse(buf.toString("utf8", 12, 12 + h));
  } catch (e) {
    throw new RecordingFormatError(`${path}: header is not JSON: ${(e as Error).message}`);
  }
  const frames: RecordedFrame[] = [];
  let off = 12 + h;
  let truncated = false;
  const decoder = new TextDecoder();
  while (off < buf.length) {
    if (off + RECORD_HEAD > buf.length) {
      truncated = true;
      break;
    }
    const n = view.getUint32(off, true);
    const t = view.getFloat64(off + 4, true);
    if (off + RECORD_HEAD + n > buf.length) {
      truncated = true;
      break;
    }
    frames.push({ recvUnixNs: t, frame: decoder.decode(buf.subarray(off + RECORD_HEAD, off + RECORD_HEAD + n)) });
    off += RECORD_HEAD + n;
  }
  return { header, frames, truncated };
}
