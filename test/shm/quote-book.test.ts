import { describe, expect, test } from "bun:test";
import { QuoteBook } from "../../daemon/shm/quote-book.ts";
import type { WriterRequest, WriterResult } from "./quote-book-writer-fixture.ts";

// Control words shared with the writer fixture (see its doc comment). Only types are imported
// from the fixture: importing it as a value would run its worker code on this thread.
const C_STOP = 0;
const C_WRITES = 1;

function snapshot(book: QuoteBook) {
  return {
    bidPx: book.bidPx,
    askPx: book.askPx,
    bidSize: book.bidSize,
    askSize: book.askSize,
    recvNs: book.recvNs,
    lastTradePx: book.lastTradePx,
    lastTradeNs: book.lastTradeNs,
  };
}

/** Yields to the event loop until `cond()` holds (no timers). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe("QuoteBook in one thread", () => {
  test("read returns false for every symbol before its first write, and leaves the scratch fields alone", () => {
    const book = QuoteBook.create(3);
    book.writeQuote(1, 10, 10.01, 100, 200, 5);
    const other = new QuoteBook(book.sab, 3);
    expect({ s0: other.read(0), s2: other.read(2), scratch: snapshot(other) }).toEqual({
      s0: false,
      s2: false,
      scratch: { bidPx: 0, askPx: 0, bidSize: 0, askSize: 0, recvNs: 0, lastTradePx: 0, lastTradeNs: 0 },
    });
  });

  test("read returns the last quote written, with the last trade kept across later quotes", () => {
    const book = QuoteBook.create(2);
    book.writeQuote(0, 10, 10.01, 100, 200, 5);
    book.writeTrade(0, 10.005, 6);
    book.writeQuote(0, 10.02, 10.04, 300, 400, 7);
    const reader = new QuoteBook(book.sab, 2); // another thread's view of the same memory
    expect({ read: reader.read(0), entry: snapshot(reader) }).toEqual({
      read: true,
      entry: { bidPx: 10.02, askPx: 10.04, bidSize: 300, askSize: 400, recvNs: 7, lastTradePx: 10.005, lastTradeNs: 6 },
    });
  });

  test("a trade alone makes the entry readable (bid and ask still 0)", () => {
    const book = QuoteBook.create(1);
    book.writeTrade(0, 12.5, 3);
    expect({ read: book.read(0), entry: snapshot(book) }).toEqual({
      read: true,
      entry: { bidPx: 0, askPx: 0, bidSize: 0, askSize: 0, recvNs: 0, lastTradePx: 12.5, lastTradeNs: 3 },
    });
  });

  test("seq is 0 until the first write, then moves by 2 (stays even) on every quote or trade write, per symbol", () => {
    const book = QuoteBook.create(2);
    const seqs = [book.seq(0)];
    book.writeQuote(0, 1, 2, 1, 1, 1);
    seqs.push(book.seq(0));
    book.writeTrade(0, 1.5, 2);
    seqs.push(book.seq(0));
    book.writeQuote(0, 1, 2, 1, 1, 3); // identical prices still count as a write
    seqs.push(book.seq(0));
    expect({ seqs, other: book.seq(1) }).toEqual({ seqs: [0, 2, 4, 6], other: 0 });
  });

  test("entries do not overlap: writing every symbol keeps each symbol's own values", () => {
    const n = 16;
    const book = QuoteBook.create(n);
    for (let s = 0; s < n; s++) {
      book.writeQuote(s, s + 0.25, s + 0.5, s * 100, s * 200, s);
      book.writeTrade(s, s + 0.375, -s);
    }
    const got = Array.from({ length: n }, (_, s) => (book.read(s) ? snapshot(book) : null));
    expect(got).toEqual(
      Array.from({ length: n }, (_, s) => ({ bidPx: s + 0.25, askPx: s + 0.5, bidSize: s * 100, askSize: s * 200, recvNs: s, lastTradePx: s + 0.375, lastTradeNs: -s })),
    );
  });
});

describe("QuoteBook across threads", () => {
  test("100,000 reads racing a writer worker never see a torn quote or trade, and never go back in time", async () => {
    const symbols = 4;
    const symbolId = 2;
    const book = QuoteBook.create(symbols);
    const controlSab = new SharedArrayBuffer(8);
    const control = new Int32Array(controlSab);
    const worker = new Worker(new URL("./quote-book-writer-fixture.ts", import.meta.url));
    try {
      const done = new Promise<WriterResult>((resolve, reject) => {
        worker.onmessage = (e: MessageEvent<WriterResult>) => resolve(e.data);
        worker.onerror = (e: ErrorEvent) => reject(e.error ?? new Error(e.message));
      });
      worker.postMessage({ bookSab: book.sab, symbols, symbolId, controlSab } satisfies WriterRequest);
      // Start reading only once the writer is well under way.
      await until(() => Atomics.load(control, C_WRITES) >= 1024);

      const reader = new QuoteBook(book.sab, symbols);
      const READS = 100_000;
      let torn = 0;
      let backwards = 0;
      let changes = 0;
      let unreadable = 0;
      let last = 0;
      // At least READS reads, and on until the writer has moved 100 times: on a busy 2-vCPU host
      // the writer thread can be off the CPU for the whole first 100,000 reads.
      for (let r = 0; r < READS || (changes < 100 && r < 100_000_000); r++) {
        if (!reader.read(symbolId)) {
          unreadable++;
          continue;
        }
        const k = reader.bidPx;
        if (reader.askPx !== k + 1 || reader.bidSize !== k || reader.askSize !== k || reader.recvNs !== k) torn++;
        if (reader.lastTradePx !== reader.lastTradeNs) torn++;
        // The trade of write k lands after its quote: the trade seen is k's or k-1's.
        if (reader.lastTradePx !== -k && reader.lastTradePx !== -(k - 1)) torn++;
        if (k < last) backwards++;
        if (k !== last) changes++;
        last = k;
      }
      Atomics.store(control, C_STOP, 1);
      const { writes } = await done;
      expect({ torn, backwards, unreadable, otherSymbols: [0, 1, 3].map((s) => book.seq(s)) }).toEqual({
        torn: 0,
        backwards: 0,
        unreadable: 0,
        otherSymbols: [0, 0, 0],
      });
      // The reads overlapped the writes (otherwise the test proves nothing).
      expect(changes).toBeGreaterThanOrEqual(100);
      expect(writes).toBeGreaterThanOrEqual(last);
    } finally {
      worker.terminate();
    }
  });
});
