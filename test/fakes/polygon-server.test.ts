/**
 * The fake Polygon stocks WebSocket server against Bun's own WebSocket client: the protocol byte
 * for byte against the fixtures (copied from the spec, docs and the PG-PY mock server), routing,
 * eviction, timeouts, every fault as a client sees it, and paced streaming. No sleeps: every
 * test awaits frames, closes or the server's `waitFor`.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  FakePolygonServer,
  GARBAGE_KINDS,
  OVERSIZED_FRAME_BYTES,
  PolygonMarket,
  type PolygonMarketEvent,
} from "../../daemon/fakes/polygon/index.ts";
import { WsClient } from "./ws-client-fixture.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/polygon");
/** A fixture file's text, as it goes on the wire (one line). */
const wire = async (name: string): Promise<string> => (await Bun.file(join(FIXTURES, name)).text()).trim();

const KEY = "test-key";

/** Connects and authenticates with `key`; the connected and auth_success frames are read. */
async function authed(fake: FakePolygonServer, key = KEY): Promise<WsClient> {
  const client = await WsClient.connect(fake.url);
  client.send({ action: "auth", params: key });
  await client.take(2);
  return client;
}

async function subscribed(fake: FakePolygonServer, params: string, key = KEY): Promise<WsClient> {
  const client = await authed(fake, key);
  client.send({ action: "subscribe", params });
  await client.take(params.split(",").length);
  return client;
}

const trade = (sym: string, q: number) => ({ ev: "T", sym, i: String(q), x: 10, p: 10.5, s: 100, t: 1651684192462, q, z: 3 });
const quote = (sym: string, q: number) => ({ ev: "Q", sym, bx: 4, bp: 10.49, bs: 1, ax: 7, ap: 10.51, as: 2, c: 0, t: 1651684192462, q, z: 3 });

