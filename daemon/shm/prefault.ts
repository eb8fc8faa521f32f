/**
 * Commits memory now instead of on the hot path. A new `ArrayBuffer` or `SharedArrayBuffer` is
 * zero pages the kernel has not given yet: the first write to each 4 KiB page faults, and the
 * kernel allocates and zeroes it right then (a minor fault, a few µs here, more on a busy VM).
 * Tables indexed by order id (the order table, the strategy's and the simulated broker's order
 * arrays, the rings) are touched a new page at a time as ids advance, so without this an order
 * now and then pays that fault, and RSS climbs for minutes as if it leaked (the soak showed
 * ~16 MB over 10 minutes at 200 orders/s before this). `mlockall` runs with MCL_ONFAULT, which
 * does not fault pages in (ARCHITECTURE.md §8), so it does not help.
 *
 * Call it on a buffer's views when it is created, before any other thread sees the buffer: it
 * writes each page's first element with its own value.
 */

/** The page size assumed (x86-64 and most arm64 Linux); a larger page is touched more than once. */
const PAGE_BYTES = 4096;

type View = Int8Array | Uint8Array | Int32Array | Float64Array;

/** Touches every page of `view` (a write per page); returns `view`. */
export function prefault<T extends View>(view: T): T {
  const step = Math.max(1, PAGE_BYTES / view.BYTES_PER_ELEMENT);
  for (let i = 0; i < view.length; i += step) view[i] = view[i]!;
  return view;
}

/** Touches every page of `buffer` (a write per page). */
export function prefaultBuffer(buffer: ArrayBufferLike): void {
  prefault(new Uint8Array(buffer));
}
