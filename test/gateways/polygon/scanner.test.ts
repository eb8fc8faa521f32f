/**
 * FrameScanner against JSON.parse: every example frame of the spec and PROTOCOLS.md, a seeded
 * generator of random valid frames, malformed frames (hand-written and mutated), validateEvent at
 * each boundary, and a coarse no-allocation guard.
 *
 * The oracle for every frame is `JSON.parse`: it throws ⇔ the scanner says MALFORMED_JSON; it
 * gives a non-array ⇔ NOT_AN_ARRAY; an array holding a non-object ⇔ NOT_AN_OBJECT; otherwise each
 * event's `materialize` equals the parsed object restricted to the spec's keys for its kind, the
 * scanner's `badFields` are exactly the spec keys whose parsed value has another JSON type, and
 * `symbolId` is the configured index of the parsed `sym`.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ev, MAX_CODES, PolygonEvent } from "../../../daemon/gateways/polygon/event.ts";
import { FrameScanner, Kind, ScanError, SPEC_KEYS, fieldNames, materialize } from "../../../daemon/gateways/polygon/scanner.ts";
import { BAD_INPUT_NAMES, BadInput, reason as fullReason, validateEvent } from "../../../daemon/gateways/polygon/validate.ts";

const FIXTURES = join(import.meta.dir, "../../fixtures/polygon");
/** SCANNER_SEED=n varies the random frames (a failure prints its frame). */
const SEED = Number(process.env.SCANNER_SEED ?? 20_240_501);
const SYMBOLS = ["MSFT", "AAPL", "AMZN", "SPCE", "GTE", "BRK.A", "ÆØÅ", "😀X", "A"];

// ---- the oracle ---------------------------------------------------------------------------------

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Obj = { [k: string]: Json };
interface Scanned {
  error: ScanError;
  events: { kind: Ev; obj: Record<string, unknown>; bad: string[]; symbolId: number }[];
}

function kindOf(o: Obj): Ev {
  if (!Object.hasOwn(o, "ev")) return Ev.NONE;
  switch (o.ev) {
    case "T": return Ev.T;
    case "Q": return Ev.Q;
    case "A": return Ev.A;
    case "AM": return Ev.AM;
    case "status": return Ev.STATUS;
  }
  return Ev.UNKNOWN;
}

const isInt32 = (x: Json) => typeof x === "number" && (x | 0) === x && !Object.is(x, -0);
/** The JSON type check of one spec field, as the spec gives it. */
function typeOk(kind: Ev, key: string, v: Json): boolean {
  const intArray = (kind === Ev.T && key === "c") || (kind === Ev.Q && key === "i");
  if (intArray) return Array.isArray(v) && v.length <= MAX_CODES && v.every(isInt32);
  if (key === "otc") return typeof v === "boolean";
  if (["ev", "sym", "status", "message", "ds"].includes(key) || (kind === Ev.T && key === "i")) return typeof v === "string";
  return typeof v === "number";
}

function expected(frame: string): Scanned {
  let v: Json;
  try {
    v = JSON.parse(frame) as Json;
  } catch {
    return { error: ScanError.MALFORMED_JSON, events: [] };
  }
  if (!Array.isArray(v)) return { error: ScanError.NOT_AN_ARRAY, events: [] };
  if (!v.every((e) => typeof e === "object" && e !== null && !Array.isArray(e))) return { error: ScanError.NOT_AN_OBJECT, events: [] };
  return {
    error: ScanError.NONE,
    events: (v as Obj[]).map((o) => {
      const kind = kindOf(o);
      const obj: Record<string, unknown> = {};
      const bad: string[] = [];
      for (const key of SPEC_KEYS[kind]!) {
        if (!Object.hasOwn(o, key)) continue;
        obj[key] = o[key];
        if (!typeOk(kind, key, o[key]!)) bad.push(key);
      }
      const symbolId = SPEC_KEYS[kind]!.includes("sym") && typeof o.sym === "string" && !bad.includes("sym") ? SYMBOLS.indexOf(o.sym) : -1;
      return { kind, obj, bad, symbolId };
    }),
  };
}

function scan(scanner: FrameScanner, frame: string): Scanned & { offset: number } {
  const ev = new PolygonEvent();
  const events: Scanned["events"] = [];
  if (scanner.begin(frame)) {
    while (scanner.next(ev)) {
      events.push({ kind: ev.ev, obj: materialize(ev, frame, scanner), bad: fieldNames(ev.badFields, ev.ev), symbolId: ev.symbolId });
    }
  }
  if (scanner.error !== ScanError.NONE) events.length = 0; // the caller drops the frame
  return { error: scanner.error, offset: scanner.errorOffset, events };
}

function expectSameAsJsonParse(scanner: FrameScanner, frame: string): Scanned {
  const got = scan(scanner, frame);
  const want = expected(frame);
  try {
    expect({ error: got.error, events: got.events }).toEqual(want);
  } catch (e) {
    throw new Error(`frame ${JSON.stringify(frame)}: ${(e as Error).message}`);
  }
  return want;
}

// ---- a seeded generator of random valid frames ------------------------------------------------