describe("connect and auth", () => {
  test("connected, auth_success and each subscribe ack are separate frames equal to the fixtures byte for byte", async () => {
    const clientAuth = await wire("client_auth.json");
    await using fake = await FakePolygonServer.start({ apiKeys: [JSON.parse(clientAuth).params] });
    await using client = await WsClient.connect(fake.url);
    expect(await client.next()).toBe(await wire("ws_status_connected.json"));
    client.send(clientAuth);
    expect(await client.next()).toBe(await wire("ws_status_auth_success.json"));
    client.send(await wire("client_subscribe.json")); // "AM.AAPL, AM.MSFT": the docs' space after the comma
    const subscribedTMsft = await wire("ws_status_subscribed.json");
    expect(await client.take(2)).toEqual([subscribedTMsft.replace("T.MSFT", "AM.AAPL"), subscribedTMsft.replace("T.MSFT", "AM.MSFT")]);
    expect([...fake.connections[0]!.subscriptions.params]).toEqual(["AM.AAPL", "AM.MSFT"]);
  });

  test("a key not accepted gets auth_failed, then a close with code 1000", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await WsClient.connect(fake.url);
    client.send({ action: "auth", params: "wrong" });
    expect(await client.rest()).toEqual([await wire("ws_status_connected.json"), await wire("ws_status_auth_failed.json")]);
    expect((await client.closed).code).toBe(1000);
    expect(fake.connections[0]).toMatchObject({ key: "wrong", authenticated: false, open: false, closeCode: 1000 });
  });

  test("auth and subscribe sent back to back before any reply are answered in order, params trimmed", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await WsClient.connect(fake.url);
    // As the official Go client does on every (re)connect: no wait for `connected` or `auth_success`.
    client.send({ action: "auth", params: KEY });
    client.send({ action: "subscribe", params: "T.AAPL, Q.MSFT,AM.*" });
    expect(await client.take(5)).toEqual([
      '[{"ev":"status","status":"connected","message":"Connected Successfully"}]',
      '[{"ev":"status","status":"auth_success","message":"authenticated"}]',
      '[{"ev":"status","status":"success","message":"subscribed to: T.AAPL"}]',
      '[{"ev":"status","status":"success","message":"subscribed to: Q.MSFT"}]',
      '[{"ev":"status","status":"success","message":"subscribed to: AM.*"}]',
    ]);
  });

  test("subscribe before auth gets auth_required; malformed messages get status error and the socket stays open", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await WsClient.connect(fake.url);
    await client.next();
    client.send({ action: "subscribe", params: "T.AAPL" });
    client.send("not json");
    client.send("[1]");
    client.send({ action: "dance", params: "x" });
    client.send({ action: "auth", params: 5 });
    client.send({ action: "auth", params: KEY });
    client.send({ action: "subscribe", params: "T.AAPL,,bogus ,T." });
    const statuses = (await client.take(9)).map((f) => JSON.parse(f)[0]);
    expect(statuses).toEqual([
      { ev: "status", status: "auth_required", message: "authentication required" },
      { ev: "status", status: "error", message: "malformed message: not JSON" },
      { ev: "status", status: "error", message: "malformed message: expected a JSON object" },
      { ev: "status", status: "error", message: "unknown action: dance" },
      { ev: "status", status: "error", message: "malformed message: params of auth must be a string" },
      { ev: "status", status: "auth_success", message: "authenticated" },
      { ev: "status", status: "success", message: "subscribed to: T.AAPL" },
      { ev: "status", status: "error", message: "invalid subscription: bogus" },
      { ev: "status", status: "error", message: "invalid subscription: T." },
    ]);
    expect(fake.clientMessages.map((m) => m.text).slice(0, 2)).toEqual(['{"action":"subscribe","params":"T.AAPL"}', "not json"]);
  });

  test("no auth within authTimeoutMs gets auth_timeout, then a close", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY], authTimeoutMs: 30 });
    await using client = await WsClient.connect(fake.url);
    expect(await client.rest()).toEqual([await wire("ws_status_connected.json"), await wire("ws_status_auth_timeout.json")]);
    expect((await client.closed).code).toBe(1000);
  });

  test("any path upgrades (/stocks, /, /options); a plain HTTP request gets 426", async () => {
    await using fake = await FakePolygonServer.start();
    for (const path of ["/stocks", "/", "/options"]) {
      await using client = await WsClient.connect(`ws://127.0.0.1:${fake.port}${path}`);
      expect(await client.next()).toBe(await wire("ws_status_connected.json"));
    }
    expect(fake.connections.map((c) => c.path)).toEqual(["/stocks", "/", "/options"]);
    expect((await fetch(`http://127.0.0.1:${fake.port}/stocks`)).status).toBe(426);
  });
});

describe("Sec-WebSocket-Extensions", () => {
  test("Bun's client offers permessage-deflate unless told perMessageDeflate: false; the fake never accepts it", async () => {
    await using fake = await FakePolygonServer.start();
    await using byDefault = await WsClient.connect(fake.url, {});
    await using withoutDeflate = await WsClient.connect(fake.url, { perMessageDeflate: false });
    await byDefault.next();
    await withoutDeflate.next();
    expect(fake.connections.map((c) => c.offeredExtensions)).toEqual(["permessage-deflate; client_max_window_bits", null]);
    // Nothing negotiated: the server's response carried no extension.
    expect([byDefault.ws.extensions, withoutDeflate.ws.extensions]).toEqual(["", ""]);
  });
});

