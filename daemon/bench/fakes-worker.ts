/**
 * The fake exchange (`FakeExchange`: the Polygon and Alpaca fakes) on a thread of its own, so
 * `tradingd bench --feed polygon / --broker alpaca` does not run the fakes on its main thread,
 * beside the supervisor. Started by `startFakesWorker` (daemon/bench/fakes.ts); an entry point
 * of the build (scripts/build.ts) so the compiled binary holds it.
 *
 * Protocol: the parent posts `{ type: "start", options }`; this thread answers
 * `{ type: "started", ... }` (URLs, keys, its tid) or `{ type: "error", message }`. The parent
 * posts `{ type: "stop" }`; this thread closes the servers and answers `{ type: "stopped" }`.
 */
import { FakeExchange } from "./fakes.ts";
import type { FakesWorkerReply, FakesWorkerRequest } from "./fakes.ts";
import { gettid } from "../../ffi/libc.ts";

declare const self: Worker;

let exchange: FakeExchange | null = null;

self.onmessage = async (ev: MessageEvent<FakesWorkerRequest>) => {
  const msg = ev.data;
  const reply = (m: FakesWorkerReply) => self.postMessage(m);
  if (msg.type === "start") {
    try {
      exchange = await FakeExchange.start(msg.options);
      reply({
        type: "started",
        tid: gettid(),
        polygonUrl: exchange.polygonUrl,
        polygonKey: exchange.polygonKey,
        alpacaUrl: exchange.alpaca.url,
        alpacaStreamUrl: exchange.alpaca.streamUrl,
        alpacaKeyId: exchange.alpacaKeyId,
        alpacaSecretKey: exchange.alpacaSecretKey,
      });
    } catch (e) {
      reply({ type: "error", message: e instanceof Error ? e.message : String(e) });
    }
  } else if (msg.type === "stop") {
    await exchange?.close().catch(() => undefined);
    exchange = null;
    reply({ type: "stopped" });
  }
};
