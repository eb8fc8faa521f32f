/**
 * `/dev/cpu_dma_latency` (PM QoS): while an fd to it is open, the value written to it (a 32-bit
 * binary int, µs) bounds how deep any CPU may idle; closing the fd withdraws the request. So this
 * knob is held, not written and reverted (tuned's `force_latency`, cyclictest's latency trick).
 */
import { closeSync, constants, openSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { TuneAction } from "../action.ts";
import { hintFor } from "./apply.ts";
import type { HostRoots } from "./roots.ts";
import { errnoOf } from "./roots.ts";

export interface CpuDmaLatencyHold {
  action: TuneAction;
  /** Closes the fd, withdrawing the request. Idempotent. */
  release(): void;
}

/**
 * Opens `<dev>/cpu_dma_latency` and writes `us` in native byte order; keep the result until the
 * process ends (or call `release`). The device is root-only (crw-------): the process that
 * holds it must be root or have been given it.
 *
 * @example
 * const hold = holdCpuDmaLatency(DEFAULT_HOST_ROOTS, 0);
 * process.on("exit", () => hold.release());
 */
export function holdCpuDmaLatency(roots: HostRoots, us: number | "keep"): CpuDmaLatencyHold {
  const target = join(roots.dev, "cpu_dma_latency");
  const base = { id: "host.cpu_dma_latency", scope: "host", target, desired: String(us) } as const;
  const nothing = () => {};
  if (us === "keep") return { action: { ...base, status: "skipped", reason: "`keep` in config" }, release: nothing };
  if (!Number.isInteger(us) || us < 0 || us > 0x7fffffff) {
    return { action: { ...base, status: "failed", errno: "EINVAL", hint: "cpu_dma_latency_us must be an integer from 0 to 2147483647" }, release: nothing };
  }

  let fd: number;
  try {
    // No O_CREAT: a host without PM QoS has no such device, and that is "not present".
    fd = openSync(target, constants.O_WRONLY);
  } catch (err) {
    const errno = errnoOf(err);
    if (errno === "ENOENT") return { action: { ...base, status: "skipped", reason: "not present on this host" }, release: nothing };
    return { action: { ...base, status: "failed", errno, hint: hintFor(errno, target, String(us)) }, release: nothing };
  }
  const bytes = new Uint8Array(new Int32Array([us]).buffer);
  try {
    const written = writeSync(fd, bytes);
    if (written !== 4) throw Object.assign(new Error(`short write (${written} of 4 bytes)`), { code: "EIO" });
  } catch (err) {
    closeSync(fd);
    const errno = errnoOf(err);
    return { action: { ...base, status: "failed", errno, hint: hintFor(errno, target, String(us)) }, release: nothing };
  }

  let open = true;
  return {
    action: { ...base, status: "applied", reason: "held open for the life of the process; closing it reverts" },
    release() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