describe("data routing", () => {
  test("events go only to connections subscribed to their channel and symbol, or to the channel's *", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: ["a", "b"] });
    await using a = await subscribed(fake, "T.AAPL", "a");
    await using b = await subscribed(fake, "T.*,Q.MSFT", "b");
    expect(fake.publish([trade("AAPL", 1), trade("MSFT", 2), quote("MSFT", 3), quote("AAPL", 4)])).toBe(2);
    expect(JSON.parse(await a.next())).toEqual([trade("AAPL", 1)]);
    expect(JSON.parse(await b.next())).toEqual([trade("AAPL", 1), trade("MSFT", 2), quote("MSFT", 3)]);

    // The PG-PY mock's 2-trade frame: b gets it byte for byte, a (T.AAPL only) gets nothing.
    const amzn = await wire("ws_trades_mock_amzn.json");
    expect(fake.publish(JSON.parse(amzn))).toBe(1);
    expect(await b.next()).toBe(amzn);
    fake.publish([trade("AAPL", 5)]);
    expect(JSON.parse(await a.next())).toEqual([trade("AAPL", 5)]);
    expect(JSON.parse(await b.next())).toEqual([trade("AAPL", 5)]);

    // A raw string is not routed: every authenticated connection gets it as it is.
    expect(fake.publish('[{"ev":"X"}]')).toBe(2);
    expect([await a.next(), await b.next()]).toEqual(['[{"ev":"X"}]', '[{"ev":"X"}]']);
    expect(fake.stats).toMatchObject({ eventsSent: 1 + 3 + 2 + 2, framesDropped: 0 });
  });

  test("unsubscribe acks each param and stops that channel", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await subscribed(fake, "T.*,Q.MSFT");
    client.send({ action: "unsubscribe", params: "T.*, Q.AAPL" });
    expect(await client.take(2)).toEqual([
      '[{"ev":"status","status":"success","message":"unsubscribed to: T.*"}]',
      '[{"ev":"status","status":"success","message":"unsubscribed to: Q.AAPL"}]',
    ]);
    fake.publish([trade("MSFT", 1), quote("MSFT", 2)]);
    expect(JSON.parse(await client.next())).toEqual([quote("MSFT", 2)]);
  });

  test("connections not authenticated get no data", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using anonymous = await WsClient.connect(fake.url);
    await anonymous.next();
    expect(fake.publish([trade("AAPL", 1)])).toBe(0);
    expect(fake.publish("[]")).toBe(0);
  });
});

describe("one connection per key", () => {
  test("a second connection with the same key evicts the older one: max_connections, then close 1008", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using older = await subscribed(fake, "T.*");
    await using newer = await authed(fake);
    expect(await older.rest()).toEqual([await wire("ws_status_max_connections.json")]);
    expect((await older.closed).code).toBe(1008);
    await fake.waitFor(() => !fake.connections[0]!.open, "the older connection's close");
    expect(fake.connections.map((c) => [c.id, c.open, c.closeCode])).toEqual([
      [1, false, 1008],
      [2, true, null],
    ]);
    newer.send({ action: "subscribe", params: "T.AAPL" });
    await newer.next();
    expect(fake.publish([trade("AAPL", 1)])).toBe(1);
  });

  test("oneConnectionPerKey: false lets both stay", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY], oneConnectionPerKey: false });
    await using first = await subscribed(fake, "T.*");
    await using second = await subscribed(fake, "T.*");
    expect(fake.publish([trade("AAPL", 1)])).toBe(2);
    expect([await first.next(), await second.next()]).toEqual([JSON.stringify([trade("AAPL", 1)]), JSON.stringify([trade("AAPL", 1)])]);
  });
});

