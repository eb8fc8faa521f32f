// Worker side of clock.test.ts: waits for main's stamp, then answers with its own readings.
import { nowNs } from "../../daemon/shm/clock.ts";

declare const self: Worker;

self.onmessage = (ev: MessageEvent<SharedArrayBuffer>) => {
  const i32 = new Int32Array(ev.data, 0, 4);
  const f64 = new Float64Array(ev.data, 16, 4);
  // Round 1: main stamped f64[0] (process clock) and f64[1] (Bun.nanoseconds) before the flag.
  Atomics.wait(i32, 0, 0);
  f64[2] = nowNs();
  f64[3] = Bun.nanoseconds();
  Atomics.store(i32, 1, 1);
  Atomics.notify(i32, 1);
};
