/**
 * Applies a host plan and puts the host back: every original is saved to a state file before
 * its file is written, so `revertHost` restores it on exit (the unit's `ExecStopPost=+`) or
 * after a crash (`tradingd tune --revert`). tuned does the same when a profile is switched off.
 *
 * State file: JSON `{ version: 1, pid, startedAt, saved: SavedValue[] }`, replaced atomically
 * (temp file, fsync, rename). While it exists it holds the true originals: a second apply (after
 * a crash) adds new paths but never replaces an original already saved.
 */
import { closeSync, constants, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import type { SavedValue, TuneAction } from "../action.ts";
import type { PlannedWrite } from "./plan.ts";
import { parseBracketed } from "./plan.ts";
import type { HostRoots } from "./roots.ts";
import { DEFAULT_HOST_ROOTS, errnoOf, readText } from "./roots.ts";

export interface HostState {
  version: 1;
  /** The process that first applied. */
  pid: number;
  /** ISO time of the first apply. */
  startedAt: string;
  /** Originals in the order they were first written; reverted in reverse. */
  saved: SavedValue[];
}

const NOT_PRESENT = "not present on this host";
const NEEDS_ROOT = "needs root: run `tradingd tune --apply-host` as root (the unit's ExecStartPre=+)";

/** What to do about a host write that ended with `errno`. */
export function hintFor(errno: string, path: string, value: string): string {
  switch (errno) {
    case "EACCES":
    case "EPERM":
      return NEEDS_ROOT;
    case "EROFS":
      return "read-only sysfs (container?): run the host part on the host itself, with /sys and /proc/sys writable";
    case "EINVAL":
      return `the kernel rejected "${value}" for ${path}: check the value against the kernel's documentation of that file`;
    case "EBUSY":
      return `${path} is busy: is tuned or a power daemon managing it? stop it and retry`;
    default:
      return `unexpected ${errno} on ${path}: check that it is the kernel's file, and dmesg`;
  }
}

/** Writes `value` to a file that must exist, in one write (sysfs takes one write per open). */
export function writeHostFile(path: string, value: string): void {
  // No O_CREAT: a missing knob is ENOENT, never a new file. O_TRUNC matters only to plain files (tests).
  const fd = openSync(path, constants.O_WRONLY | constants.O_TRUNC);
  try {
    writeSync(fd, value);
  } finally {
    closeSync(fd);
  }
}

/** Reads the state file: `null` when there is none; throws when it is there but not a version 1 state. */
export function readState(stateFile: string): HostState | null {
  let text: string;
  try {
    text = readFileSync(stateFile, "utf8");
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return null;
    throw err;
  }
  const state = JSON.parse(text) as Partial<HostState> | null;
  if (state?.version !== 1 || !Array.isArray(state.saved)) throw new Error(`${stateFile}: not a tradingd host state (version 1)`);
  return state as HostState;
}

/** Replaces the state file atomically: temp file, fsync, rename, then fsync of the directory (best effort). */
export function writeState(stateFile: string, state: HostState): void {
  const dir = dirname(stateFile);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temp = `${stateFile}.${process.pid}.tmp`;
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, JSON.stringify(state, null, 2) + "\n");
    fsyncBestEffort(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, stateFile);
  try {
    const dirFd = openSync(dir, "r");
    try {
      fsyncBestEffort(dirFd);
    } finally {
      closeSync(dirFd);
    }
  } catch {
    // some filesystems refuse to open or fsync a directory; the rename is still atomic
  }
}

function fsyncBestEffort(fd: number): void {
  try {
    fsyncSync(fd);
  } catch {
    // tmpfs (/run) and some others: nothing to flush
  }
}

/** `action` with its final status; drops the plan's reason unless `more` gives one. */
function ended(action: TuneAction, status: TuneAction["status"], more: Partial<TuneAction> = {}): TuneAction {
  const { reason: _reason, errno: _errno, hint: _hint, ...rest } = action;
  return { ...rest, status, ...more };
}

function stateFileHint(stateFile: string): string {
  return `inspect ${stateFile}, write its originals back by hand, then remove it`;
}

/**
 * Writes every `planned` entry of `plan`, saving its original to `stateFile` first; entries
 * already final (`unchanged`, `skipped`) pass through. Each write ends `applied`, `failed`
 * (errno and hint), or `skipped` (file absent, or an errno listed in the entry's `skipOn`).
 * A write that fails leaves no original behind. `roots` is the host the plan was made for: the
 * plan's paths already include it.
 *
 * @example
 * const actions = applyHost(planHost(tuning, roots, ctx), roots, defaultStateFile(roots));
 */