describe("faults on command", () => {
  test("sendStatus sends the status frame, then closes with the code given", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await authed(fake);
    fake.sendStatus("slow_consumer", "consumer too slow", { closeCode: 1011 });
    expect(await client.rest()).toEqual(['[{"ev":"status","status":"slow_consumer","message":"consumer too slow"}]']);
    expect((await client.closed).code).toBe(1011);
  });

  test("sendStatus without a close code leaves the socket open", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await subscribed(fake, "T.*");
    expect(fake.sendStatus("force_disconnect", "bye")).toBe(1);
    expect(await client.next()).toBe('[{"ev":"status","status":"force_disconnect","message":"bye"}]');
    fake.publish([trade("AAPL", 1)]);
    expect(JSON.parse(await client.next())).toEqual([trade("AAPL", 1)]);
  });

  test("maxConnections sends max_connections then closes 1008, one connection by id", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: ["a", "b"] });
    await using a = await authed(fake, "a");
    await using b = await subscribed(fake, "T.*", "b");
    expect(fake.maxConnections({ connectionId: 1 })).toBe(1);
    expect(await a.rest()).toEqual([await wire("ws_status_max_connections.json")]);
    expect((await a.closed).code).toBe(1008);
    expect(fake.publish([trade("AAPL", 1)])).toBe(1);
    expect(JSON.parse(await b.next())).toEqual([trade("AAPL", 1)]);
  });

  test("abruptClose drops TCP without a Close frame: the client sees 1006, not clean", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await authed(fake);
    fake.abruptClose();
    expect(await client.closed).toEqual({ code: 1006, reason: "", wasClean: false });
    await fake.waitFor(() => fake.openConnections.length === 0, "the server to see the close");
  });

  test("each garbage kind arrives as one frame exactly as sent", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await authed(fake);
    const seen: Record<string, { same: boolean; json: string; bytes: string }> = {};
    for (const kind of GARBAGE_KINDS) {
      const sent = fake.sendGarbage(kind);
      const got = await client.next();
      let json = "array";
      try {
        const v = JSON.parse(got);
        if (!Array.isArray(v)) json = "not an array";
      } catch {
        json = "does not parse";
      }
      seen[kind] = { same: got === sent, json, bytes: Buffer.byteLength(got) > OVERSIZED_FRAME_BYTES - 1 ? "> 1 MB" : "small" };
    }
    const small = { same: true, json: "array", bytes: "small" };
    expect(seen).toEqual({
      malformed_json: { ...small, json: "does not parse" },
      non_array_json: { ...small, json: "not an array" },
      unknown_ev: small,
      missing_fields: small,
      wrong_types: small,
      negative_values: small,
      nan_values: { ...small, json: "does not parse" },
      unknown_symbol: small,
      oversized_frame: { ...small, bytes: "> 1 MB" },
    });
    expect(fake.sendGarbage("negative_values")).toContain('"p":-1');
  });

  test("stall drops data and replies but answers pings; resume brings data back", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await subscribed(fake, "T.*");
    fake.stall();
    expect(fake.publish([trade("AAPL", 1)])).toBe(0);
    client.send({ action: "subscribe", params: "Q.*" }); // its ack is dropped too
    await fake.waitFor(() => fake.connections[0]!.subscriptions.params.has("Q.*"), "the subscribe to be read");
    const pong = new Promise<string>((resolve) => client.ws.addEventListener("pong", (e) => resolve(String(e.data)), { once: true }));
    client.ws.ping("still there?");
    expect(await pong).toBe("still there?");
    fake.resume();
    fake.publish([trade("AAPL", 2)]);
    expect(JSON.parse(await client.next())).toEqual([trade("AAPL", 2)]);
    expect(fake.connections[0]).toMatchObject({ framesDropped: 2 });
  });
});

describe("stream", () => {
  test("count 995 in batches of 10 at 20 000 events/s: 100 frames, the last of 5, sequence numbers consecutive, never early", async () => {
    await using fake = await FakePolygonServer.start({ apiKeys: [KEY] });
    await using client = await subscribed(fake, "T.*,Q.*");
    const written: number[] = [];
    const result = await fake.stream({
      rate: 20_000,
      batch: 10,
      count: 995,
      symbols: ["AAPL", "MSFT"],
      kinds: ["T", "Q"],
      onFrameWritten: (seq) => written.push(seq),
    });
    const frames = (await client.take(100)).map((f) => JSON.parse(f) as PolygonMarketEvent[]);
    const seqs = frames.flat().map((e) => (e as { q: number }).q);
    expect({
      result: { ...result, elapsedNs: result.elapsedNs >= 99 * 500_000 },
      sizes: frames.map((f) => f.length),
      seqs,
      written,
    }).toEqual({
      result: { events: 995, frames: 100, framesDelivered: 100, elapsedNs: true },
      sizes: [...Array(99).fill(10), 5],
      seqs: Array.from({ length: 995 }, (_, k) => k + 1),
      written: Array.from({ length: 100 }, (_, k) => 1 + 10 * k),
    });
  });

  test("durationMs stops the stream; a signal stops it early", async () => {
    await using fake = await FakePolygonServer.start();
    const timed = await fake.stream({ rate: 10_000, batch: 10, durationMs: 20 });
    expect(timed.frames).toBe(20); // frames due at 0, 1, …, 19 ms
    const abort = new AbortController();
    const stopped = await fake.stream({ rate: 1_000, count: 1_000_000, signal: abort.signal, onFrameWritten: (seq) => seq === 3 && abort.abort() });
    expect(stopped.events).toBe(3);
  });
});