function mulberry32(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class FrameGenerator {
  readonly #r: () => number;
  constructor(seed: number) {
    this.#r = mulberry32(seed);
  }
  chance(p: number): boolean {
    return this.#r() < p;
  }
  int(n: number): number {
    return Math.floor(this.#r() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
  ws(): string {
    if (!this.chance(0.12)) return "";
    let w = "";
    for (let n = 1 + this.int(3); n > 0; n--) w += this.pick([" ", "\t", "\n", "\r", "  "]);
    return w;
  }
  /** A JSON string literal for `s`, escaping at random (and where JSON requires it). */
  str(s: string, escapeRate = 0.15): string {
    let out = '"';
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      const hex = () => "\\u" + c.toString(16).padStart(4, "0")[this.chance(0.5) ? "toUpperCase" : "toLowerCase"]();
      if (c === 0x22) out += this.chance(0.8) ? '\\"' : hex();
      else if (c === 0x5c) out += this.chance(0.8) ? "\\\\" : hex();
      else if (c < 0x20) {
        const short = { 8: "\\b", 9: "\\t", 10: "\\n", 12: "\\f", 13: "\\r" }[c];
        out += short && this.chance(0.7) ? short : hex();
      } else if (c === 0x2f && this.chance(0.3)) out += "\\/";
      else if (this.chance(escapeRate)) out += hex();
      else out += s[i];
    }
    return out + '"';
  }
  text(): string {
    const parts = ["a", "Z", "0", " ", "/", '"', "\\", "\n", "\t", "\b", "\f", "\r", "\u0001", "\u001f", "é", "€", "ÆØÅ", "😀", "\ud800", "\udc00", "subscribed to: T.*", "authenticated"];
    let s = "";
    for (let n = this.int(8); n > 0; n--) s += this.pick(parts);
    return s;
  }
  /** JSON number text of many shapes. */
  num(kind: "int" | "price" | "any"): string {
    const r = this.int(kind === "any" ? 14 : kind === "int" ? 6 : 8);
    const digits = (n: number) => Array.from({ length: n }, () => this.int(10)).join("");
    switch (r) {
      case 0: return String(this.int(1000));
      case 1: return String(1_600_000_000_000 + this.int(100_000_000_000)); // ms timestamp
      case 2: return String(this.pick([2 ** 53, 2 ** 53 - 1, 2 ** 31, 2 ** 31 - 1, 0, 1]));
      case 3: return this.pick(["-0", "0", "-1", "9007199254740993", "18446744073709551616"]); // 2^53+1, 2^64: slow path
      case 4: return String(this.int(100_000));
      case 5: return `${1 + this.int(9)}${digits(this.int(17))}`; // up to 18 digits
      case 6: return `${this.int(1000)}.${digits(1 + this.int(4))}`; // a price
      case 7: return (this.chance(0.5) ? "-" : "") + `${this.int(100)}.${digits(1 + this.int(20))}`; // long fraction
      case 8: return `${this.int(10)}.${digits(this.int(3) + 1)}${this.pick(["e", "E"])}${this.pick(["", "+", "-"])}${this.int(30)}`;
      case 9: return this.pick(["-0.0", "0.0", "-0e5", "0e-999", "1e400", "-1e400", "5e-324", "2.2250738585072014e-308", "1.7976931348623157e308", "1e-400"]);
      case 10: return String(this.#r() * 10 ** (this.int(40) - 20)); // shortest round-trip text, maybe with e
      case 11: return `${this.int(100)}e${this.int(25)}`;
      case 12: return `0.${"0".repeat(this.int(25))}${1 + this.int(9)}`;
      default: return `-${this.int(1_000_000)}.${digits(1 + this.int(6))}`;
    }
  }
  /** Any JSON value, nested up to `depth` (unknown keys, wrong types). */
  value(depth: number): string {
    const r = this.int(depth > 0 ? 8 : 6);
    switch (r) {
      case 0: return this.str(this.text());
      case 1: return this.num("any");
      case 2: return this.pick(["true", "false", "null"]);
      case 3: return "[]";
      case 4: return "{}";
      case 5: return this.num("int");
      case 6: return `[${this.ws()}${Array.from({ length: this.int(4) }, () => this.value(depth - 1)).join(`${this.ws()},${this.ws()}`)}${this.ws()}]`;
      default: return `{${this.ws()}${Array.from({ length: this.int(4) }, () => `${this.str(this.text())}${this.ws()}:${this.ws()}${this.value(depth - 1)}`).join(`${this.ws()},${this.ws()}`)}${this.ws()}}`;
    }
  }
  codes(): string {
    const n = this.chance(0.03) ? MAX_CODES + 1 : this.int(5);
    const items = Array.from({ length: n }, () => (this.chance(0.03) ? this.pick(["1.5", "-0", '"12"', "null", "2147483648", "-2147483649", "1e2"]) : String(this.int(100))));
    return `[${this.ws()}${items.join(`${this.ws()},${this.ws()}`)}${this.ws()}]`;
  }
  symbol(): string {
    const sym = this.chance(0.75) ? this.pick(SYMBOLS) : this.pick(["TSLA", "MSF", "MSFTX", "", "aapl", "BRK/A", "é"]);
    return this.str(sym, this.chance(0.2) ? 0.5 : 0);
  }
  event(): string {
    const kind = this.pick(["T", "T", "Q", "Q", "Q", "A", "AM", "status", "LULD", "none", "evnum"] as const);
    const fields: [string, string][] = [];
    const opt = (key: string, value: () => string, p = 0.6) => {
      if (this.chance(p)) fields.push([key, value()]);
    };
    const n = (k: "int" | "price" | "any") => () => this.num(k);
    if (kind === "T") {
      opt("sym", () => this.symbol(), 0.97);
      opt("x", n("int"), 0.9);
      opt("i", () => this.str(String(this.int(1e6)) + (this.chance(0.1) ? this.text() : "")), 0.9);
      opt("z", n("int"), 0.9);
      opt("p", n("price"), 0.95);
      opt("s", n("int"), 0.95);
      opt("c", () => this.codes(), 0.6);
      opt("t", n("int"), 0.95);
      opt("q", n("int"), 0.9);
      opt("trfi", n("int"), 0.2);
      opt("trft", n("int"), 0.2);
      opt("ds", () => this.str(`${this.int(100)}.${this.int(1000)}`), 0.1);
    } else if (kind === "Q") {
      opt("sym", () => this.symbol(), 0.97);
      for (const k of ["bx", "bp", "bs", "ax", "ap", "as"]) opt(k, n(k.endsWith("p") ? "price" : "int"), 0.95);
      opt("c", n("int"), 0.7);
      opt("i", () => this.codes(), 0.5);
      opt("t", n("int"), 0.95);
      opt("q", n("int"), 0.9);
      opt("z", n("int"), 0.9);
      opt("trfi", n("int"), 0.1);
      opt("trft", n("int"), 0.1);
    } else if (kind === "A" || kind === "AM") {
      opt("sym", () => this.symbol(), 0.97);
      for (const k of ["v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"]) opt(k, n(["v", "av", "z", "s", "e"].includes(k) ? "int" : "price"), 0.93);
      opt("otc", () => this.pick(["true", "false"]), 0.2);
    } else if (kind === "status") {
      opt("status", () => this.str(this.pick(["connected", "auth_success", "auth_failed", "auth_timeout", "success", "max_connections", "error", this.text()])), 0.95);
      opt("message", () => this.str(this.text(), 0.3), 0.9);
    } else {
      opt("T", () => this.str("MSFT"));
      opt("h", n("price"));
      opt("i", () => this.codes());
    }
    // wrong JSON types and nulls
    for (const f of fields) if (this.chance(0.02)) f[1] = this.value(2);
    // unknown keys, with nested values
    for (let u = this.chance(0.25) ? 1 + this.int(3) : 0; u > 0; u--) {
      fields.splice(this.int(fields.length + 1), 0, [this.pick(["foo", "P", "Sym", "trf", "ee", "status2", "", "é", "a\\b"]), this.value(3)]);
    }
    // keys of other kinds (skipped for this one)
    if (this.chance(0.1)) fields.push([this.pick(["bp", "p", "otc", "status", "message", "v", "ds"]), this.value(1)]);
    // duplicates: the last wins
    if (fields.length > 0 && this.chance(0.05)) {
      const f = this.pick(fields);
      fields.splice(this.int(fields.length + 1), 0, [f[0], this.chance(0.5) ? this.value(1) : f[1]]);
    }
    // ev: first in most events, elsewhere (or twice, or absent, or not a string) in others
    if (kind !== "none") {
      const evText = kind === "evnum" ? this.value(1) : this.str(kind === "LULD" ? this.pick(["LULD", "NOI", "t", "am", "Status", ""]) : kind, this.chance(0.05) ? 1 : 0);
      if (this.chance(0.85)) fields.unshift(["ev", evText]);
      else fields.splice(this.int(fields.length + 1), 0, ["ev", evText]);
      if (this.chance(0.02)) fields.splice(this.int(fields.length + 1), 0, ["ev", this.str(this.pick(["T", "Q", "AM", "status", "X"]))]);
    }
    if (this.chance(0.1)) {
      // shuffle completely
      for (let i = fields.length - 1; i > 0; i--) {
        const j = this.int(i + 1);
        [fields[i], fields[j]] = [fields[j]!, fields[i]!];
      }
    }
    const members = fields.map(([k, v]) => `${this.ws()}${k.startsWith('"') ? k : this.str(k, this.chance(0.03) ? 1 : 0)}${this.ws()}:${this.ws()}${v}${this.ws()}`);
    return `{${members.join(",")}${members.length === 0 ? this.ws() : ""}}`;
  }
  frame(maxEvents = 8): string {
    const events = Array.from({ length: this.int(maxEvents + 1) }, () => this.event());
    return `${this.ws()}[${this.ws()}${events.join(`${this.ws()},${this.ws()}`)}${this.ws()}]${this.ws()}`;
  }
}

// ---- tests ----------------------------------------------------------------------------------------

describe("FrameScanner on the documented examples", () => {
  const examples = JSON.parse(readFileSync(join(FIXTURES, "scanner-examples.json"), "utf8")) as string[];
  const wireFixtures = readdirSync(FIXTURES).filter((f) => f.startsWith("ws_") && f.endsWith(".json"));

  test("every example frame of the spec and PROTOCOLS.md scans to what JSON.parse gives", () => {
    expect(examples.length).toBeGreaterThanOrEqual(30);
    const scanner = new FrameScanner(SYMBOLS);
    for (const frame of examples) {
      const want = expectSameAsJsonParse(scanner, frame);
      expect(want.error).toBe(ScanError.NONE);
    }
  });

  test("the ws_*.json wire fixtures beside them scan to what JSON.parse gives", () => {
    const scanner = new FrameScanner(SYMBOLS);
    for (const file of wireFixtures) expectSameAsJsonParse(scanner, readFileSync(join(FIXTURES, file), "utf8"));
  });

  test("the spec's T, Q, A and AM examples validate; the mock trade without `c` too", () => {
    const scanner = new FrameScanner(SYMBOLS);
    const ev = new PolygonEvent();
    const reasons: string[] = [];
    for (const frame of examples) {
      scanner.begin(frame);
      while (scanner.next(ev)) reasons.push(`${SPEC_KEYS[ev.ev]![0] ? scanner.stringAt(frame, ev.evStart, ev.evEnd) : "?"}:${BAD_INPUT_NAMES[validateEvent(ev, false)]}`);
    }
    expect(reasons.filter((r) => !r.startsWith("status:"))).toEqual([
      "T:none",
      "Q:none",
      "A:none",
      "AM:none",
      "LULD:unknown_ev",
      "NOI:unknown_ev",
      "T:none",
      "T:none",
      "T:none",
      "T:none",
      "Q:none",
    ]);
    expect(reasons.filter((r) => r.startsWith("status:")).every((r) => r === "status:none")).toBe(true);
  });

  test("the scanner's inlined Kind equals event.ts's Ev", () => {
    expect([Kind.NONE, Kind.T, Kind.Q, Kind.A, Kind.AM, Kind.STATUS, Kind.UNKNOWN] as number[]).toEqual([Ev.NONE, Ev.T, Ev.Q, Ev.A, Ev.AM, Ev.STATUS, Ev.UNKNOWN]);
  });

  test("a trade's fields land in the event struct", () => {
    const scanner = new FrameScanner(SYMBOLS);
    const ev = new PolygonEvent();
    const frame = examples[0]!;
    expect(scanner.begin(frame)).toBe(true);
    expect(scanner.next(ev)).toBe(true);
    expect({ ev: ev.ev, sym: ev.symbolId, x: ev.x, p: ev.p, s: ev.s, t: ev.t, q: ev.q, z: ev.z, codes: [...ev.codes.subarray(0, ev.codeCount)], id: scanner.stringAt(frame, ev.idStart, ev.idEnd) }).toEqual({
      ev: Ev.T,
      sym: 0,
      x: 4,
      p: 114.125,
      s: 100,
      t: 1536036818784,
      q: 3681328,
      z: 3,
      codes: [0, 12],
      id: "12345",
    });
    expect(Number.isNaN(ev.trfi) && Number.isNaN(ev.bp)).toBe(true);
    expect(scanner.next(ev)).toBe(false);
    expect(scanner.error).toBe(ScanError.NONE);
  });
});

describe("FrameScanner on random valid frames (seeded)", () => {
  test("5,000 random frames: every event materializes to JSON.parse's object, bad fields and symbol ids agree", () => {
    const gen = new FrameGenerator(SEED);
    const scanner = new FrameScanner(SYMBOLS);
    let events = 0;
    let badEvents = 0;
    const kinds = new Set<Ev>();
    for (let n = 0; n < 5_000; n++) {
      const frame = gen.frame();
      const want = expectSameAsJsonParse(scanner, frame);
      expect(want.error).toBe(ScanError.NONE);
      events += want.events.length;
      for (const e of want.events) {
        kinds.add(e.kind);
        if (e.bad.length > 0) badEvents++;
      }
    }
    // The generator covers what it should.
    expect(events).toBeGreaterThan(15_000);
    expect(badEvents).toBeGreaterThan(200);
    expect([...kinds].sort()).toEqual([Ev.NONE, Ev.T, Ev.Q, Ev.A, Ev.AM, Ev.STATUS, Ev.UNKNOWN].sort());
  });

  test("one scanner reused across frames of every kind keeps no state from the last frame", () => {
    const gen = new FrameGenerator(7);
    const frames = Array.from({ length: 200 }, () => gen.frame(3));
    const shared = new FrameScanner(SYMBOLS);
    for (const f of frames) expect(scan(shared, f)).toEqual(scan(new FrameScanner(SYMBOLS), f));
  });
});

describe("FrameScanner on malformed frames", () => {
  const cases: [name: string, frame: string, error: ScanError, offset: number][] = [
    ["empty frame", "", ScanError.MALFORMED_JSON, 0],
    ["whitespace only", " \n", ScanError.MALFORMED_JSON, 2],
    ["truncated after a key", '[{"ev":"T","p"', ScanError.MALFORMED_JSON, 14],
    ["truncated in a number", '[{"ev":"T","p":1.', ScanError.MALFORMED_JSON, 17],
    ["truncated before ]", '[{"ev":"T"}', ScanError.MALFORMED_JSON, 11],
    ["trailing comma in the array", '[{"ev":"T"},]', ScanError.MALFORMED_JSON, 12],
    ["trailing comma in an object", '[{"ev":"T",}]', ScanError.MALFORMED_JSON, 11],
    ["trailing comma in codes", '[{"ev":"T","c":[1,]}]', ScanError.MALFORMED_JSON, 18],
    ["missing colon", '[{"ev" "T"}]', ScanError.MALFORMED_JSON, 7],
    ["missing comma", '[{"ev":"T" "p":1}]', ScanError.MALFORMED_JSON, 11],
    ["unterminated string", '[{"ev":"T","sym":"AAPL}]', ScanError.MALFORMED_JSON, 24],
    ["bad escape", '[{"ev":"T","sym":"AA\\xPL"}]', ScanError.MALFORMED_JSON, 20],
    ["short \\u escape", '[{"ev":"T","sym":"\\u12G4"}]', ScanError.MALFORMED_JSON, 18],
    ["raw control character in a string", '[{"ev":"T","sym":"A\u0001"}]', ScanError.MALFORMED_JSON, 19],
    ["leading zero", '[{"ev":"T","s":0100}]', ScanError.MALFORMED_JSON, 16],
    ["plus sign", '[{"ev":"T","s":+1}]', ScanError.MALFORMED_JSON, 15],
    ["bare dot", '[{"ev":"T","p":.5}]', ScanError.MALFORMED_JSON, 15],
    ["exponent without digits", '[{"ev":"T","p":1e}]', ScanError.MALFORMED_JSON, 17],
    ["NaN", '[{"ev":"T","p":NaN}]', ScanError.MALFORMED_JSON, 15],
    ["single quotes", "[{'ev':'T'}]", ScanError.MALFORMED_JSON, 2],
    ["unquoted key", '[{ev:"T"}]', ScanError.MALFORMED_JSON, 2],
    ["garbage after the array", '[{"ev":"T"}] x', ScanError.MALFORMED_JSON, 13],
    ["two arrays", "[][]", ScanError.MALFORMED_JSON, 2],
    ["garbage bytes", "\u0000\u00ff\ufffd", ScanError.MALFORMED_JSON, 0],
    ["non-JSON whitespace (NBSP)", "\u00a0[]", ScanError.MALFORMED_JSON, 0],
    ["a BOM", "\ufeff[]", ScanError.MALFORMED_JSON, 0],
    ["truncated literal", '[{"ev":"A","otc":tru}]', ScanError.MALFORMED_JSON, 17],
    ["unclosed nested unknown value", '[{"ev":"T","x1":{"a":[1,{"b":2]}}]', ScanError.MALFORMED_JSON, 30],
    ["malformed after a non-object element", '[1,{"ev":]', ScanError.MALFORMED_JSON, 9],
    ["not an array: object", '{"ev":"T"}', ScanError.NOT_AN_ARRAY, 0],
    ["not an array: string", ' "[]"', ScanError.NOT_AN_ARRAY, 1],
    ["not an array, and malformed", '{"ev":"T"', ScanError.MALFORMED_JSON, 9],
    ["array of numbers", "[1,2]", ScanError.NOT_AN_OBJECT, 1],
    ["an object then null", '[{"ev":"T"}, null]', ScanError.NOT_AN_OBJECT, 13],
    ["nested array element", "[[]]", ScanError.NOT_AN_OBJECT, 1],
  ];
  for (const [name, frame, error, offset] of cases) {
    test(`${name}: ${BAD_INPUT_NAMES[error]} at ${offset}, as JSON.parse decides`, () => {
      const scanner = new FrameScanner(SYMBOLS);
      const got = scan(scanner, frame);
      expect({ error: got.error, offset: got.offset }).toEqual({ error, offset });
      expect(expected(frame).error).toBe(error); // JSON.parse throws exactly for MALFORMED_JSON
    });
  }

  const valid: [name: string, frame: string][] = [
    ["empty array", "[]"],
    ["empty array with whitespace everywhere", " \t\r\n[ \n ]\n "],
    ["an empty object", "[{}]"],
    ["nested unknown objects and arrays", '[{"ev":"T","x1":{"a":[1,{"b":[[],{}]},"s"],"c":{"d":null}},"sym":"MSFT","p":1}]'],
    ["deep nesting in an unknown key", `[{"ev":"Q","deep":${"[".repeat(5000)}${"]".repeat(5000)},"bp":1}]`],
    ["every escape", '[{"ev":"status","status":"x","message":"\\"\\\\\\/\\b\\f\\n\\r\\t\\u0041\\ud83d\\ude00\\uD800"}]'],
    ["escaped key and ev", '[{"\\u0065v":"\\u0054","\\u0070":1.5,"s\\u0079m":"MSFT"}]'],
    ["ev last", '[{"p":1.5,"sym":"AAPL","s":10,"t":1,"ev":"T"}]'],
    ["ev twice, the last wins", '[{"ev":"Q","p":1.5,"bp":2,"ev":"T"}]'],
    ["duplicate key, the last wins", '[{"ev":"T","p":1,"p":"x","s":"y","s":5}]'],
    ["null values", '[{"ev":"T","sym":null,"p":null,"c":null}]'],
    ["ev not a string", '[{"ev":1},{"ev":null},{"ev":["T"]}]'],
    ["wrong types", '[{"ev":"T","i":5,"p":"1.0","c":[1,"2"],"otc":1},{"ev":"Q","i":"x","c":[1]},{"ev":"A","otc":"true","c":[1]}]'],
    ["numbers at the edges", '[{"ev":"T","p":-0,"s":1e400,"t":9007199254740993,"q":-1e-400,"x":0.1e1,"z":1E+2}]'],
  ];
  for (const [name, frame] of valid) {
    test(`${name}: accepted, and equal to JSON.parse`, () => {
      expect(expectSameAsJsonParse(new FrameScanner(SYMBOLS), frame).error).toBe(ScanError.NONE);
    });
  }

  test("an oversized frame is refused without being read", () => {
    const scanner = new FrameScanner(SYMBOLS, 100);
    expect(scanner.begin(`[${" ".repeat(99)}]`)).toBe(false);
    expect({ error: scanner.error, offset: scanner.errorOffset }).toEqual({ error: ScanError.OVERSIZED, offset: 100 });
    expect(scanner.next(new PolygonEvent())).toBe(false);
    expect(scanner.begin(`[${" ".repeat(98)}]`)).toBe(true);
    expect(scanner.error).toBe(ScanError.NONE);
  });

  test("events before a malformed tail come out first; the error says to drop the frame", () => {
    const scanner = new FrameScanner(SYMBOLS);
    const ev = new PolygonEvent();
    const frame = '[{"ev":"T","p":1},{"ev":"T","p":2},{"ev"}]';
    expect(scanner.begin(frame)).toBe(true);
    expect(scanner.next(ev) && scanner.next(ev)).toBe(true);
    expect(scanner.next(ev)).toBe(false);
    expect({ error: scanner.error, offset: scanner.errorOffset, ev: ev.ev }).toEqual({ error: ScanError.MALFORMED_JSON, offset: 40, ev: Ev.NONE });
    expect(scanner.next(ev)).toBe(false); // stays done
  });

  test("3,000 mutated frames (a character deleted, inserted, replaced, or the frame cut): rejected exactly when JSON.parse throws", () => {
    const gen = new FrameGenerator(SEED + 99);
    const scanner = new FrameScanner(SYMBOLS);
    const alphabet = '{}[],:"\\ \t0123456789-+.eEtrufalsn\u0001xé';
    const outcomes = new Map<ScanError, number>();
    for (let n = 0; n < 3_000; n++) {
      let f = gen.frame(3);
      const at = gen.int(f.length + 1);
      switch (gen.int(4)) {
        case 0: f = f.slice(0, at) + f.slice(at + 1); break;
        case 1: f = f.slice(0, at) + gen.pick([...alphabet]) + f.slice(at); break;
        case 2: f = f.slice(0, at) + gen.pick([...alphabet]) + f.slice(at + 1); break;
        default: f = f.slice(0, at);
      }
      const want = expectSameAsJsonParse(scanner, f);
      outcomes.set(want.error, (outcomes.get(want.error) ?? 0) + 1);
    }
    // Both outcomes are well represented.
    expect(outcomes.get(ScanError.MALFORMED_JSON)).toBeGreaterThan(1_000);
    expect(outcomes.get(ScanError.NONE)).toBeGreaterThan(300);
  });
});

describe("validateEvent", () => {
  const scanner = new FrameScanner(["MSFT"]);
  const reason = (event: string, allSymbols = false): string => {
    const ev = new PolygonEvent();
    const frame = `[${event}]`;
    if (!scanner.begin(frame) || !scanner.next(ev)) throw new Error(`not scanned: ${frame}`);
    return BAD_INPUT_NAMES[validateEvent(ev, allSymbols)];
  };
  const T = (extra: string) => `{"ev":"T","sym":"MSFT","p":1.5,"s":100,"t":1536036818784${extra}}`;
  const Q = (extra: string) => `{"ev":"Q","sym":"MSFT","bp":1,"ap":2,"bs":1,"as":1,"t":1${extra}}`;
  const AM = (extra: string) => `{"ev":"AM","sym":"MSFT","o":1,"h":2,"l":0.5,"c":1,"v":10,"s":0,"e":60000${extra}}`;

  test("the names array carries the scanner's frame errors at their codes", () => {
    expect(BAD_INPUT_NAMES.slice(0, 5)).toEqual(["none", "malformed_json", "not_an_array", "oversized", "not_an_object"]);
    expect([ScanError.MALFORMED_JSON, ScanError.NOT_AN_ARRAY, ScanError.OVERSIZED, ScanError.NOT_AN_OBJECT] as number[]).toEqual([
      BadInput.MALFORMED_JSON,
      BadInput.NOT_AN_ARRAY,
      BadInput.OVERSIZED,
      BadInput.NOT_AN_OBJECT,
    ]);
    expect(BAD_INPUT_NAMES.length as number).toBe(BadInput.UNKNOWN_SYMBOL + 1);
  });

  test("each reason at its boundary", () => {
    expect({
      trade: reason(T("")),
      tradeMinimal: reason('{"ev":"T","sym":"MSFT","p":0,"s":1,"t":0}'),
      quote: reason(Q("")),
      bar: reason(AM("")),
      second: reason(AM("").replace('"AM"', '"A"')),
      status: reason('{"ev":"status","status":"connected"}'),
      // unknown_ev
      noEv: reason('{"sym":"MSFT"}'),
      evLULD: reason('{"ev":"LULD","T":"MSFT"}'),
      evNumber: reason('{"ev":1}'),
      evLowercase: reason(T("").replace('"T"', '"t"')),
      // missing_field, one required field at a time
      tradeNoP: reason('{"ev":"T","sym":"MSFT","s":100,"t":1}'),
      tradeNoSym: reason('{"ev":"T","p":1,"s":100,"t":1}'),
      tradeNoT: reason('{"ev":"T","sym":"MSFT","p":1,"s":100}'),
      quoteNoAs: reason('{"ev":"Q","sym":"MSFT","bp":1,"ap":2,"bs":1,"t":1}'),
      barNoE: reason('{"ev":"AM","sym":"MSFT","o":1,"h":2,"l":0.5,"c":1,"v":10,"s":0}'),
      statusNoStatus: reason('{"ev":"status","message":"x"}'),
      // wrong_type, required or optional, null too; before missing_field
      priceString: reason(T("").replace('"p":1.5', '"p":"1.5"')),
      tradeIdNumber: reason(T(',"i":5')),
      conditionsNotInts: reason(T(',"c":[1,2.5]')),
      tooManyConditions: reason(T(`,"c":[${Array(MAX_CODES + 1).fill(1)}]`)),
      conditionsAtMost: reason(T(`,"c":[${Array(MAX_CODES).fill(1)}]`)),
      optionalNull: reason(T(',"trfi":null')),
      otcString: reason(AM(',"otc":"true"')),
      otcTrue: reason(AM(',"otc":true')),
      symNumber: reason(T("").replace('"sym":"MSFT"', '"sym":5')),
      // bad_value
      negativePrice: reason(T("").replace('"p":1.5', '"p":-0.01')),
      negativeZeroPrice: reason(T("").replace('"p":1.5', '"p":-0')),
      infinitePrice: reason(T("").replace('"p":1.5', '"p":1e400')),
      infiniteTimestamp: reason(T("").replace('"t":1536036818784', '"t":-1e999')),
      zeroSizeTrade: reason(T("").replace('"s":100', '"s":0')),
      zeroSizeFractionalTrade: reason(T(',"ds":"0.5"').replace('"s":100', '"s":0')),
      negativeSize: reason(T("").replace('"s":100', '"s":-1')),
      zeroQuoteSizes: reason(Q("").replace('"bs":1', '"bs":0').replace('"as":1', '"as":0')),
      zeroBid: reason(Q("").replace('"bp":1', '"bp":0')),
      negativeAsk: reason(Q("").replace('"ap":2', '"ap":-2')),
      crossedQuote: reason(Q("").replace('"bp":1', '"bp":3')),
      negativeVolume: reason(AM("").replace('"v":10', '"v":-10')),
      // unknown_symbol, unless subscribed to *
      otherSymbol: reason(T("").replace("MSFT", "MSFX")),
      otherSymbolAll: reason(T("").replace("MSFT", "MSFX"), true),
      escapedSymbol: reason(T("").replace("MSFT", "MS\\u0046T")),
    }).toEqual({
      trade: "none",
      tradeMinimal: "none",
      quote: "none",
      bar: "none",
      second: "none",
      status: "none",
      noEv: "unknown_ev",
      evLULD: "unknown_ev",
      evNumber: "unknown_ev",
      evLowercase: "unknown_ev",
      tradeNoP: "missing_field",
      tradeNoSym: "missing_field",
      tradeNoT: "missing_field",
      quoteNoAs: "missing_field",
      barNoE: "missing_field",
      statusNoStatus: "missing_field",
      priceString: "wrong_type",
      tradeIdNumber: "wrong_type",
      conditionsNotInts: "wrong_type",
      tooManyConditions: "wrong_type",
      conditionsAtMost: "none",
      optionalNull: "wrong_type",
      otcString: "wrong_type",
      otcTrue: "none",
      symNumber: "wrong_type",
      negativePrice: "bad_value",
      negativeZeroPrice: "none",
      infinitePrice: "bad_value",
      infiniteTimestamp: "bad_value",
      zeroSizeTrade: "bad_value",
      zeroSizeFractionalTrade: "none",
      negativeSize: "bad_value",
      zeroQuoteSizes: "none",
      zeroBid: "none",
      negativeAsk: "bad_value",
      crossedQuote: "none",
      negativeVolume: "bad_value",
      otherSymbol: "unknown_symbol",
      otherSymbolAll: "none",
      escapedSymbol: "none",
    });
  });
});

describe("FrameScanner allocation", () => {
  // A coarse guard, not a proof: heap growth is measured after a full GC, so it catches retained
  // garbage and gross per-event allocation (which also raises the live heap between collections),
  // not a few short-lived bytes per event. The bench and the code's "allocates" notes say the rest.
  test("scanning a 100-event frame 10,000 times (1 M events) leaves the heap where it was", () => {
    const gen = new FrameGenerator(3);
    const events: string[] = [];
    while (events.length < 100) {
      const e = gen.event();
      // the common path only: no escapes, ev first, plain numbers (what the server sends)
      if (e.startsWith('{"ev":"') && !e.includes("\\") && !/e\d|E|\d{16}/.test(e)) events.push(e);
    }
    const frame = `[${events.join(",")}]`;
    const scanner = new FrameScanner(SYMBOLS);
    const ev = new PolygonEvent();
    const loop = (times: number) => {
      let n = 0;
      for (let k = 0; k < times; k++) {
        scanner.begin(frame);
        while (scanner.next(ev)) n++;
      }
      return n;
    };
    loop(1_000); // warm-up, JIT
    Bun.gc(true);
    const before = process.memoryUsage().heapUsed;
    const n = loop(10_000);
    const grownNoGc = process.memoryUsage().heapUsed - before;
    Bun.gc(true);
    const grown = process.memoryUsage().heapUsed - before;
    expect(n).toBe(1_000_000);
    expect(scanner.error).toBe(ScanError.NONE);
    expect(grown).toBeLessThan(256 * 1024);
    // 1 M events allocating even 16 bytes each would be 16 MB before a collection.
    expect(grownNoGc).toBeLessThan(4 * 1024 * 1024);
  });
});

describe("FrameScanner fast path (ASCII frames, the vendor's compact shape)", () => {
  /** Both paths on one frame: the same events, error and error offset; and JSON.parse agrees. */
  const general = new FrameScanner(SYMBOLS, 1_000_000, false);
  const fast = new FrameScanner(SYMBOLS);
  const both = (frame: string): ScanError => {
    const want = expectSameAsJsonParse(fast, frame);
    const a = scan(fast, frame);
    const b = scan(general, frame);
    try {
      expect(a).toEqual(b);
    } catch (e) {
      throw new Error(`frame ${JSON.stringify(frame)}: fast and general paths differ: ${(e as Error).message}`);
    }
    return want.error;
  };
  const ascii = (s: string) => !/[^\x00-\x7f]/.test(s);

  const Q = '{"ev":"Q","sym":"MSFT","bx":4,"bp":114.125,"bs":100,"ax":7,"ap":114.128,"as":160,"c":0,"i":[604],"t":1536036818784,"q":50385480,"z":3}';
  const T = '{"ev":"T","sym":"AAPL","i":"5096","x":10,"p":161.87,"s":300,"c":[14,41],"t":1651684192462,"q":4009402,"z":3,"trfi":201,"trft":1651684192460,"ds":"0.5"}';
  const AM = '{"ev":"AM","sym":"GTE","v":4110,"av":9470157,"op":0.4372,"vw":0.4488,"o":0.4488,"c":0.4486,"h":0.4489,"l":0.4486,"a":0.4352,"z":685,"s":1610144640000,"e":1610144700000,"otc":false}';
  const A = AM.replace('"AM"', '"A"').replace('"otc":false', '"otc":true');

  test("the vendor's shapes, and every edge of what the fast path takes, scan as on the general path", () => {
    const variants = [
      // numbers at the fast path's limits, and just past them (exponent, 16 digits, leading zero, -0)
      ...["0", "-0", "-0.0", "0.5", "123456789012345", "1234567890123456", "12345678901234.5", "1234567890123.45", "0.000000000000001", "1e2", "1E-2", "1.5e+3", "01", "-", "1.", ".5", "-01", "9007199254740993", "1.7976931348623157e308", "1e400"].flatMap((n) => [
        Q.replace('"bp":114.125', `"bp":${n}`),
        T.replace('"t":1651684192462', `"t":${n}`),
        AM.replace('"z":685', `"z":${n}`),
      ]),
      // code arrays: empty, 0, 9 and 10 digits, leading zero, negative, fraction, MAX_CODES and one more, whitespace
      ...["[]", "[0]", "[0,0]", "[123456789]", "[1234567890]", "[2147483647]", "[01]", "[-1]", "[1.5]", "[1e2]", `[${Array(MAX_CODES).fill(7)}]`, `[${Array(MAX_CODES + 1).fill(7)}]`, "[1,]", "[,1]", "[1 ]", "[ 1]", '["1"]', "[null]", "[1", "1", "null"].flatMap((c) => [
        T.replace('"c":[14,41]', `"c":${c}`),
        Q.replace('"i":[604]', `"i":${c}`),
      ]),
      // strings: escapes, control characters, empty, other types
      ...['""', '"A"', '"MS\\u0046T"', '"MS\\"FT"', '"\\\\"', '"A\u0001"', '"A\u007f"', "5", "null", "true"].flatMap((v) => [
        T.replace('"sym":"AAPL"', `"sym":${v}`),
        T.replace('"i":"5096"', `"i":${v}`),
        T.replace('"ds":"0.5"', `"ds":${v}`),
      ]),
      // booleans
      ...["true", "false", "tru", "fals", "falsy", "True", "1", "null", '"true"'].map((v) => AM.replace('"otc":false', `"otc":${v}`)),
      // keys: unknown, of another kind, near misses of long keys, escaped, duplicated, ev again or not first
      ...['"foo":1', '"bp":1', '"p":1', '"otc":true', '"status":"x"', '"sy":"MSFT"', '"symb":1', '"trf":1', '"trfx":1', '"trfi":1', '"trft":2', '"ot":1', '"otcx":1', '"\\u0070":1', '"p":"x","p":2', '"p":2,"p":"x"', '"ev":"Q"', '"ev":"T"', '"x":1,"x":2'].flatMap((kv) => [
        T.replace('"x":10', kv),
        Q.replace('"bx":4', kv),
        AM.replace('"v":4110', kv),
      ]),
      Q.replace('{"ev":"Q",', "{").replace("}", ',"ev":"Q"}'),
      // ev values
      ...['"Q"', '"T"', '"A"', '"AM"', '"AMX"', '"Qx"', '""', '"status"', '"LULD"', '"\\u0051"', "1", "null"].map((v) => `{"ev":${v},"sym":"MSFT","p":1}`),
      // whitespace anywhere (the general path takes these)
      Q.replace(",", ", "),
      Q.replace(":", " :"),
      Q.replace("}", " }"),
      Q.replace("{", "{ "),
      T.replace('"i":"5096"', '"i":\t"5096"'),
      // an empty object, an object without ev
      "{}",
      '{"sym":"MSFT"}',
    ];
    let n = 0;
    for (const v of variants) {
      expect(ascii(v)).toBe(true);
      both(`[${v}]`);
      both(`[${Q},${v},${T}]`);
      n++;
    }
    expect(n).toBeGreaterThan(200);
    for (const e of [Q, T, A, AM]) expect(both(`[${e},${e}]`)).toBe(ScanError.NONE);
  });

  test("every cut of a vendor frame (a truncated frame) is rejected as on the general path, at the same offset", () => {
    const frame = `[${Q},${T},${AM},${A}]`;
    for (let at = 0; at < frame.length; at++) expect(both(frame.slice(0, at))).toBe(ScanError.MALFORMED_JSON);
    // and every single character replaced by one that JSON may or may not take there
    for (let at = 0; at < frame.length; at++) for (const ch of ['"', ",", "}", "]", " ", "0", "9", "e", ".", "-", "\\", "x"]) both(frame.slice(0, at) + ch + frame.slice(at + 1));
  });

  test("5,000 random ASCII frames and 3,000 mutations: the fast path gives exactly what the general path gives", () => {
    const gen = new FrameGenerator(SEED + 7);
    let frames = 0;
    let events = 0;
    while (frames < 5_000) {
      let f = gen.frame(6);
      if (!ascii(f)) continue;
      if (frames >= 2_000) {
        const at = gen.int(f.length + 1);
        const alphabet = '{}[],:"\\ \t0123456789-+.eEtrufalsn\u0001x';
        switch (gen.int(4)) {
          case 0: f = f.slice(0, at) + f.slice(at + 1); break;
          case 1: f = f.slice(0, at) + gen.pick([...alphabet]) + f.slice(at); break;
          case 2: f = f.slice(0, at) + gen.pick([...alphabet]) + f.slice(at + 1); break;
          default: f = f.slice(0, at);
        }
      }
      both(f);
      events += scan(fast, f).events.length;
      frames++;
    }
    expect(events).toBeGreaterThan(4_000);
  });

  test("a frame longer than any before grows the byte buffer; a non-ASCII frame after an ASCII one takes the general path", () => {
    const big = `[${Array(2_000).fill(Q).join(",")}]`;
    expect(both(big)).toBe(ScanError.NONE);
    expect(both(`[${Q.replace("MSFT", "ÆØÅ")}]`)).toBe(ScanError.NONE);
    expect(both(`[${Q},${T.replace('"i":"5096"', '"i":"é"')}]`)).toBe(ScanError.NONE);
    expect(both(`[${Q}]`)).toBe(ScanError.NONE);
    // A frame cut short by the byte buffer's end is not ASCII by accident: a long non-ASCII tail.
    expect(both(`[${Q},${T.replace('"i":"5096"', `"i":"${"é".repeat(5_000)}"`)}]`)).toBe(ScanError.NONE);
  });
});

describe("FrameScanner symbol ids", () => {
  test("every configured symbol is found on both paths: empty, 1 to 9 chars, DEL, duplicates, look-alikes", () => {
    const symbols = ["", "A", "AB", "ABC", "ABCD", "ABCDE", "ABCDEFG", "ABCDEFGH", "ABCDEFGHI", "ABCDEFGHIJKL", "A\u007f", "BRK.A", "A B", "ABCD", "é", "A\u0001"];
    const fast = new FrameScanner(symbols);
    const general = new FrameScanner(symbols, 1_000_000, false);
    const ev = new PolygonEvent();
    const idOf = (scanner: FrameScanner, sym: string) => {
      const frame = `[{"ev":"Q","sym":${JSON.stringify(sym)},"bp":1}]`;
      expect(scanner.begin(frame) && scanner.next(ev)).toBe(true);
      return ev.symbolId;
    };
    for (const sym of [...symbols, "B", "ABCDEFGHX", "ABCDEFGX", "ABCX", "AB\u007f", "a", "ABCDEFGHIJK", "ABCDEFGHIJKLM"]) {
      const want = symbols.indexOf(sym);
      expect([sym, idOf(fast, sym)]).toEqual([sym, want]);
      expect([sym, idOf(general, sym)]).toEqual([sym, want]);
    }
  });
});

describe("validateEvent's common-case check", () => {
  test("gives the full check's reason on every event of 5,000 random frames and on the bench's shapes, with and without `*`", () => {
    const gen = new FrameGenerator(SEED + 13);
    const scanner = new FrameScanner(SYMBOLS);
    const ev = new PolygonEvent();
    const counts = new Map<string, number>();
    const check = (frame: string) => {
      if (!scanner.begin(frame)) return;
      while (scanner.next(ev)) {
        for (const all of [false, true]) {
          const got = validateEvent(ev, all);
          expect(got).toBe(fullReason(ev, all));
          counts.set(BAD_INPUT_NAMES[got], (counts.get(BAD_INPUT_NAMES[got]) ?? 0) + 1);
        }
      }
    };
    for (let n = 0; n < 5_000; n++) check(gen.frame());
    // values at the edges of the common-case compares
    for (const v of ["0", "-0", "-0.0", "1", "-1", "1e400", "-1e400", "0.0001", "-0.0001"]) {
      for (const f of ["p", "s", "x", "z", "t", "q", "trfi", "trft"]) check(`[{"ev":"T","sym":"MSFT","p":1,"s":1,"t":1,"${f}":${v}}]`);
      for (const f of ["bp", "ap", "bs", "as", "bx", "ax", "c", "t", "q", "z", "trfi", "trft"]) check(`[{"ev":"Q","sym":"MSFT","bp":1,"ap":1,"bs":1,"as":1,"t":1,"${f}":${v}}]`);
      for (const f of ["o", "h", "l", "c", "v", "av", "op", "vw", "a", "z", "s", "e"]) check(`[{"ev":"AM","sym":"MSFT","o":1,"h":1,"l":1,"c":1,"v":1,"s":1,"e":1,"${f}":${v}}]`);
      check(`[{"ev":"T","sym":"MSFT","p":1,"s":${v},"t":1,"ds":"0.5"}]`);
    }
    for (const name of ["none", "unknown_ev", "missing_field", "wrong_type", "bad_value", "unknown_symbol"]) expect(counts.get(name) ?? 0).toBeGreaterThan(50);
  });
});