export function applyHost(plan: readonly PlannedWrite[], roots: HostRoots, stateFile: string): TuneAction[] {
  void roots;
  let found: HostState | null;
  try {
    found = readState(stateFile);
  } catch (err) {
    // Never overwrite originals we cannot read: they may be the only copy.
    const why = err instanceof Error ? err.message : String(err);
    return plan.map((w) =>
      w.action.status === "planned" ? ended(w.action, "failed", { reason: `state file unreadable: ${why}`, hint: stateFileHint(stateFile) }) : w.action,
    );
  }
  const state: HostState = found ?? { version: 1, pid: process.pid, startedAt: new Date().toISOString(), saved: [] };
  const savedPaths = new Set(state.saved.map((s) => s.path));

  return plan.map((w) => {
    if (w.action.status !== "planned" || w.path === undefined || w.value === undefined) return w.action;
    const { path, value } = w;

    const current = readText(path);
    if (!current.ok) {
      if (current.errno === "ENOENT") return ended(w.action, "skipped", { reason: NOT_PRESENT });
      return ended(w.action, "failed", { errno: current.errno, reason: "cannot read the original", hint: hintFor(current.errno, path, value) });
    }
    const original = w.restore === "bracketed" ? (parseBracketed(current.text) ?? current.text.trim()) : current.text;

    // After a crash the state file already has this path: its original is the true one, keep it.
    const isNew = !savedPaths.has(path);
    if (isNew) {
      state.saved.push({ path, original, id: w.action.id });
      try {
        writeState(stateFile, state);
      } catch (err) {
        state.saved.pop();
        return ended(w.action, "failed", {
          errno: errnoOf(err),
          reason: `cannot save the original to ${stateFile}`,
          hint: `make ${dirname(stateFile)} writable by the tuner (RuntimeDirectory=tradingd)`,
        });
      }
      savedPaths.add(path);
    }

    try {
      writeHostFile(path, value);
      return ended(w.action, "applied");
    } catch (err) {
      const errno = errnoOf(err);
      if (isNew) {
        // Nothing changed: drop the original, or every revert would retry (and fail on) it.
        state.saved = state.saved.filter((s) => s.path !== path);
        savedPaths.delete(path);
        try {
          writeState(stateFile, state);
        } catch {
          // the entry stays; writing an unchanged value back is harmless
        }
      }
      if (errno === "ENOENT") return ended(w.action, "skipped", { reason: NOT_PRESENT });
      if (w.skipOn?.errnos.includes(errno)) return ended(w.action, "skipped", { errno, reason: w.skipOn.reason });
      return ended(w.action, "failed", { errno, hint: hintFor(errno, path, value) });
    }
  });
}

/**
 * Writes every saved original back, last written first, and reports each (`applied`: restored).
 * Removes the state file when all are back; otherwise keeps only those not restored, for a
 * retry. A file that has gone away (IRQ freed, CPU offline) is `skipped` and dropped. No state
 * file: nothing to revert, `[]`.
 *
 * @example
 * const actions = revertHost(defaultStateFile(DEFAULT_HOST_ROOTS)); // ExecStopPost=+
 */
/** Whether `path` is one of the kinds of file the host tuner writes (sysfs, procfs sysctls, IRQs). */
export function isKnobPath(path: string, roots: HostRoots): boolean {
  const p = resolve(path);
  if (p.split(sep).includes("..")) return false;
  return [join(roots.sys, sep), join(roots.proc, "sys", sep), join(roots.proc, "irq", sep)].some((prefix) => p.startsWith(resolve(prefix) + sep));
}

export function revertHost(stateFile: string, roots: HostRoots = DEFAULT_HOST_ROOTS): TuneAction[] {
  let state: HostState | null;
  try {
    state = readState(stateFile);
  } catch (err) {
    const errno = errnoOf(err);
    return [{
      id: "host.revert",
      scope: "host",
      target: stateFile,
      desired: "the saved originals",
      status: "failed",
      ...(errno === "EUNKNOWN" ? {} : { errno }),
      reason: err instanceof Error ? err.message : String(err),
      hint: stateFileHint(stateFile),
    }];
  }
  if (state === null) return [];

  const actions: TuneAction[] = [];
  const left: SavedValue[] = [];
  for (const saved of [...state.saved].reverse()) {
    const action: TuneAction = { id: saved.id, scope: "host", target: saved.path, desired: saved.original.trim(), status: "applied", reason: "original restored" };
    // The state file is data, and root acts on it: write back only knob files the tuner writes.
    if (!isKnobPath(saved.path, roots)) {
      actions.push({ ...action, status: "failed", reason: "not a file the tuner writes: refused", hint: `inspect ${stateFile}; it names a path outside ${roots.sys} and ${roots.proc}/sys, ${roots.proc}/irq` });
      continue;
    }
    try {
      writeHostFile(saved.path, saved.original);
      actions.push(action);
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === "ENOENT") {
        actions.push({ ...action, status: "skipped", reason: `${NOT_PRESENT} any more` });
        continue;
      }
      const hint = errno === "EACCES" || errno === "EPERM" ? "needs root: run `tradingd tune --revert` as root (the unit's ExecStopPost=+)" : hintFor(errno, saved.path, action.desired);
      const { reason: _reason, ...rest } = action;
      actions.push({ ...rest, status: "failed", errno, hint });
      left.unshift(saved);
    }
  }
  if (left.length === 0) rmSync(stateFile, { force: true });
  else writeState(stateFile, { ...state, saved: left });
  return actions;
}