describe("PolygonMarket", () => {
  const clock = () => {
    let t = 1_700_000_000_000;
    return () => (t += 3);
  };

  test("the same seed and clock give the same events", () => {
    const one = new PolygonMarket({ symbols: ["AAPL", "MSFT"], seed: 7, kinds: ["T", "Q", "A", "AM"], clockMs: clock() }).batch(500);
    const two = new PolygonMarket({ symbols: ["AAPL", "MSFT"], seed: 7, kinds: ["T", "Q", "A", "AM"], clockMs: clock() }).batch(500);
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
  });

  test("events carry the spec's fields, c of a trade sometimes absent, TRF fields sometimes present, q increasing per symbol", () => {
    const events = new PolygonMarket({ symbols: ["AAPL", "MSFT", "NVDA"], seed: 3, kinds: ["T", "Q", "A", "AM"], weights: { A: 10, AM: 10 }, clockMs: clock() }).batch(5_000);
    const keys = new Map<string, Set<string>>();
    const lastQ = new Map<string, number>();
    let qIncreasing = true;
    let integersMs = true;
    for (const e of events) {
      const set = keys.get(e.ev) ?? new Set();
      for (const k of Object.keys(e)) set.add(k);
      keys.set(e.ev, set);
      if (e.ev === "T" || e.ev === "Q") {
        const key = `${e.ev}.${e.sym}`;
        if ((lastQ.get(key) ?? 0) >= e.q) qIncreasing = false;
        lastQ.set(key, e.q);
        if (!Number.isInteger(e.t) || String(e.t).length !== 13) integersMs = false;
      } else if (e.e - e.s !== (e.ev === "A" ? 1_000 : 60_000) || !Number.isInteger(e.s)) integersMs = false;
    }
    const trades = events.filter((e) => e.ev === "T");
    expect({
      T: [...keys.get("T")!].sort(),
      Q: [...keys.get("Q")!].sort(),
      A: [...keys.get("A")!].sort(),
      AM: [...keys.get("AM")!].sort(),
      tradeIdsAreStrings: trades.every((e) => typeof e.i === "string"),
      someTradesWithoutC: trades.some((e) => !("c" in e)),
      someTrf: trades.some((e) => e.trfi !== undefined && e.trft! < e.t && e.x === 4),
      qIncreasing,
      integersMs,
    }).toEqual({
      T: ["c", "ev", "i", "p", "q", "s", "sym", "t", "trfi", "trft", "x", "z"],
      Q: ["ap", "as", "ax", "bp", "bs", "bx", "c", "ev", "i", "q", "sym", "t", "z"],
      A: ["a", "av", "c", "e", "ev", "h", "l", "o", "op", "s", "sym", "v", "vw", "z"],
      AM: ["a", "av", "c", "e", "ev", "h", "l", "o", "op", "s", "sym", "v", "vw", "z"],
      tradeIdsAreStrings: true,
      someTradesWithoutC: true,
      someTrf: true,
      qIncreasing: true,
      integersMs: true,
    });
  });
});
