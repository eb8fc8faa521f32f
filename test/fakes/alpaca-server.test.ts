/**
 * The fake Alpaca Trading API and trade_updates stream against `fetch` and Bun's WebSocket:
 * the order lifecycle, every error path byte for byte against the fixtures (copied from the
 * OpenAPI spec, the docs and real responses quoted in Alpaca's repositories, see PROTOCOLS.md
 * §B–C), rate limiting, fault injection, and the stream's auth forms and binary frames.
 * No sleeps: every test awaits responses, stream frames or the server's `waitFor`.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { nowNs } from "../../daemon/shm/clock.ts";
import { DEFAULT_KEY_ID, DEFAULT_SECRET_KEY, FakeAlpacaServer, type FakeAlpacaServerOptions } from "../../daemon/fakes/alpaca/index.ts";
import { AlpacaStreamClient } from "./alpaca-stream-client-fixture.ts";

const FIXTURES = join(import.meta.dir, "../fixtures/alpaca");
/** A fixture file's text, as it goes on the wire (one line). */
const wire = async (name: string): Promise<string> => (await Bun.file(join(FIXTURES, name)).text()).trim();
const fixture = async (name: string): Promise<any> => JSON.parse(await wire(name));

const AUTH = { "APCA-API-KEY-ID": DEFAULT_KEY_ID, "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY };
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/** Go's RFC3339Nano in UTC. */
const RFC3339_NANO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;

interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

async function call(fake: FakeAlpacaServer, method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH): Promise<Answer> {
  const res = await fetch(fake.url + path, {
    method,
    headers,
    body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const order = (fields: Record<string, unknown>) => ({ symbol: "AAPL", qty: "1", side: "buy", type: "market", time_in_force: "day", ...fields });

async function start(options: FakeAlpacaServerOptions = {}): Promise<FakeAlpacaServer> {
  return FakeAlpacaServer.start({ symbols: ["AAPL", "MSFT"], ...options });
}

/** A stream client authenticated and listening to trade_updates (both replies read). */
async function listening(fake: FakeAlpacaServer): Promise<AlpacaStreamClient> {
  const client = await AlpacaStreamClient.connect(fake.streamUrl);
  client.send({ action: "authenticate", data: { key_id: DEFAULT_KEY_ID, secret_key: DEFAULT_SECRET_KEY } });
  client.send({ action: "listen", data: { streams: ["trade_updates"] } });
  await client.take(2);
  return client;
}

/** The next trade update's event and order status. */
async function nextEvent(client: AlpacaStreamClient): Promise<{ event: string; status: string; data: Record<string, any> }> {
  const message = await client.nextJson();
  expect(message.stream).toBe("trade_updates");
  return { event: message.data.event, status: message.data.order.status, data: message.data };
}

/** The body with the server-made ids and times replaced by the fixture's, for a whole comparison. */
function withFixtureIdentity(body: Record<string, unknown>, fix: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out = { ...body };
  for (const k of keys) out[k] = fix[k];
  return out;
}

const shape = (value: Record<string, unknown>) => Object.entries(value).map(([k, v]) => [k, v === null ? "null" : typeof v]);

describe("orders", () => {
  test("the spec's limit order request gets 200 and an accepted Order equal to EquityOrderResponse but for ids and times", async () => {
    await using fake = await start();
    const res = await call(fake, "POST", "/v2/orders", await wire("http_post_orders_request.json"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json; charset=UTF-8");
    const body = JSON.parse(res.text);
    expect(body.id).toMatch(UUID_V4);
    expect(body.client_order_id).toMatch(UUID_V4);
    for (const k of ["created_at", "updated_at", "submitted_at"]) expect(body[k]).toMatch(RFC3339_NANO_UTC);
    const fix = await fixture("http_post_orders_200.json");
    const normalized = withFixtureIdentity(body, fix, ["id", "client_order_id", "created_at", "updated_at", "submitted_at"]);
    expect(JSON.stringify(normalized)).toBe(await wire("http_post_orders_200.json"));
    expect(fake.orders).toHaveLength(1);
    expect(fake.order(body.client_order_id)?.id).toBe(body.id);
  });

  test("lifecycle: POST → 200 accepted; the stream says new then fill at the ask; the position equals the spec's example byte for byte", async () => {
    await using fake = await start();
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "174.76", "174.78");
    const res = await call(fake, "POST", "/v2/orders", order({ qty: "2", client_order_id: "lifecycle-1" }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ status: "accepted", client_order_id: "lifecycle-1", filled_qty: "0" });

    const newFrame = await stream.nextFrame();
    const fillFrame = await stream.nextFrame();
    expect([newFrame.binary, fillFrame.binary]).toEqual([true, true]);
    const [created, filled] = [JSON.parse(newFrame.text).data, JSON.parse(fillFrame.text).data];
    expect([created.event, created.order.status, filled.event, filled.order.status]).toEqual(["new", "new", "fill", "filled"]);
    expect(Object.keys(created)).toEqual(Object.keys((await fixture("ws_trade_updates_new.json")).data));
    const fillFixture = (await fixture("ws_trade_updates_fill.json")).data;
    expect(Object.keys(filled)).toEqual(Object.keys(fillFixture));
    // The docs' order keys, plus the REST example's subtag and source, all sorted.
    expect(Object.keys(filled.order)).toEqual([...Object.keys(fillFixture.order), "subtag", "source"].sort());
    expect(filled).toMatchObject({ price: "174.78", qty: "2", position_qty: "2", order: { filled_qty: "2", filled_avg_price: "174.78" } });
    expect(filled.execution_id).toMatch(UUID_V4);
    expect(filled.execution_id).not.toBe(created.execution_id);
    expect(filled.timestamp).toBe(filled.order.filled_at);

    fake.setQuote("AAPL", "174.28", "174.30", { lastdayPrice: "174.61" });
    expect((await call(fake, "GET", "/v2/positions")).text).toBe(await wire("http_get_positions_200.json"));
    expect((await call(fake, "GET", "/v2/positions/AAPL")).text).toBe(JSON.stringify((await fixture("http_get_positions_200.json"))[0]));
    const account = JSON.parse((await call(fake, "GET", "/v2/account")).text);
    expect([account.cash, account.long_market_value, account.equity]).toEqual(["99650.44", "348.58", "99999.02"]);
    expect(JSON.parse((await call(fake, "GET", "/v2/orders/" + created.order.id)).text)).toMatchObject({ status: "filled", filled_at: filled.order.filled_at });
  });

  test("a resting limit buy fills at the ask when a later quote crosses it; a sell fills at the bid; a flat position is 404", async () => {
    await using fake = await start();
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "150.90", "151.00");
    const buy = JSON.parse((await call(fake, "POST", "/v2/orders", order({ type: "limit", limit_price: "150", qty: "3", time_in_force: "gtc" }))).text);
    expect((await nextEvent(stream)).event).toBe("new");
    expect(JSON.parse((await call(fake, "GET", "/v2/orders")).text).map((o: { id: string }) => o.id)).toEqual([buy.id]);
    fake.setQuote("AAPL", "149.80", "149.90");
    expect((await nextEvent(stream)).data).toMatchObject({ event: "fill", price: "149.9", qty: "3", position_qty: "3" });

    await call(fake, "POST", "/v2/orders", order({ side: "sell", type: "limit", limit_price: "149", qty: "3" }));
    expect((await nextEvent(stream)).event).toBe("new");
    expect((await nextEvent(stream)).data).toMatchObject({ event: "fill", price: "149.8", position_qty: "0" });
    const gone = await call(fake, "GET", "/v2/positions/AAPL");
    expect([gone.status, gone.text]).toEqual([404, await wire("http_404_position_does_not_exist.json")]);
    expect(fake.positions).toEqual([]);
    // Bought 3 at 149.90, sold 3 at 149.80.
    expect(fake.account.cash).toBe("99999.7");
  });

  test("stops trigger when touched; a trailing stop follows its mark; a notional buy fills notional/ask shares to 9 places", async () => {
    await using fake = await start();
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "99", "100");
    await call(fake, "POST", "/v2/orders", order({ type: "stop", stop_price: "101" }));
    expect((await nextEvent(stream)).event).toBe("new");
    fake.setQuote("AAPL", "100", "101");
    expect((await nextEvent(stream)).data).toMatchObject({ event: "fill", price: "101" });

    const trailing = JSON.parse((await call(fake, "POST", "/v2/orders", order({ side: "sell", type: "trailing_stop", trail_price: "2", time_in_force: "gtc" }))).text);
    expect((await nextEvent(stream)).data.order).toMatchObject({ hwm: "100", stop_price: "98" });
    fake.setQuote("AAPL", "105", "106");
    fake.setQuote("AAPL", "103.5", "104");
    expect(fake.order(trailing.id)).toMatchObject({ status: "new", hwm: "105", stop_price: "103" });
    fake.setQuote("AAPL", "103", "103.5");
    expect((await nextEvent(stream)).data).toMatchObject({ event: "fill", price: "103", position_qty: "0" });

    await call(fake, "POST", "/v2/orders", order({ qty: undefined, notional: "100" }));
    await stream.next();
    expect((await nextEvent(stream)).data).toMatchObject({ event: "fill", price: "103.5", qty: "0.966183574", order: { notional: "100", qty: null } });
  });

  test("a sell beyond the long position opens a short, checked against buying power", async () => {
    await using fake = await start({ cash: "1000" });
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "10", "10.01");
    expect((await call(fake, "POST", "/v2/orders", order({ side: "sell", qty: "101" }))).status).toBe(403);
    await call(fake, "POST", "/v2/orders", order({ side: "sell", qty: "5" }));
    await stream.next();
    expect((await nextEvent(stream)).data).toMatchObject({ event: "fill", price: "10", position_qty: "-5" });
    expect(fake.positions[0]).toMatchObject({ side: "short", qty: "-5", market_value: "-50.025", cost_basis: "-50", unrealized_pl: "-0.025" });
  });

  test("ioc and fok orders that cannot fill are canceled right after new", async () => {
    await using fake = await start();
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "99", "101");
    await call(fake, "POST", "/v2/orders", order({ type: "limit", limit_price: "100", time_in_force: "ioc" }));
    await call(fake, "POST", "/v2/orders", order({ type: "limit", limit_price: "100", time_in_force: "fok" }));
    const events = [];
    for (let k = 0; k < 4; k++) events.push(await nextEvent(stream));
    expect(events.map((e) => `${e.event}/${e.data.order.time_in_force}`)).toEqual(["new/ioc", "canceled/ioc", "new/fok", "canceled/fok"]);
    expect(events[1]!.data.order.canceled_at).toMatch(RFC3339_NANO_UTC);
  });

  test("manual mode: partial_fill then fill carry each execution's qty and price; filled_avg_price is the average", async () => {
    await using fake = await start({ fillMode: "manual" });
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "9", "10");
    const { id } = JSON.parse((await call(fake, "POST", "/v2/orders", order({ qty: "2" }))).text);
    expect((await nextEvent(stream)).event).toBe("new");
    fake.fill(id, "1", "10");
    fake.fill(id, 1, 11);
    const [partial, full] = [await nextEvent(stream), await nextEvent(stream)];
    expect([partial.data.event, partial.data.qty, partial.data.price, partial.data.position_qty, partial.status]).toEqual(["partial_fill", "1", "10", "1", "partially_filled"]);
    expect([full.data.event, full.data.qty, full.data.price, full.data.position_qty, full.data.order.filled_avg_price]).toEqual(["fill", "1", "11", "2", "10.5"]);
    expect(fake.positions[0]).toMatchObject({ qty: "2", avg_entry_price: "10.5", cost_basis: "21" });
    expect(() => fake.fill(id, "1", "10")).toThrow("filled");
  });

  test("cancel: 204 with no body, then canceled on the stream; cancelling again is 422 (text ours); the client_order_id stays taken", async () => {
    await using fake = await start({ fillMode: "never" });
    await using stream = await listening(fake);
    const { id } = JSON.parse((await call(fake, "POST", "/v2/orders", order({ client_order_id: "once" }))).text);
    expect((await nextEvent(stream)).event).toBe("new");
    const cancel = await call(fake, "DELETE", `/v2/orders/${id}`);
    expect([cancel.status, cancel.text]).toEqual([204, ""]);
    const canceled = await nextEvent(stream);
    expect([canceled.event, canceled.status]).toEqual(["canceled", "canceled"]);
    expect(canceled.data.order.cancel_requested_at).toMatch(RFC3339_NANO_UTC);
    const again = await call(fake, "DELETE", `/v2/orders/${id}`);
    expect([again.status, again.text]).toEqual([422, '{"code":42210000,"message":"order is not cancelable"}']);
    const duplicate = await call(fake, "POST", "/v2/orders", order({ client_order_id: "once" }));
    expect([duplicate.status, duplicate.text]).toEqual([422, await wire("http_422_client_order_id_unique.json")]);
    expect(fake.orders).toHaveLength(1);
  });

  test("DELETE /v2/orders answers 207 with {id, status: 200} per open order, like the spec's example", async () => {
    await using fake = await start({ fillMode: "never" });
    await using stream = await listening(fake);
    const a = JSON.parse((await call(fake, "POST", "/v2/orders", order({}))).text);
    const b = JSON.parse((await call(fake, "POST", "/v2/orders", order({ symbol: "MSFT" }))).text);
    await stream.take(2);
    const res = await call(fake, "DELETE", "/v2/orders");
    expect(res.status).toBe(207);
    const example = (await wire("http_delete_orders_207.json")).replace(/^\[|\]$/g, "");
    expect(res.text).toBe(`[${example.replace("d56ba3ea-6d04-48ce-8175-817e242ee608", a.id)},${example.replace("d56ba3ea-6d04-48ce-8175-817e242ee608", b.id)}]`);
    expect((await nextEvent(stream)).event).toBe("canceled");
    expect((await nextEvent(stream)).event).toBe("canceled");
    expect((await call(fake, "DELETE", "/v2/orders")).text).toBe("[]");
  });

  test("GET /v2/orders: status open (default) / closed / all, limit, direction (desc default), symbols, side, after/until exclusive", async () => {
    await using fake = await start({ fillMode: "never" });
    await using stream = await listening(fake);
    const ids: string[] = [];
    for (const symbol of ["AAPL", "MSFT", "AAPL"]) ids.push(JSON.parse((await call(fake, "POST", "/v2/orders", order({ symbol }))).text).id);
    await stream.take(3);
    await call(fake, "DELETE", `/v2/orders/${ids[0]}`);
    await stream.next();
    const list = async (query: string) => JSON.parse((await call(fake, "GET", `/v2/orders${query}`)).text).map((o: { id: string }) => ids.indexOf(o.id));
    const submitted = fake.orders.map((o) => o.submitted_at);
    expect({
      open: await list(""),
      closed: await list("?status=closed"),
      all: await list("?status=all"),
      asc: await list("?status=all&direction=asc"),
      limit: await list("?status=all&limit=2"),
      symbols: await list("?status=all&symbols=MSFT,TSLA"),
      side: await list("?status=all&side=sell"),
      after: await list(`?status=all&after=${submitted[0]}`),
      until: await list(`?status=all&until=${submitted[2]}`),
    }).toEqual({ open: [2, 1], closed: [0], all: [2, 1, 0], asc: [0, 1, 2], limit: [2, 1], symbols: [1], side: [], after: [2, 1], until: [1, 0] });
    expect((await call(fake, "GET", "/v2/orders?status=bogus")).status).toBe(422);
  });

  test("lookups: by client_order_id, by id; unknown ids are 404 and a non-UUID id is 422 order_id is missing, byte for byte", async () => {
    await using fake = await start({ fillMode: "never" });
    const created = JSON.parse((await call(fake, "POST", "/v2/orders", order({ client_order_id: "lookup-1" }))).text);
    const byClient = await call(fake, "GET", "/v2/orders:by_client_order_id?client_order_id=lookup-1");
    expect([byClient.status, JSON.parse(byClient.text).id]).toEqual([200, created.id]);
    const answers = await Promise.all([
      call(fake, "GET", "/v2/orders:by_client_order_id?client_order_id=nope"),
      call(fake, "GET", "/v2/orders/7b08df51-c1ac-453c-99f9-323a5f075f0d"),
      call(fake, "DELETE", "/v2/orders/7b08df51-c1ac-453c-99f9-323a5f075f0d"),
      call(fake, "GET", "/v2/orders/not-a-uuid"),
      call(fake, "DELETE", "/v2/orders/not-a-uuid"),
    ]);
    const notFound = await wire("http_404_order_not_found.json");
    const missing = await wire("http_422_order_id_missing.json");
    expect(answers.map((a) => [a.status, a.text])).toEqual([[404, notFound], [404, notFound], [404, notFound], [422, missing], [422, missing]]);
    await fake.waitFor(() => fake.order(created.id)?.status === "new", "the order's new");
    expect(JSON.parse((await call(fake, "GET", `/v2/orders/${created.id}`)).text)).toEqual({ ...created, status: "new", updated_at: fake.order(created.id)!.updated_at });
  });

  test("PATCH replaces a working order: 200 with a new order that `replaces` the old; the stream says replaced then new", async () => {
    await using fake = await start({ fillMode: "never" });
    await using stream = await listening(fake);
    const old = JSON.parse((await call(fake, "POST", "/v2/orders", order({ type: "limit", limit_price: "100", qty: "5" }))).text);
    await stream.next();
    const res = await call(fake, "PATCH", `/v2/orders/${old.id}`, { limit_price: "101", client_order_id: "replacement" });
    const replacement = JSON.parse(res.text);
    expect(res.status).toBe(200);
    expect(replacement).toMatchObject({ replaces: old.id, limit_price: "101", qty: "5", client_order_id: "replacement", status: "accepted" });
    expect(replacement.id).not.toBe(old.id);
    const [replaced, renewed] = [await nextEvent(stream), await nextEvent(stream)];
    expect([replaced.event, replaced.data.order.id, replaced.data.order.replaced_by, renewed.event, renewed.data.order.id]).toEqual(["replaced", old.id, replacement.id, "new", replacement.id]);
    expect((await call(fake, "PATCH", `/v2/orders/${old.id}`, { qty: "1" })).status).toBe(422);
  });

  test("closing positions: DELETE /v2/positions/{symbol} → 200 market Order; DELETE /v2/positions → 207 shaped like the spec's example", async () => {
    await using fake = await start();
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "10", "10.01");
    fake.setQuote("MSFT", "20", "20.01");
    await call(fake, "POST", "/v2/orders", order({ qty: "4" }));
    await call(fake, "POST", "/v2/orders", order({ symbol: "MSFT", qty: "2" }));
    await stream.take(4);
    const partial = await call(fake, "DELETE", "/v2/positions/AAPL?percentage=50");
    expect(JSON.parse(partial.text)).toMatchObject({ symbol: "AAPL", side: "sell", type: "market", time_in_force: "day", qty: "2", status: "accepted" });
    await stream.take(2);
    expect(fake.positions.map((p) => [p.symbol, p.qty])).toEqual([["AAPL", "2"], ["MSFT", "2"]]);

    fake.fillMode = "never";
    const all = await call(fake, "DELETE", "/v2/positions?cancel_orders=true");
    expect(all.status).toBe(207);
    const results = JSON.parse(all.text);
    const example = (await fixture("http_delete_positions_207.json"))[0];
    expect(results.map((r: { symbol: string }) => r.symbol)).toEqual(["AAPL", "MSFT"]);
    expect(Object.keys(results[0])).toEqual(Object.keys(example));
    const { subtag, source, ...body } = results[0].body;
    expect([subtag, source]).toEqual([null, null]);
    // The example's fields in its order (it predates subtag and source), ids and times aside.
    expect(JSON.stringify(withFixtureIdentity(body, example.body, ["id", "client_order_id", "created_at", "updated_at", "submitted_at"]))).toBe(JSON.stringify(example.body));
    expect((await call(fake, "DELETE", "/v2/positions/TSLA")).text).toBe(await wire("http_404_position_does_not_exist.json"));
  });
});

