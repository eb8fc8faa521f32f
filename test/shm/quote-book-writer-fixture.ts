/**
 * Worker fixture for test/shm/quote-book.test.ts: the quote book's single writer, hammering one
 * entry with self-consistent tuples until told to stop.
 *
 * Write k (k = 1, 2, …): quote (bid = k, ask = k + 1, bid size = k, ask size = k, recv = k),
 * then trade (price = -k, time = -k). A reader that ever sees fields from two different k has
 * read a torn entry.
 *
 * Control words (Int32 over `controlSab`): [0] STOP, set by main to end the run; [1] WRITES, the
 * writer's last k (published with Atomics.store so main can wait for progress).
 */
import { QuoteBook } from "../../daemon/shm/quote-book.ts";

declare const self: Worker;

const C_STOP = 0;
const C_WRITES = 1;

export type WriterRequest = { bookSab: SharedArrayBuffer; symbols: number; symbolId: number; controlSab: SharedArrayBuffer };
export type WriterResult = { writes: number };

self.onmessage = (e: MessageEvent<WriterRequest>) => {
  const { bookSab, symbols, symbolId, controlSab } = e.data;
  const book = new QuoteBook(bookSab, symbols);
  const control = new Int32Array(controlSab);
  let k = 0;
  while (Atomics.load(control, C_STOP) === 0) {
    k++;
    book.writeQuote(symbolId, k, k + 1, k, k, k);
    book.writeTrade(symbolId, -k, -k);
    if ((k & 63) === 0) Atomics.store(control, C_WRITES, k); // progress for main to wait on
  }
  Atomics.store(control, C_WRITES, k);
  self.postMessage({ writes: k } satisfies WriterResult);
};
