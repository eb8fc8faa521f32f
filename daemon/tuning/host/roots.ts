/**
 * Where the host part of the tuner reads and writes: every path goes through a `HostRoots`, so
 * tests point it at a temporary directory laid out like `/sys`, `/proc` and `/dev`.
 */
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

export interface HostRoots {
  /** sysfs, `/sys`. */
  sys: string;
  /** procfs, `/proc`. */
  proc: string;
  /** devices, `/dev` (for `cpu_dma_latency`). */
  dev: string;
  /** Root-only directory for the host state file, `/run/tradingd-tuning`: not the daemon user's
   * RuntimeDirectory, because root writes back whatever paths the state file names. */
  run: string;
}

export const DEFAULT_HOST_ROOTS: Readonly<HostRoots> = Object.freeze({
  sys: "/sys",
  proc: "/proc",
  dev: "/dev",
  run: "/run/tradingd-tuning",
});

/** The state file holding the originals of every host write (see `apply.ts`). */
export function defaultStateFile(roots: HostRoots): string {
  return join(roots.run, "host-tuning.json");
}

/** The errno name of a Node/Bun fs error (`EACCES`), or `EUNKNOWN`. */
export function errnoOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "EUNKNOWN";
}

/** A file read: its content, or the errno name that stopped the read. */
export type ReadResult = { ok: true; text: string } | { ok: false; errno: string };

export function readText(path: string): ReadResult {
  try {
    return { ok: true, text: readFileSync(path, "utf8") };
  } catch (err) {
    return { ok: false, errno: errnoOf(err) };
  }
}

/** A file's content without surrounding whitespace, or `null` when it cannot be read. */
export function readTrimmed(path: string): string | null {
  const r = readText(path);
  return r.ok ? r.text.trim() : null;
}

/** The entries of a directory, or none when it is absent or unreadable. */
export function listDir(path: string): string[] {
  try {
    return readdirSync(path);
  } catch {
    return [];
  }
}