describe("errors", () => {
  test("order validation errors are 422 with the real texts where known, byte for byte", async () => {
    await using fake = await start();
    const cases: [unknown, string][] = [
      [{ symbol: "AAPL", side: "buy", type: "market", time_in_force: "day" }, await wire("http_422_qty_or_notional_required.json")],
      [order({ notional: "10" }), await wire("http_422_only_one_of_qty_or_notional.json")],
      [order({ qty: "1.5", type: "limit", limit_price: "10" }), await wire("http_422_qty_must_be_integer.json")],
      [order({ symbol: "NOPE" }), await wire("http_422_invalid_symbol.json")],
      // Ours: no source gives these texts.
      [order({ type: "limit" }), '{"code":40010001,"message":"limit_price is required"}'],
      [order({ type: "stop" }), '{"code":40010001,"message":"stop_price is required"}'],
      [order({ side: "short" }), '{"code":40010001,"message":"invalid side"}'],
      [order({ time_in_force: "gtd" }), '{"code":40010001,"message":"invalid time_in_force"}'],
      [order({ client_order_id: "x".repeat(129) }), '{"code":40010001,"message":"client_order_id must be no more than 128 characters"}'],
      ["{not json", '{"code":40010000,"message":"request body format is invalid"}'],
    ];
    const answers = await Promise.all(cases.map(([body]) => call(fake, "POST", "/v2/orders", body)));
    expect(answers.map((a) => [a.status, a.text])).toEqual(cases.map(([, text]) => [422, text]));
    expect(fake.orders).toEqual([]);
    const longest = await call(fake, "POST", "/v2/orders", order({ client_order_id: "x".repeat(128) }));
    expect(longest.status).toBe(200);
  });

  test("an order costing more than the buying power is 403 with the real body, byte for byte", async () => {
    await using fake = await start({ cash: "176531.28" });
    // 320,000 × 152 = 48,640,000: the cost basis of the real response.
    const res = await call(fake, "POST", "/v2/orders", order({ type: "limit", limit_price: "152", qty: "320000" }));
    expect([res.status, res.text]).toEqual([403, await wire("http_403_insufficient_buying_power.json")]);
    const notional = await call(fake, "POST", "/v2/orders", order({ qty: undefined, notional: "176531.29" }));
    expect(notional.text).toBe('{"buying_power":"176531.28","code":40310000,"cost_basis":"176531.29","message":"insufficient buying power"}');
    expect(fake.orders).toEqual([]);
  });

  test("open buy orders hold buying power until they fill or are canceled", async () => {
    await using fake = await start({ cash: "1000", fillMode: "never" });
    const first = JSON.parse((await call(fake, "POST", "/v2/orders", order({ type: "limit", limit_price: "100", qty: "6" }))).text);
    expect(fake.buyingPower).toBe("400");
    expect((await call(fake, "POST", "/v2/orders", order({ type: "limit", limit_price: "100", qty: "5" }))).status).toBe(403);
    await call(fake, "DELETE", `/v2/orders/${first.id}`);
    await fake.waitFor(() => fake.order(first.id)?.status === "canceled", "the cancel");
    expect(fake.buyingPower).toBe("1000");
  });

  test("missing or wrong credentials are 401 {\"message\":\"unauthorized\"} (no code), byte for byte", async () => {
    await using fake = await start();
    const unauthorized = await wire("http_401.json");
    const answers = await Promise.all([
      call(fake, "GET", "/v2/account", undefined, {}),
      call(fake, "GET", "/v2/account", undefined, { "APCA-API-KEY-ID": DEFAULT_KEY_ID }),
      call(fake, "GET", "/v2/account", undefined, { ...AUTH, "APCA-API-SECRET-KEY": "wrong" }),
      call(fake, "POST", "/v2/orders", order({}), { "APCA-API-KEY-ID": "PKNOTAKEY", "APCA-API-SECRET-KEY": DEFAULT_SECRET_KEY }),
    ]);
    expect(answers.map((a) => [a.status, a.text])).toEqual(Array(4).fill([401, unauthorized]));
    expect(answers.every((a) => a.headers.has("x-ratelimit-limit"))).toBe(true);
    expect(fake.orders).toEqual([]);
  });

  test("rate limit: every answer has X-RateLimit-*; the 201st request in a minute is 429 with the real body; other keys are not affected", async () => {
    const other = { keyId: "PKOTHER", secretKey: "other-secret" };
    await using fake = await start({ keys: [{ keyId: DEFAULT_KEY_ID, secretKey: DEFAULT_SECRET_KEY }, other] });
    const remaining: string[] = [];
    let reset = "";
    for (let k = 0; k < 200; k++) {
      const res = await call(fake, "GET", "/v2/clock");
      expect(res.status).toBe(200);
      remaining.push(res.headers.get("x-ratelimit-remaining")!);
      expect(res.headers.get("x-ratelimit-limit")).toBe("200");
      reset = res.headers.get("x-ratelimit-reset")!;
    }
    expect(remaining).toEqual(Array.from({ length: 200 }, (_, k) => String(199 - k)));
    const nowSec = Date.now() / 1000;
    expect(Number(reset)).toBeGreaterThan(nowSec);
    expect(Number(reset)).toBeLessThanOrEqual(Math.ceil(nowSec) + 60);
    const limited = await call(fake, "GET", "/v2/clock");
    expect([limited.status, limited.text, limited.headers.get("x-ratelimit-remaining"), limited.headers.get("x-ratelimit-reset")]).toEqual([
      429,
      await wire("http_429.json"),
      "0",
      reset,
    ]);
    const otherKey = await call(fake, "GET", "/v2/clock", undefined, { "APCA-API-KEY-ID": other.keyId, "APCA-API-SECRET-KEY": other.secretKey });
    expect([otherKey.status, otherKey.headers.get("x-ratelimit-remaining")]).toEqual([200, "199"]);
  });

  test("rateLimitPerMin is configurable", async () => {
    await using fake = await start({ rateLimitPerMin: 3 });
    const statuses = [];
    for (let k = 0; k < 4; k++) statuses.push((await call(fake, "GET", "/v2/account")).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  test("unknown endpoints are 404 and wrong methods 405 (texts ours)", async () => {
    await using fake = await start();
    expect((await call(fake, "GET", "/v2/nope")).text).toBe('{"code":40410000,"message":"endpoint not found"}');
    expect((await call(fake, "PUT", "/v2/account")).status).toBe(405);
  });
});

describe("account and clock", () => {
  test("GET /v2/account has the spec example's fields, in its order, with its value types", async () => {
    await using fake = await start({ cash: "122086.5" });
    const account = JSON.parse((await call(fake, "GET", "/v2/account")).text);
    expect(shape(account)).toEqual(shape(await fixture("http_get_account_200.json")));
    expect(account).toMatchObject({ cash: "122086.5", buying_power: "122086.5", equity: "122086.5", status: "ACTIVE", multiplier: "1" });
    expect(account.id).toMatch(UUID_V4);
  });

  test("GET /v2/clock has the example's fields and formats: New York offset, nanoseconds on the timestamp", async () => {
    await using fake = await start({ marketOpen: true });
    const clock = JSON.parse((await call(fake, "GET", "/v2/clock")).text);
    expect(shape(clock)).toEqual(shape(await fixture("http_get_clock_200.json")));
    expect(clock.timestamp).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?-0[45]:00$/);
    expect(clock.next_open).toMatch(/T09:30:00-0[45]:00$/);
    expect(clock.next_close).toMatch(/T16:00:00-0[45]:00$/);
    expect(clock.is_open).toBe(true);
    fake.marketOpen = false;
    expect(JSON.parse((await call(fake, "GET", "/v2/clock")).text).is_open).toBe(false);
  });
});

describe("faults", () => {
  test("failNext answers the next matching requests with the status (default bodies), then the server is itself again", async () => {
    await using fake = await start();
    fake.failNext({ status: 500, count: 2 });
    fake.failNext({ status: 429, path: "/v2/orders", method: "POST" });
    fake.failNext({ status: 403, path: "/v2/orders", method: "POST" });
    fake.failNext({ status: 503, path: /^\/v2\/positions/, body: { code: 1, message: "x" }, headers: { "Retry-After": "1" } });
    const a = await Promise.all([call(fake, "GET", "/v2/account"), call(fake, "GET", "/v2/account"), call(fake, "GET", "/v2/account")]);
    expect(a.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(a[0]!.text).toBe('{"code":50010000,"message":"internal server error"}');
    const limited = await call(fake, "POST", "/v2/orders", order({}));
    expect([limited.status, limited.text, limited.headers.get("x-ratelimit-remaining")]).toEqual([429, await wire("http_429.json"), "0"]);
    const forbidden = await call(fake, "POST", "/v2/orders", order({}));
    expect([forbidden.status, forbidden.text]).toEqual([403, '{"buying_power":"100000","code":40310000,"cost_basis":"0","message":"insufficient buying power"}']);
    const unavailable = await call(fake, "GET", "/v2/positions");
    expect([unavailable.status, unavailable.text, unavailable.headers.get("retry-after")]).toEqual([503, '{"code":1,"message":"x"}', "1"]);
    expect(fake.orders).toEqual([]);
    expect(fake.requests.map((r) => r.injected)).toEqual([true, true, false, true, true, true]);
    expect((await call(fake, "POST", "/v2/orders", order({}))).status).toBe(200);
  });

  test("delayNext: the slow request is answered after a later fast one", async () => {
    await using fake = await start();
    fake.delayNext(100, { path: "/v2/account" });
    const finished: string[] = [];
    const slow = call(fake, "GET", "/v2/account").then(() => finished.push("slow"));
    await fake.waitFor(() => fake.requests.length === 1, "the slow request");
    await call(fake, "GET", "/v2/clock").then(() => finished.push("fast"));
    await slow;
    expect(finished).toEqual(["fast", "slow"]);
  });

  test("dropAfterAccept: fetch fails without an answer, yet the order is live and found by client_order_id", async () => {
    await using fake = await start();
    await using stream = await listening(fake);
    fake.setQuote("AAPL", "10", "10.01");
    fake.dropAfterAccept();
    const lost = await fetch(`${fake.url}/v2/orders`, { method: "POST", headers: AUTH, body: JSON.stringify(order({ client_order_id: "lost-1" })) }).then(
      (res) => `answered ${res.status}`,
      (e: { code?: string }) => `failed ${e.code}`,
    );
    expect(lost).toBe("failed ECONNRESET");
    expect([(await nextEvent(stream)).event, (await nextEvent(stream)).event]).toEqual(["new", "fill"]);
    const found = await call(fake, "GET", "/v2/orders:by_client_order_id?client_order_id=lost-1");
    expect([found.status, JSON.parse(found.text).status]).toEqual([200, "filled"]);
    const retry = await call(fake, "POST", "/v2/orders", order({ client_order_id: "lost-1" }));
    expect([retry.status, retry.text]).toEqual([422, await wire("http_422_client_order_id_unique.json")]);
    expect(fake.requests.map((r) => [r.dropped, r.status])).toEqual([[true, null], [false, 200], [false, 422]]);
  });

  test("onRequest sees each request (method, path, headers, body, atNs) before it is answered", async () => {
    const seen: string[] = [];
    await using fake = await start({
      onRequest: (r) => seen.push(`${r.method} ${r.path} ${r.headers["apca-api-key-id"]} ${r.body} ${r.status}`),
    });
    const before = nowNs();
    await call(fake, "POST", "/v2/orders?x=1", order({}));
    expect(seen).toEqual([`POST /v2/orders?x=1 ${DEFAULT_KEY_ID} ${JSON.stringify(order({}))} null`]);
    expect(fake.requests[0]!.atNs).toBeGreaterThan(before);
    expect(fake.requests[0]!.atNs).toBeLessThan(nowNs());
    expect(fake.requests[0]!.status).toBe(200);
  });

  test("rejectNext: the order is accepted (200) and then rejected on the stream; pendingNew adds pending_new before new", async () => {
    await using fake = await start({ fillMode: "never", pendingNew: true });
    await using stream = await listening(fake);
    fake.rejectNext();
    expect((await call(fake, "POST", "/v2/orders", order({}))).status).toBe(200);
    const rejected = await nextEvent(stream);
    expect([rejected.event, rejected.status]).toEqual(["rejected", "rejected"]);
    expect(rejected.data.order.failed_at).toMatch(RFC3339_NANO_UTC);
    const { id } = JSON.parse((await call(fake, "POST", "/v2/orders", order({}))).text);
    expect([(await nextEvent(stream)).event, (await nextEvent(stream)).event]).toEqual(["pending_new", "new"]);
    fake.doneForDay(id);
    expect((await nextEvent(stream)).event).toBe("done_for_day");
    const other = JSON.parse((await call(fake, "POST", "/v2/orders", order({}))).text);
    await stream.take(2);
    fake.expire(other.id);
    const expired = await nextEvent(stream);
    expect([expired.event, expired.status, typeof expired.data.order.expired_at]).toEqual(["expired", "expired", "string"]);
  });
});

describe("trade_updates stream", () => {
  test("both auth forms get authorized, listen gets listening, all as binary frames equal to the fixtures", async () => {
    await using fake = await start();
    for (const name of ["client_authenticate.json", "client_auth.json"]) {
      await using client = await AlpacaStreamClient.connect(fake.streamUrl);
      client.send((await wire(name)).replaceAll("{YOUR_API_KEY_ID}", DEFAULT_KEY_ID).replaceAll("{YOUR_API_SECRET_KEY}", DEFAULT_SECRET_KEY));
      client.send(await wire("client_listen.json"));
      const frames = [await client.nextFrame(), await client.nextFrame()];
      expect(frames).toEqual([
        { text: await wire("ws_authorization_authorized.json"), binary: true },
        { text: await wire("ws_listening.json"), binary: true },
      ]);
    }
    expect(fake.streamConnections.map((c) => [c.authenticated, [...c.streams]])).toEqual([[true, ["trade_updates"]], [true, ["trade_updates"]]]);
  });

  test("binaryStreamFrames: false sends text frames", async () => {
    await using fake = await start({ binaryStreamFrames: false });
    await using client = await listening(fake);
    await call(fake, "POST", "/v2/orders", order({}));
    expect((await client.nextFrame()).binary).toBe(false);
    expect(client.frames.every((f) => !f.binary)).toBe(true);
  });

  test("a wrong secret gets unauthorized, then a close", async () => {
    await using fake = await start();
    await using client = await AlpacaStreamClient.connect(fake.streamUrl);
    client.send({ action: "auth", key: DEFAULT_KEY_ID, secret: "wrong" });
    expect(await client.rest()).toEqual([await wire("ws_authorization_unauthorized.json")]);
    expect((await client.closed).code).toBe(1000);
  });

  test("listen before auth gets unauthorized with action listen and the socket stays open; unknown streams are left out", async () => {
    await using fake = await start();
    await using client = await AlpacaStreamClient.connect(fake.streamUrl);
    client.send({ action: "listen", data: { streams: ["trade_updates"] } });
    expect(await client.next()).toBe(await wire("ws_authorization_unauthorized_listen.json"));
    client.send({ action: "authenticate", data: { key_id: DEFAULT_KEY_ID, secret_key: DEFAULT_SECRET_KEY } });
    client.send({ action: "listen", data: { streams: ["trade_updates", "account_updates"] } });
    client.send("not json");
    expect(await client.take(3)).toEqual([
      await wire("ws_authorization_authorized.json"),
      await wire("ws_listening.json"),
      '{"stream":"error","data":{"error_message":"invalid message: not JSON"}}',
    ]);
  });

  test("events go only to connections listening to trade_updates", async () => {
    await using fake = await start({ fillMode: "never" });
    await using listener = await listening(fake);
    await using silent = await AlpacaStreamClient.connect(fake.streamUrl);
    silent.send({ action: "authenticate", data: { key_id: DEFAULT_KEY_ID, secret_key: DEFAULT_SECRET_KEY } });
    expect(await silent.next()).toBe(await wire("ws_authorization_authorized.json"));
    const first = JSON.parse((await call(fake, "POST", "/v2/orders", order({}))).text);
    expect((await nextEvent(listener)).data.order.id).toBe(first.id);
    silent.send({ action: "listen", data: { streams: ["trade_updates"] } });
    expect(await silent.next()).toBe(await wire("ws_listening.json"));
    const second = JSON.parse((await call(fake, "POST", "/v2/orders", order({}))).text);
    expect((await nextEvent(silent)).data.order.id).toBe(second.id);
  });

  test("dropStream closes the socket without a close frame (1006); stallStream drops events until resumeStream", async () => {
    await using fake = await start({ fillMode: "never" });
    await using dropped = await listening(fake);
    fake.dropStream();
    expect((await dropped.closed).code).toBe(1006);

    await using stalled = await listening(fake);
    fake.stallStream();
    await call(fake, "POST", "/v2/orders", order({ client_order_id: "unseen" }));
    await fake.waitFor(() => fake.tradeUpdates.length === 1, "the unseen order's new");
    fake.resumeStream();
    await call(fake, "POST", "/v2/orders", order({ client_order_id: "seen" }));
    expect((await nextEvent(stalled)).data.order.client_order_id).toBe("seen");
    expect(fake.openStreamConnections.map((c) => c.framesDropped)).toEqual([1]);
  });
});
