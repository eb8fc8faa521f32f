/**
 * A hand-written scanner for Polygon/Massive stocks WebSocket frames (PROTOCOLS.md §A.2, §A.5):
 * one JSON array of event objects per text frame, read straight off the frame string with
 * `charCodeAt` into a reusable `PolygonEvent`.
 *
 * @example
 * const scanner = new FrameScanner(["AAPL", "MSFT"]);
 * const ev = new PolygonEvent();
 * if (scanner.begin(frame)) while (scanner.next(ev)) stage(ev);
 * if (scanner.error !== ScanError.NONE) dropStaged(); else publishStaged();
 *
 * Contract:
 * - Accepts exactly the frames `JSON.parse` accepts (RFC 8259: whitespace is space, tab, LF, CR;
 *   no trailing commas, leading zeros, bare control characters in strings or unknown escapes;
 *   nothing after the array), and gives every spec field the value `JSON.parse` would: numbers
 *   bit for bit (`-0` too), strings as ranges with their escapes in place, duplicate keys last
 *   wins. Valid JSON that is not an array is `NOT_AN_ARRAY`; an array holding a non-object is
 *   `NOT_AN_OBJECT`; anything `JSON.parse` would reject is `MALFORMED_JSON` (the whole frame is
 *   read to tell these apart, except an `OVERSIZED` one, which is not read at all).
 * - Streaming: `next()` hands out events as it reaches them, so a frame can yield events and then
 *   turn out malformed (a bad element further on, trailing garbage). Keep what a frame produced
 *   unpublished until `next()` returned false with `error === NONE` (the gateway contract
 *   publishes once per frame anyway).
 * - Keys in any order. When `ev` is not the first key (or a later duplicate `ev` changes the
 *   kind), the object is scanned again with the kind known; real frames put `ev` first.
 * - A spec field whose value has the wrong JSON type (or is `null`) gets its bit in
 *   `ev.badFields` instead of `ev.present`; the frame stays valid. Keys the spec does not define
 *   for the event's kind are checked for syntax and skipped, whatever they hold, at any depth.
 *
 * Two paths, one result: `begin()` copies an ASCII frame into a reused byte buffer (one native
 * `Buffer.write`), and `next()` first tries `#fastObject` on those bytes: the vendor's compact
 * shape (`ev` first, T / Q / A / AM, fields of their spec types, plain numbers, no whitespace or
 * escapes), read with word compares and byte loads (BENCHMARKS.md has what each step gave, and
 * why bytes: a bare `charCodeAt` loop is itself only ~2x the target). On anything else it
 * gives up and the general path, over the string with `charCodeAt`, reads that event from its
 * `{` and decides (values, bad fields, errors and their offsets). Tests compare both paths.
 *
 * Allocation: `begin()` and `next()` allocate nothing per frame or event on the common path.
 * Rare paths that do, each marked "allocates": the byte buffer grows for a frame longer than any
 * before (up to maxFrameChars); a number the exact fast path cannot convert (a
 * mantissa of 2^53 or more, or a decimal exponent beyond ±22) goes through `Number(substring)`;
 * a key, `ev` or `sym` holding an escape is unescaped to be compared; nesting deeper than 64
 * inside an unknown value grows the skip stack (once). `stringAt()` and `materialize()`
 * allocate: they are for tests and logs.
 */
import {
  Ev,
  F_AA,
  F_AP,
  F_AS,
  F_AV,
  F_AX,
  F_BP,
  F_BS,
  F_BX,
  F_C,
  F_DS,
  F_E,
  F_EV,
  F_H,
  F_I,
  F_L,
  F_MESSAGE,
  F_O,
  F_OP,
  F_OTC,
  F_P,
  F_Q,
  F_S,
  F_STATUS,
  F_SYM,
  F_T,
  F_TRFI,
  F_TRFT,
  F_V,
  F_VW,
  F_X,
  F_Z,
  MAX_CODES,
  type PolygonEvent,
} from "./event.ts";

/**
 * `Ev`, inlined: Bun inlines a const enum only within its own file, and every `Ev.Q` read through
 * the import cost ~10 % of the scan. Same values as `Ev` (a test checks).
 */
export const enum Kind {
  NONE = 0,
  T = 1,
  Q = 2,
  A = 3,
  AM = 4,
  STATUS = 5,
  UNKNOWN = 6,
}

/** Why a frame was dropped. Values 1..4 are also `BadInput` codes (validate.ts). */
export const enum ScanError {
  NONE = 0,
  /** `JSON.parse` would throw. */
  MALFORMED_JSON = 1,
  /** Valid JSON, but not an array. */
  NOT_AN_ARRAY = 2,
  /** Longer than `maxFrameChars` (not read). */
  OVERSIZED = 3,
  /** Valid JSON array holding something other than an object. */
  NOT_AN_OBJECT = 4,
}

// ---------------------------------------------------------------------------------------------
// Keys and field types

/** Every key the spec defines for T, Q, A, AM or status. */
const enum K {
  UNKNOWN = 0,
  EV, SYM, X, I, Z, P, S, C, T, Q, TRFI, TRFT, BX, BP, BS, AX, AP, AS, V, AV, OP, VW, O, H, L, A, E, OTC, STATUS, MESSAGE, DS,
  COUNT,
}
const KEY_NAMES = [
  "", "ev", "sym", "x", "i", "z", "p", "s", "c", "t", "q", "trfi", "trft", "bx", "bp", "bs", "ax", "ap", "as",
  "v", "av", "op", "vw", "o", "h", "l", "a", "e", "otc", "status", "message", "ds",
] as const;
const KEY_ID = new Map<string, K>(KEY_NAMES.map((name, k) => [name, k as K]));
KEY_ID.delete("");

/** `PolygonEvent.present` / `badFields` bit of each key (`c`, `i`, `s`, `z` mean different things per kind, one bit each). */
const KEY_BIT = new Int32Array([
  0, F_EV, F_SYM, F_X, F_I, F_Z, F_P, F_S, F_C, F_T, F_Q, F_TRFI, F_TRFT, F_BX, F_BP, F_BS, F_AX, F_AP, F_AS,
  F_V, F_AV, F_OP, F_VW, F_O, F_H, F_L, F_AA, F_E, F_OTC, F_STATUS, F_MESSAGE, F_DS,
]);

/** The JSON type a field must have. */
const enum FT {
  SKIP = 0,
  NUMBER = 1,
  STRING = 2,
  SYMBOL = 3,
  INT_ARRAY = 4,
  BOOL = 5,
}

type FieldTypes = Readonly<Record<string, FT>>;
const AGG_FIELDS: FieldTypes = {
  ev: FT.STRING, sym: FT.SYMBOL, v: FT.NUMBER, av: FT.NUMBER, op: FT.NUMBER, vw: FT.NUMBER, o: FT.NUMBER,
  c: FT.NUMBER, h: FT.NUMBER, l: FT.NUMBER, a: FT.NUMBER, z: FT.NUMBER, s: FT.NUMBER, e: FT.NUMBER, otc: FT.BOOL,
};
/**
 * The fields of each kind and their JSON types (PROTOCOLS.md §A.5 / the spec's Stock*Event
 * schemas). Integers in the spec are any JSON number here: sizes can be fractional and a
 * timestamp written `1.6e12` is still one. Additions to the 2025-10-30 spec: T `ds` (Massive
 * docs), Q `trfi`/`trft` (PG-PY `EquityQuote`).
 */
const SPEC: Readonly<Record<number, FieldTypes>> = {
  [Kind.NONE]: {},
  [Kind.T]: {
    ev: FT.STRING, sym: FT.SYMBOL, x: FT.NUMBER, i: FT.STRING, z: FT.NUMBER, p: FT.NUMBER, s: FT.NUMBER,
    c: FT.INT_ARRAY, t: FT.NUMBER, q: FT.NUMBER, trfi: FT.NUMBER, trft: FT.NUMBER, ds: FT.STRING,
  },
  [Kind.Q]: {
    ev: FT.STRING, sym: FT.SYMBOL, bx: FT.NUMBER, bp: FT.NUMBER, bs: FT.NUMBER, ax: FT.NUMBER, ap: FT.NUMBER,
    as: FT.NUMBER, c: FT.NUMBER, i: FT.INT_ARRAY, t: FT.NUMBER, q: FT.NUMBER, z: FT.NUMBER, trfi: FT.NUMBER,
    trft: FT.NUMBER,
  },
  [Kind.A]: AGG_FIELDS,
  [Kind.AM]: AGG_FIELDS,
  [Kind.STATUS]: { ev: FT.STRING, status: FT.STRING, message: FT.STRING },
  [Kind.UNKNOWN]: { ev: FT.STRING },
};
const KINDS = 7;

/** The keys the spec defines per kind (indexed by `Ev`): what `materialize` keeps. */
export const SPEC_KEYS: readonly (readonly string[])[] = Array.from({ length: KINDS }, (_, kind) => Object.keys(SPEC[kind]!));

/** FIELD_TYPE[kind * K.COUNT + key]. `ev` is handled by the object loop, whatever the kind. */
const FIELD_TYPE = new Uint8Array(KINDS * K.COUNT);
for (let kind = 0; kind < KINDS; kind++) {
  for (const [name, ft] of Object.entries(SPEC[kind]!)) if (name !== "ev") FIELD_TYPE[kind * K.COUNT + KEY_ID.get(name)!] = ft;
}

function keyIdAt(s: string, p: number, len: number): K {
  const c0 = s.charCodeAt(p);
  switch (len) {
    case 1:
      switch (c0) {
        case 0x78: return K.X;
        case 0x69: return K.I;
        case 0x7a: return K.Z;
        case 0x70: return K.P;
        case 0x73: return K.S;
        case 0x63: return K.C;
        case 0x74: return K.T;
        case 0x71: return K.Q;
        case 0x76: return K.V;
        case 0x6f: return K.O;
        case 0x68: return K.H;
        case 0x6c: return K.L;
        case 0x61: return K.A;
        case 0x65: return K.E;
      }
      return K.UNKNOWN;
    case 2: {
      const c1 = s.charCodeAt(p + 1);
      switch (c0) {
        case 0x61: // a
          return c1 === 0x70 ? K.AP : c1 === 0x73 ? K.AS : c1 === 0x78 ? K.AX : c1 === 0x76 ? K.AV : K.UNKNOWN;
        case 0x62: // b
          return c1 === 0x70 ? K.BP : c1 === 0x73 ? K.BS : c1 === 0x78 ? K.BX : K.UNKNOWN;
        case 0x65: return c1 === 0x76 ? K.EV : K.UNKNOWN;
        case 0x6f: return c1 === 0x70 ? K.OP : K.UNKNOWN;
        case 0x76: return c1 === 0x77 ? K.VW : K.UNKNOWN;
        case 0x64: return c1 === 0x73 ? K.DS : K.UNKNOWN;
      }
      return K.UNKNOWN;
    }
    case 3:
      if (c0 === 0x73) return s.charCodeAt(p + 1) === 0x79 && s.charCodeAt(p + 2) === 0x6d ? K.SYM : K.UNKNOWN;
      if (c0 === 0x6f) return s.charCodeAt(p + 1) === 0x74 && s.charCodeAt(p + 2) === 0x63 ? K.OTC : K.UNKNOWN;
      return K.UNKNOWN;
    case 4:
      if (c0 !== 0x74 || !s.startsWith("trf", p)) return K.UNKNOWN;
      return s.charCodeAt(p + 3) === 0x69 ? K.TRFI : s.charCodeAt(p + 3) === 0x74 ? K.TRFT : K.UNKNOWN;
    case 6: return s.startsWith("status", p) ? K.STATUS : K.UNKNOWN;
    case 7: return s.startsWith("message", p) ? K.MESSAGE : K.UNKNOWN;
  }
  return K.UNKNOWN;
}

/**
 * Key id of an unescaped key of 1 or 2 chars: KEY_TABLE[len << 14 | c0 << 7 | c1] (c1 is the
 * closing quote for a 1-char key). Longer keys go through `keyIdAt`. 48 KiB, built once.
 */
const KEY_TABLE = new Uint8Array(3 << 14);
for (let k = 1; k < K.COUNT; k++) {
  const name = KEY_NAMES[k];
  if (name.length <= 2) KEY_TABLE[(name.length << 14) | (name.charCodeAt(0) << 7) | (name.length === 1 ? 0x22 : name.charCodeAt(1))] = k;
}

function kindAt(s: string, p: number, len: number): Kind {
  const c0 = s.charCodeAt(p);
  if (len === 1) return c0 === 0x51 ? Kind.Q : c0 === 0x54 ? Kind.T : c0 === 0x41 ? Kind.A : Kind.UNKNOWN;
  if (len === 2) return c0 === 0x41 && s.charCodeAt(p + 1) === 0x4d ? Kind.AM : Kind.UNKNOWN;
  if (len === 6) return s.startsWith("status", p) ? Kind.STATUS : Kind.UNKNOWN;
  return Kind.UNKNOWN;
}

function setNumber(ev: PolygonEvent, kind: Kind, k: K, v: number): void {
  switch (k) {
    case K.X: ev.x = v; return;
    case K.Z: ev.z = v; return;
    case K.P: ev.p = v; return;
    case K.S: ev.s = v; return;
    case K.C:
      if (kind === Kind.Q) ev.cond = v;
      else ev.c = v;
      return;
    case K.T: ev.t = v; return;
    case K.Q: ev.q = v; return;
    case K.TRFI: ev.trfi = v; return;
    case K.TRFT: ev.trft = v; return;
    case K.BX: ev.bx = v; return;
    case K.BP: ev.bp = v; return;
    case K.BS: ev.bs = v; return;
    case K.AX: ev.ax = v; return;
    case K.AP: ev.ap = v; return;
    case K.AS: ev.as = v; return;
    case K.V: ev.v = v; return;
    case K.AV: ev.av = v; return;
    case K.OP: ev.op = v; return;
    case K.VW: ev.vw = v; return;
    case K.O: ev.o = v; return;
    case K.H: ev.h = v; return;
    case K.L: ev.l = v; return;
    case K.A: ev.a = v; return;
    case K.E: ev.e = v; return;
  }
}

function setString(ev: PolygonEvent, k: K, start: number, end: number): void {
  switch (k) {
    case K.SYM: ev.symStart = start; ev.symEnd = end; return;
    case K.I: ev.idStart = start; ev.idEnd = end; return;
    case K.STATUS: ev.statusStart = start; ev.statusEnd = end; return;
    case K.MESSAGE: ev.messageStart = start; ev.messageEnd = end; return;
    case K.DS: ev.dsStart = start; ev.dsEnd = end; return;
  }
}

// ---------------------------------------------------------------------------------------------
// Characters and numbers

/** 10^0 .. 10^22: every one exact in a double (Clinger's fast path). */
const POW10 = new Float64Array([1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]);
const TWO_53 = 9007199254740992;

function skipWs(s: string, i: number): number {
  for (;;) {
    const c = s.charCodeAt(i);
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
    else return i;
  }
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

/** Can a JSON value start with this character? */
function startsValue(c: number): boolean {
  return c === 0x22 || c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x5b || c === 0x7b || c === 0x74 || c === 0x66 || c === 0x6e;
}

function symbolHash(s: string, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let j = start; j < end; j++) h = Math.imul(h ^ s.charCodeAt(j), 0x01000193);
  return h ^ (h >>> 15);
}

/** LOW_BYTES[n]: a mask of the n low bytes of a word (n = 0..4). */
const LOW_BYTES = new Int32Array([0, 0xff, 0xffff, 0xffffff, -1]);

/** Slot hash of a symbol packed as two words (the fast path's symbol table). */
function packedSlot(lo: number, hi: number): number {
  const h = Math.imul(lo ^ Math.imul(hi, 0x2c1b3c6d), 0x297a2d39);
  return h ^ (h >>> 15);
}

const enum State {
  IDLE = 0,
  FIRST = 1,
  MORE = 2,
}

const INITIAL_SKIP_DEPTH = 64;

// ---------------------------------------------------------------------------------------------
// The fast path's tables (see `#fastObject`)

/** Zero bytes kept after the frame's bytes: every multi-byte read of the fast path stays inside them. */
const PAD = 16;
/** Little-endian words of fixed text: `"ev"`, `:"`, `":`, `,"`, `true`, `fals`. */
const W_EV_KEY = 0x22766522;
const W_COLON_QUOTE = 0x223a;
const W_QUOTE_COLON = 0x3a22;
const W_COMMA_QUOTE = 0x222c;
const W_TRUE = 0x65757274;
const W_FALS = 0x736c6166;

/**
 * Key id by the key's first two bytes as the high half of the little-endian word `,"c0c1`:
 * FAST_KEY[c1 << 8 | c0] (c1 is the closing quote for a one-char key; both bytes are ASCII, so
 * the index is below 0x8000), for the keys of T, Q, A and AM. Keys longer than two chars (`sym`,
 * `otc`, `trfi`/`trft`) share their first two bytes with no other key; the rest is checked after.
 */
const FAST_KEY = new Uint8Array(1 << 15);
/** FAST_FIELD[kind * K.COUNT + key]: the field type (FT, 0 = not in the fast path) | key length << 4. */
const FAST_FIELD = new Uint8Array(KINDS * K.COUNT);
for (let k = 1; k < K.COUNT; k++) {
  const name = KEY_NAMES[k];
  if (k === K.EV || k === K.TRFT || k === K.STATUS || k === K.MESSAGE) continue;
  FAST_KEY[((name.length === 1 ? 0x22 : name.charCodeAt(1)) << 8) | name.charCodeAt(0)] = k;
  for (const kind of [Kind.T, Kind.Q, Kind.A, Kind.AM]) {
    const ft = FIELD_TYPE[kind * K.COUNT + k]!;
    if (ft !== FT.SKIP) FAST_FIELD[kind * K.COUNT + k] = ft | (name.length << 4);
  }
}

// ---------------------------------------------------------------------------------------------

export class FrameScanner {
  /** Why the last frame was dropped; NONE while it is fine. */
  error: ScanError = ScanError.NONE;
  /** UTF-16 offset in the frame where `error` was found (-1 when NONE). */
  errorOffset = -1;

  readonly #maxFrameChars: number;
  readonly #symbols: readonly string[];
  readonly #bySymbol: Map<string, number>;
  readonly #table: Int32Array;
  readonly #mask: number;
  /**
   * The fast path's symbol table: each configured symbol of 1 to 8 printable ASCII chars as two
   * little-endian words of its bytes (zero-padded), and its id + 1, open addressing by `packedSlot`.
   * A symbol in the frame is found with two loads and a compare, no per-char hash or string
   * compare (that lookup was ~20 % of the fast path).
   */
  readonly #packLo: Int32Array;
  readonly #packHi: Int32Array;
  readonly #packId: Int32Array;
  #stack = new Uint8Array(INITIAL_SKIP_DEPTH);

  #frame = "";
  #pos = 0;
  #state = State.IDLE;
  // Out-values of the scanning methods (they return the next index, or -1 on error).
  #num = 0;
  #esc = false;
  #keyId = K.UNKNOWN;
  #rescan = false;

  // The fast path: the frame copied as bytes (when it is all ASCII), read through both views.
  readonly #fast: boolean;
  #bytes = new Uint8Array(0);
  #view = new DataView(this.#bytes.buffer);
  #buf = Buffer.from(this.#bytes.buffer);
  /** The current frame is all ASCII and in `#bytes` (so byte offsets are UTF-16 offsets). */
  #ascii = false;

  /**
   * @param symbols the configured symbols; `ev.symbolId` is the index of the event's `sym` here
   *   (-1 if not among them). Duplicates keep their first index.
   * @param maxFrameChars longer frames are OVERSIZED (the official Go client's read limit is 1 MB).
   * @param fastPath use the fast path for compact T / Q / A / AM events (tests turn it off to
   *   compare both paths; the results are the same).
   */
  constructor(symbols: readonly string[], maxFrameChars = 1_000_000, fastPath = true) {
    this.#maxFrameChars = maxFrameChars;
    this.#fast = fastPath;
    this.#symbols = [...symbols];
    this.#bySymbol = new Map();
    let size = 8;
    while (size < symbols.length * 2) size <<= 1;
    this.#table = new Int32Array(size);
    this.#mask = size - 1;
    for (let id = 0; id < symbols.length; id++) {
      const sym = symbols[id]!;
      if (this.#bySymbol.has(sym)) continue;
      this.#bySymbol.set(sym, id);
      let slot = symbolHash(sym, 0, sym.length) & this.#mask;
      while (this.#table[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#table[slot] = id + 1;
    }
    this.#packLo = new Int32Array(size);
    this.#packHi = new Int32Array(size);
    this.#packId = new Int32Array(size);
    for (let id = 0; id < symbols.length; id++) {
      const sym = symbols[id]!;
      // Exactly the symbols the fast path can meet in a frame with at most 8 chars (printable ASCII, no `"` or `\`).
      if (this.#bySymbol.get(sym) !== id || sym.length > 8 || !/^[\x20-\x7f]*$/.test(sym) || /["\\]/.test(sym)) continue;
      let lo = 0;
      let hi = 0;
      for (let j = 0; j < sym.length; j++) {
        if (j < 4) lo |= sym.charCodeAt(j) << (8 * j);
        else hi |= sym.charCodeAt(j) << (8 * (j - 4));
      }
      let slot = packedSlot(lo, hi) & this.#mask;
      while (this.#packId[slot] !== 0) slot = (slot + 1) & this.#mask;
      this.#packLo[slot] = lo;
      this.#packHi[slot] = hi;
      this.#packId[slot] = id + 1;
    }
  }

  /** Starts a frame; false (and `error` set) if it is longer than the limit, or not a JSON array. */
  begin(frame: string): boolean {
    this.#frame = frame;
    this.error = ScanError.NONE;
    this.errorOffset = -1;
    this.#state = State.IDLE;
    if (frame.length > this.#maxFrameChars) {
      this.error = ScanError.OVERSIZED;
      this.errorOffset = this.#maxFrameChars;
      return false;
    }
    this.#ascii = this.#fast && this.#load(frame);
    const i = skipWs(frame, 0);
    const c = frame.charCodeAt(i);
    if (c === 0x5b) {
      this.#pos = i + 1;
      this.#state = State.FIRST;
      return true;
    }
    if (!startsValue(c)) return this.#fail(i) >= 0;
    // Valid JSON that is not an array, or malformed? Read it to tell.
    const end = this.#skip(frame, i);
    if (end >= 0) {
      const j = skipWs(frame, end);
      if (j !== frame.length) return this.#fail(j) >= 0;
      this.error = ScanError.NOT_AN_ARRAY;
      this.errorOffset = i;
    }
    return false;
  }

  /**
   * Next event into `ev` (reset first). False at the end of the array (`error` NONE), or when the
   * frame is bad (`error`, `errorOffset` set): drop the whole frame, events already taken too.
   */
  next(ev: PolygonEvent): boolean {
    ev.reset();
    if (this.#state === State.IDLE) return false;
    if (this.#ascii) {
      // The common case: `{` right after `[` or after `,`, and an event the fast path takes.
      const b = this.#bytes;
      let at = this.#pos;
      if (this.#state === State.MORE) at = b[at] === 0x2c ? at + 1 : -1;
      if (at >= 0 && b[at] === 0x7b) {
        const end = this.#fastObject(b, this.#view, at, ev);
        if (end >= 0) {
          this.#state = State.MORE;
          this.#pos = end;
          return true;
        }
        ev.reset(); // the general path below reads this element again
      }
    }
    const s = this.#frame;
    let i = skipWs(s, this.#pos);
    let c = s.charCodeAt(i);
    if (c === 0x5d) return this.#finish(s, i + 1);
    if (this.#state === State.MORE) {
      if (c !== 0x2c) return this.#fail(i) >= 0;
      i = skipWs(s, i + 1);
      c = s.charCodeAt(i);
    }
    if (c !== 0x7b) return this.#notAnObject(s, i);
    this.#state = State.MORE;
    let end = this.#object(s, i, ev, false, Kind.NONE);
    if (end >= 0 && this.#rescan) {
      const kind: Kind = ev.ev as number;
      ev.reset();
      end = this.#object(s, i, ev, true, kind);
    }
    if (end < 0) {
      ev.reset();
      return false;
    }
    this.#pos = end;
    return true;
  }

  /** The value of a string range (escapes resolved). Allocates: for materialize and logs. */
  stringAt(frame: string, start: number, end: number): string {
    let j = frame.indexOf("\\", start);
    if (j < 0 || j >= end) return frame.slice(start, end);
    let out = "";
    let from = start;
    while (j >= 0 && j < end) {
      out += frame.slice(from, j);
      const c = frame.charCodeAt(j + 1);
      if (c === 0x75) {
        out += String.fromCharCode(parseInt(frame.slice(j + 2, j + 6), 16));
        j += 6;
      } else {
        out += c === 0x62 ? "\b" : c === 0x66 ? "\f" : c === 0x6e ? "\n" : c === 0x72 ? "\r" : c === 0x74 ? "\t" : String.fromCharCode(c);
        j += 2;
      }
      from = j;
      j = frame.indexOf("\\", j);
    }
    return out + frame.slice(from, end);
  }

  /** The configured symbol id of `frame[start, end)` (a string's content, escapes in place), or -1. */
  symbolIdAt(frame: string, start: number, end: number): number {
    const j = frame.indexOf("\\", start);
    if (j >= 0 && j < end) return this.#bySymbol.get(this.stringAt(frame, start, end)) ?? -1; // allocates
    return this.#lookup(frame, start, end);
  }

  // ---- frame level --------------------------------------------------------------------------

  /**
   * Copies the frame into `#bytes` as UTF-8, followed by PAD zero bytes; true when it is all
   * ASCII. One native copy per frame (~2.5 ns per event) buys byte loads and multi-byte compares
   * through a DataView: a bare loop over the bytes runs ~2x a bare `charCodeAt` loop over the
   * string (bench ceilings). A non-ASCII character takes 2 to 4 bytes, so the frame is ASCII exactly when it wrote
   * as many bytes as it has chars (the buffer has PAD bytes to spare, so a write cut short at the
   * end of the buffer cannot come to that count either).
   */
  #load(frame: string): boolean {
    const n = frame.length;
    if (n + PAD > this.#bytes.length) {
      // allocates: only for a frame longer than any before (up to maxFrameChars + PAD)
      const size = Math.min(Math.max(n + PAD, this.#bytes.length * 2, 4096), this.#maxFrameChars + PAD);
      this.#bytes = new Uint8Array(size);
      this.#view = new DataView(this.#bytes.buffer);
      this.#buf = Buffer.from(this.#bytes.buffer);
    }
    if (this.#buf.write(frame, 0, "utf8") !== n) return false;
    this.#bytes.fill(0, n, n + PAD);
    return true;
  }

  #fail(i: number): number {
    this.error = ScanError.MALFORMED_JSON;
    this.errorOffset = i;
    this.#state = State.IDLE;
    return -1;
  }

  /** After the closing `]`: only whitespace may follow. */
  #finish(s: string, i: number): boolean {
    const j = skipWs(s, i);
    if (j !== s.length) return this.#fail(j) >= 0;
    this.#state = State.IDLE;
    return false;
  }

  /** An element that is not an object: read the rest of the array to tell NOT_AN_OBJECT from MALFORMED_JSON. */
  #notAnObject(s: string, at: number): boolean {
    let i = at;
    for (;;) {
      i = this.#skip(s, i);
      if (i < 0) return false;
      i = skipWs(s, i);
      const c = s.charCodeAt(i);
      if (c === 0x2c) i = skipWs(s, i + 1);
      else if (c === 0x5d) break;
      else return this.#fail(i) >= 0;
    }
    if (!this.#finish(s, i + 1) && this.error === ScanError.NONE) {
      this.error = ScanError.NOT_AN_OBJECT;
      this.errorOffset = at;
    }
    return false;
  }

  // ---- objects and fields -------------------------------------------------------------------

  /**
   * One event object at `i` (`{`). `forced`: the kind is known (second pass); else it is taken from
   * `ev` as met, and `#rescan` says whether fields were read under another kind.
   *
   * The hot path is written out inline (a call per key and value cost 3x here): unescaped keys go
   * through KEY_TABLE, plain decimals (`-?int(.frac)?`, up to 15 digits) are converted in place;
   * everything else goes through `#key`, `#number` and `#field`.
   */
  #object(s: string, i: number, ev: PolygonEvent, forced: boolean, kind: Kind): number {
    ev.start = i;
    this.#rescan = false;
    let sawFields = false;
    i = skipWs(s, i + 1);
    let c = s.charCodeAt(i);
    if (c === 0x7d) {
      ev.end = i + 1;
      return i + 1;
    }
    for (;;) {
      if (c !== 0x22) return this.#fail(i);
      // The key: unescaped and short in practice.
      const ks = i + 1;
      let j = ks;
      c = s.charCodeAt(j);
      while (c >= 0x20 && c !== 0x22 && c !== 0x5c) c = s.charCodeAt(++j); // (NaN at the end leaves too)
      let k: K;
      if (c === 0x22) {
        const len = j - ks;
        k = K.UNKNOWN;
        if (len <= 2) {
          const c0 = s.charCodeAt(ks);
          const c1 = s.charCodeAt(ks + 1);
          if ((c0 | c1) < 0x80) k = KEY_TABLE[(len << 14) | (c0 << 7) | c1] as K;
        } else k = keyIdAt(s, ks, len);
        i = j + 1;
      } else {
        i = this.#key(s, i); // escapes, or an error
        if (i < 0) return i;
        k = this.#keyId;
      }
      c = s.charCodeAt(i);
      if (c !== 0x3a) {
        i = skipWs(s, i);
        if (s.charCodeAt(i) !== 0x3a) return this.#fail(i);
      }
      c = s.charCodeAt(++i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        i = skipWs(s, i);
        c = s.charCodeAt(i);
      }
      // The value.
      if (k === K.EV) {
        // Fast path: an unescaped string.
        j = i + 1;
        if (c === 0x22) {
          c = s.charCodeAt(j);
          while (c >= 0x20 && c !== 0x22 && c !== 0x5c) c = s.charCodeAt(++j);
        }
        if (c === 0x22 && j > i) {
          ev.evStart = i + 1;
          ev.evEnd = j;
          ev.present |= F_EV;
          ev.badFields &= ~F_EV;
          ev.ev = kindAt(s, i + 1, j - i - 1) as number;
          i = j + 1;
        } else {
          i = this.#evField(s, i, ev);
          if (i < 0) return i;
        }
        if (!forced && (ev.ev as number) !== kind) {
          if (sawFields) this.#rescan = true;
          kind = ev.ev as number;
        }
      } else if (k === K.SYM && c === 0x22 && FIELD_TYPE[kind * K.COUNT + K.SYM] === FT.SYMBOL) {
        // Fast path: an unescaped symbol, hashed while scanned.
        sawFields = true;
        const start = i + 1;
        j = start;
        let h = 0x811c9dc5;
        c = s.charCodeAt(j);
        while (c >= 0x20 && c !== 0x22 && c !== 0x5c) {
          h = Math.imul(h ^ c, 0x01000193);
          c = s.charCodeAt(++j);
        }
        if (c === 0x22) {
          ev.symStart = start;
          ev.symEnd = j;
          ev.symbolId = this.#lookupHashed(s, start, j, h ^ (h >>> 15));
          ev.present |= F_SYM;
          ev.badFields &= ~F_SYM;
          i = j + 1;
        } else {
          i = this.#field(s, i, ev, kind, k);
          if (i < 0) return i;
        }
      } else {
        sawFields = true;
        if (FIELD_TYPE[kind * K.COUNT + k] === FT.NUMBER && (c === 0x2d || (c >= 0x30 && c <= 0x39))) {
          // Fast path: -?int(.frac)? with at most 15 digits (so m < 2^53) and no exponent.
          j = i;
          let neg = false;
          if (c === 0x2d) {
            neg = true;
            c = s.charCodeAt(++j);
          }
          const d0 = j;
          let m = 0;
          while (c >= 0x30 && c <= 0x39) {
            m = m * 10 + (c - 0x30);
            c = s.charCodeAt(++j);
          }
          const intDigits = j - d0;
          let fracDigits = 0;
          let plain = intDigits > 0 && (intDigits === 1 || s.charCodeAt(d0) !== 0x30);
          if (c === 0x2e) {
            const f0 = ++j;
            c = s.charCodeAt(j);
            while (c >= 0x30 && c <= 0x39) {
              m = m * 10 + (c - 0x30);
              c = s.charCodeAt(++j);
            }
            fracDigits = j - f0;
            if (fracDigits === 0) plain = false;
          }
          let v: number;
          if (plain && c !== 0x65 && c !== 0x45 && intDigits + fracDigits <= 15) {
            v = fracDigits === 0 ? m : m / POW10[fracDigits]!;
            if (neg) v = -v;
            i = j;
          } else {
            i = this.#number(s, i);
            if (i < 0) return i;
            v = this.#num;
            if (v === Infinity || v === -Infinity) ev.nonFinite = true; // for validateEvent
          }
          setNumber(ev, kind, k, v);
          const bit = KEY_BIT[k]!;
          ev.present |= bit;
          ev.badFields &= ~bit;
        } else {
          i = this.#field(s, i, ev, kind, k);
          if (i < 0) return i;
        }
      }
      c = s.charCodeAt(i);
      if (c !== 0x2c && c !== 0x7d) {
        i = skipWs(s, i);
        c = s.charCodeAt(i);
      }
      if (c === 0x2c) {
        c = s.charCodeAt(++i);
        if (c !== 0x22) {
          i = skipWs(s, i);
          c = s.charCodeAt(i);
        }
        continue;
      }
      if (c === 0x7d) {
        ev.end = i + 1;
        return i + 1;
      }
      return this.#fail(i);
    }
  }

  /**
   * The fast path: one event object at `i` (`{`) in the frame's bytes, if it has the vendor's
   * shape: compact (no whitespace), `ev` first and one of T / Q / A / AM, then only keys of that
   * kind's spec, unescaped strings, numbers `-?int(.frac)?` of at most 15 digits, code arrays of
   * plain ints of at most 9 digits, each value of its spec type. Keys in any order; duplicates
   * are fine (the last wins, as below). Returns the index after `}`, or -1 when the event is not
   * of that shape, malformed included: the caller resets `ev` and reads it again with the general
   * path, which decides (so the fast path never sets `error`).
   *
   * Everything it accepts it checks as strictly as JSON.parse, and leaves `ev` as the general path
   * would (the tests compare both paths on random frames).
   */
  #fastObject(b: Uint8Array, dv: DataView, i: number, ev: PolygonEvent): number {
    // `{"ev":"` and the kind, two words and a few bytes.
    if (dv.getUint32(i + 1, true) !== W_EV_KEY || dv.getUint16(i + 5, true) !== W_COLON_QUOTE) return -1;
    let j = i + 7;
    let c = b[j]!;
    let kind: Kind;
    if (b[j + 1] === 0x22) {
      kind = c === 0x51 ? Kind.Q : c === 0x54 ? Kind.T : c === 0x41 ? Kind.A : Kind.NONE;
      if (kind === Kind.NONE) return -1;
      j += 2;
    } else if (c === 0x41 && b[j + 1] === 0x4d && b[j + 2] === 0x22) {
      kind = Kind.AM;
      j += 3;
    } else return -1;
    ev.ev = kind as number;
    ev.evStart = i + 7;
    ev.evEnd = j - 1;
    // Bits gathered in a local, stored once (badFields stays 0: a wrong type leaves the fast path).
    let present = F_EV;
    const row = kind * K.COUNT;
    for (;;) {
      // `,"` and the key's first two bytes in one word; or `}`.
      const w = dv.getInt32(j, true);
      if ((w & 0xffff) !== W_COMMA_QUOTE) {
        if ((w & 0xff) === 0x7d) break;
        return -1;
      }
      const ks = j + 2;
      let k: K = FAST_KEY[w >>> 16]!;
      const info = FAST_FIELD[row + k]!;
      if (info === 0) return -1; // not a key of this kind (or `ev` again)
      const ft: FT = info & 15;
      const len = info >> 4;
      if (len > 2) {
        c = b[ks + 2]!;
        if (k === K.SYM) {
          if (c !== 0x6d) return -1;
        } else if (k === K.OTC) {
          if (c !== 0x63) return -1;
        } else {
          // trfi or trft
          if (c !== 0x66) return -1;
          c = b[ks + 3]!;
          if (c === 0x74) k = K.TRFT;
          else if (c !== 0x69) return -1;
        }
      }
      if (dv.getUint16(ks + len, true) !== W_QUOTE_COLON) return -1;
      j = ks + len + 2;
      c = b[j]!;
      // The value.
      if (ft === FT.NUMBER) {
        let neg = false;
        if (c === 0x2d) {
          neg = true;
          c = b[++j]!;
        }
        const d0 = j;
        let m = 0;
        while (c >= 0x30 && c <= 0x39) {
          m = m * 10 + (c - 0x30);
          c = b[++j]!;
        }
        const intDigits = j - d0;
        if (intDigits === 0 || (intDigits > 1 && b[d0] === 0x30)) return -1; // no digit, or a leading zero
        let v = m;
        if (c === 0x2e) {
          const f0 = ++j;
          c = b[j]!;
          while (c >= 0x30 && c <= 0x39) {
            m = m * 10 + (c - 0x30);
            c = b[++j]!;
          }
          const fracDigits = j - f0;
          if (fracDigits === 0 || intDigits + fracDigits > 15) return -1;
          // m < 10^15 < 2^53 and 10^k are exact, so one division rounds correctly (as in #number).
          v = m / POW10[fracDigits]!;
        } else if (intDigits > 15) return -1;
        // An exponent, or anything else after the number, fails at the top of the loop.
        setNumber(ev, kind, k, neg ? -v : v);
      } else if (ft === FT.SYMBOL) {
        if (c !== 0x22) return -1;
        const start = ++j;
        c = b[j]!;
        while (c >= 0x20 && c !== 0x22 && c !== 0x5c) c = b[++j]!;
        if (c !== 0x22) return -1;
        const len = j - start;
        ev.symStart = start;
        ev.symEnd = j;
        if (len <= 8) {
          // The symbol's bytes as two words, cut to its length (the bytes after it are the frame's).
          const lo = dv.getInt32(start, true) & LOW_BYTES[len > 4 ? 4 : len]!;
          const hi = dv.getInt32(start + 4, true) & LOW_BYTES[len > 4 ? len - 4 : 0]!;
          const mask = this.#mask;
          let slot = packedSlot(lo, hi) & mask;
          let id: number;
          while ((id = this.#packId[slot]!) !== 0 && (this.#packLo[slot] !== lo || this.#packHi[slot] !== hi)) slot = (slot + 1) & mask;
          ev.symbolId = id - 1;
        } else ev.symbolId = this.#lookup(this.#frame, start, j);
        j++;
      } else if (ft === FT.INT_ARRAY) {
        if (c !== 0x5b) return -1;
        const codes = ev.codes;
        let n = 0;
        c = b[++j]!;
        if (c === 0x5d) j++;
        else {
          for (;;) {
            // A plain int of 1 to 9 digits: an int32, never -0.
            const d0 = j;
            let v = c - 0x30;
            if (v < 0 || v > 9) return -1;
            c = b[++j]!;
            while (c >= 0x30 && c <= 0x39) {
              v = v * 10 + (c - 0x30);
              c = b[++j]!;
            }
            if (j - d0 > 9 || (j - d0 > 1 && b[d0] === 0x30) || n === MAX_CODES) return -1; // long, leading zero, too many
            codes[n++] = v;
            if (c === 0x2c) {
              c = b[++j]!;
              continue;
            }
            if (c !== 0x5d) return -1;
            j++;
            break;
          }
        }
        ev.codeCount = n;
      } else if (ft === FT.STRING) {
        if (c !== 0x22) return -1;
        const start = ++j;
        c = b[j]!;
        while (c >= 0x20 && c !== 0x22 && c !== 0x5c) c = b[++j]!;
        if (c !== 0x22) return -1;
        setString(ev, k, start, j);
        j++;
      } else {
        // BOOL (otc)
        if (c === 0x74 && dv.getUint32(j, true) === W_TRUE) {
          ev.otc = true;
          j += 4;
        } else if (c === 0x66 && dv.getUint32(j, true) === W_FALS && b[j + 4] === 0x65) {
          ev.otc = false;
          j += 5;
        } else return -1;
      }
      present |= KEY_BIT[k]!;
    }
    ev.present = present;
    ev.start = i;
    ev.end = j + 1;
    return j + 1;
  }

  /** A key string at `i`; sets `#keyId`, returns the index after its closing quote. */
  #key(s: string, i: number): number {
    const start = i + 1;
    i = this.#string(s, i);
    if (i < 0) return i;
    // allocates: only for a key written with escapes
    this.#keyId = this.#esc ? (KEY_ID.get(this.stringAt(s, start, i - 1)) ?? K.UNKNOWN) : keyIdAt(s, start, i - 1 - start);
    return i;
  }

  #evField(s: string, i: number, ev: PolygonEvent): number {
    if (s.charCodeAt(i) === 0x22) {
      const start = i + 1;
      i = this.#string(s, i);
      if (i < 0) return i;
      ev.evStart = start;
      ev.evEnd = i - 1;
      ev.present |= F_EV;
      ev.badFields &= ~F_EV;
      if (this.#esc) {
        const v = this.stringAt(s, start, i - 1); // allocates: escaped `ev`
        ev.ev = kindAt(v, 0, v.length) as number;
      } else ev.ev = kindAt(s, start, i - 1 - start) as number;
      return i;
    }
    i = this.#skip(s, i);
    if (i < 0) return i;
    ev.ev = Kind.UNKNOWN as number;
    ev.evStart = ev.evEnd = -1;
    ev.present &= ~F_EV;
    ev.badFields |= F_EV;
    return i;
  }

  #field(s: string, i: number, ev: PolygonEvent, kind: Kind, k: K): number {
    const ft = FIELD_TYPE[kind * K.COUNT + k];
    if (ft === FT.SKIP) return this.#skip(s, i);
    const bit = KEY_BIT[k]!;
    const c = s.charCodeAt(i);
    if (ft === FT.NUMBER) {
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        i = this.#number(s, i);
        if (i < 0) return i;
        const v = this.#num;
        setNumber(ev, kind, k, v);
        if (v === Infinity || v === -Infinity) ev.nonFinite = true; // for validateEvent
        ev.present |= bit;
        ev.badFields &= ~bit;
        return i;
      }
      setNumber(ev, kind, k, NaN);
    } else if (ft === FT.STRING || ft === FT.SYMBOL) {
      if (c === 0x22) {
        const start = i + 1;
        i = this.#string(s, i);
        if (i < 0) return i;
        const end = i - 1;
        setString(ev, k, start, end);
        if (ft === FT.SYMBOL) {
          // allocates: only for a symbol written with escapes
          ev.symbolId = this.#esc ? (this.#bySymbol.get(this.stringAt(s, start, end)) ?? -1) : this.#lookup(s, start, end);
        }
        ev.present |= bit;
        ev.badFields &= ~bit;
        return i;
      }
      setString(ev, k, -1, -1);
      if (ft === FT.SYMBOL) ev.symbolId = -1;
    } else if (ft === FT.INT_ARRAY) {
      if (c === 0x5b) return this.#codes(s, i, ev, bit);
      ev.codeCount = 0;
    } else {
      // BOOL
      if (c === 0x74 && s.startsWith("true", i)) {
        ev.otc = true;
        ev.present |= bit;
        ev.badFields &= ~bit;
        return i + 4;
      }
      if (c === 0x66 && s.startsWith("false", i)) {
        ev.otc = false;
        ev.present |= bit;
        ev.badFields &= ~bit;
        return i + 5;
      }
      ev.otc = false;
    }
    // The wrong JSON type for this field (or null): still valid JSON.
    i = this.#skip(s, i);
    if (i < 0) return i;
    ev.present &= ~bit;
    ev.badFields |= bit;
    return i;
  }

  /** An array that must hold ints (T `c`, Q `i`) at `i` (`[`), into `ev.codes`. */
  #codes(s: string, i: number, ev: PolygonEvent, bit: number): number {
    const codes = ev.codes;
    let n = 0;
    let bad = false;
    i = skipWs(s, i + 1);
    let c = s.charCodeAt(i);
    if (c !== 0x5d) {
      for (;;) {
        const first = c;
        let plain = false;
        if (first >= 0x31 && first <= 0x39) {
          // Fast path: a plain positive int of up to 9 digits (so an int32).
          let v = first - 0x30;
          let j = i + 1;
          c = s.charCodeAt(j);
          while (c >= 0x30 && c <= 0x39 && j - i < 9) {
            v = v * 10 + (c - 0x30);
            c = s.charCodeAt(++j);
          }
          if (c !== 0x2e && c !== 0x65 && c !== 0x45 && !(c >= 0x30 && c <= 0x39)) {
            plain = true;
            if (n < MAX_CODES) codes[n++] = v;
            else bad = true;
            i = j;
          }
        }
        if (!plain) {
          if (first === 0x2d || (first >= 0x30 && first <= 0x39)) {
            i = this.#number(s, i);
            if (i < 0) return i;
            const v = this.#num;
            // An int32 (not -0, which an Int32Array cannot hold), and room for it.
            if (n < MAX_CODES && (v | 0) === v && (v !== 0 || 1 / v > 0)) codes[n++] = v;
            else bad = true;
          } else {
            i = this.#skip(s, i);
            if (i < 0) return i;
            bad = true;
          }
        }
        c = s.charCodeAt(i);
        if (c !== 0x2c && c !== 0x5d) {
          i = skipWs(s, i);
          c = s.charCodeAt(i);
        }
        if (c === 0x2c) {
          i = skipWs(s, i + 1);
          c = s.charCodeAt(i);
          continue;
        }
        if (c === 0x5d) break;
        return this.#fail(i);
      }
    }
    if (bad) {
      ev.codeCount = 0;
      ev.present &= ~bit;
      ev.badFields |= bit;
    } else {
      ev.codeCount = n;
      ev.present |= bit;
      ev.badFields &= ~bit;
    }
    return i + 1;
  }

  #lookup(s: string, start: number, end: number): number {
    return this.#lookupHashed(s, start, end, symbolHash(s, start, end));
  }

  #lookupHashed(s: string, start: number, end: number, hash: number): number {
    const len = end - start;
    const table = this.#table;
    const mask = this.#mask;
    let slot = hash & mask;
    for (;;) {
      const id = table[slot]! - 1;
      if (id < 0) return -1;
      const sym = this.#symbols[id]!;
      if (sym.length === len) {
        let j = 0;
        while (j < len && sym.charCodeAt(j) === s.charCodeAt(start + j)) j++;
        if (j === len) return id;
      }
      slot = (slot + 1) & mask;
    }
  }

  // ---- JSON values ----------------------------------------------------------------------------

  /** A string at `i` (`"`): returns the index after the closing quote; `#esc` says whether it held escapes. */
  #string(s: string, i: number): number {
    let esc = false;
    i++;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x22) break;
      if (c === 0x5c) {
        esc = true;
        const d = s.charCodeAt(i + 1);
        if (d === 0x75) {
          if (!(isHex(s.charCodeAt(i + 2)) && isHex(s.charCodeAt(i + 3)) && isHex(s.charCodeAt(i + 4)) && isHex(s.charCodeAt(i + 5)))) return this.#fail(i);
          i += 6;
        } else if (d === 0x22 || d === 0x5c || d === 0x2f || d === 0x62 || d === 0x66 || d === 0x6e || d === 0x72 || d === 0x74) i += 2;
        else return this.#fail(i);
      } else if (c >= 0x20) i++;
      else return this.#fail(i); // a control character, or the end of the frame (NaN)
    }
    this.#esc = esc;
    return i + 1;
  }

  /**
   * A number at `i` into `#num`, exactly as `JSON.parse` converts it. Fast path: the digits as an
   * integer mantissa m < 2^53 (exact), scaled once by an exact power of ten 10^k, |k| <= 22 — one
   * correctly rounded operation on exact operands, so the correctly rounded result (Clinger).
   */
  #number(s: string, i: number): number {
    const start = i;
    let c = s.charCodeAt(i);
    let neg = false;
    if (c === 0x2d) {
      neg = true;
      c = s.charCodeAt(++i);
    }
    let m = 0;
    if (c === 0x30) {
      c = s.charCodeAt(++i);
      if (c >= 0x30 && c <= 0x39) return this.#fail(i); // leading zero
    } else if (c >= 0x31 && c <= 0x39) {
      do {
        m = m * 10 + (c - 0x30);
        c = s.charCodeAt(++i);
      } while (c >= 0x30 && c <= 0x39);
    } else return this.#fail(i);
    let exp = 0;
    if (c === 0x2e) {
      c = s.charCodeAt(++i);
      if (!(c >= 0x30 && c <= 0x39)) return this.#fail(i);
      do {
        m = m * 10 + (c - 0x30);
        exp--;
        c = s.charCodeAt(++i);
      } while (c >= 0x30 && c <= 0x39);
    }
    let hugeExp = false;
    if (c === 0x65 || c === 0x45) {
      c = s.charCodeAt(++i);
      let expNeg = false;
      if (c === 0x2b || c === 0x2d) {
        expNeg = c === 0x2d;
        c = s.charCodeAt(++i);
      }
      if (!(c >= 0x30 && c <= 0x39)) return this.#fail(i);
      let e = 0;
      do {
        if (e < 1e6) e = e * 10 + (c - 0x30);
        else hugeExp = true;
        c = s.charCodeAt(++i);
      } while (c >= 0x30 && c <= 0x39);
      exp += expNeg ? -e : e;
    }
    let v: number;
    if (m < TWO_53 && exp >= -22 && exp <= 22 && !hugeExp) v = exp < 0 ? m / POW10[-exp]! : m * POW10[exp]!;
    else if (m === 0) v = 0; // every digit zero: zero whatever the exponent
    else v = Math.abs(Number(s.slice(start, i))); // allocates: long mantissa or large exponent
    this.#num = neg ? -v : v;
    return i;
  }

  /** Any JSON value at `i` (after whitespace), checked and skipped; iterative, so any depth. */
  #skip(s: string, i: number): number {
    let stack = this.#stack;
    let depth = 0;
    for (;;) {
      let c = s.charCodeAt(i);
      if (c === 0x5b || c === 0x7b) {
        if (depth === stack.length) {
          const grown = new Uint8Array(depth * 2); // allocates: deep nesting only
          grown.set(stack);
          this.#stack = stack = grown;
        }
        stack[depth++] = c;
        i = skipWs(s, i + 1);
        const d = s.charCodeAt(i);
        if (d === c + 2) {
          // `[]` or `{}`
          depth--;
          i++;
        } else if (c === 0x5b) continue;
        else {
          i = this.#memberKey(s, i);
          if (i < 0) return i;
          continue;
        }
      } else if (c === 0x22) {
        i = this.#string(s, i);
      } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
        i = this.#number(s, i);
      } else if (c === 0x74 && s.startsWith("true", i)) i += 4;
      else if (c === 0x66 && s.startsWith("false", i)) i += 5;
      else if (c === 0x6e && s.startsWith("null", i)) i += 4;
      else return this.#fail(i);
      if (i < 0) return i;
      // after a value
      for (;;) {
        if (depth === 0) return i;
        i = skipWs(s, i);
        c = s.charCodeAt(i);
        const top = stack[depth - 1]!;
        if (c === 0x2c) {
          i = skipWs(s, i + 1);
          if (top === 0x7b) {
            i = this.#memberKey(s, i);
            if (i < 0) return i;
          }
          break;
        }
        if (c === top + 2) {
          depth--;
          i++;
          continue;
        }
        return this.#fail(i);
      }
    }
  }

  /** `"key" :` at `i` inside an unknown object; returns the index of the value. */
  #memberKey(s: string, i: number): number {
    if (s.charCodeAt(i) !== 0x22) return this.#fail(i);
    i = this.#string(s, i);
    if (i < 0) return i;
    i = skipWs(s, i);
    if (s.charCodeAt(i) !== 0x3a) return this.#fail(i);
    return skipWs(s, i + 1);
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * The event as a plain object equal, key for key, to `JSON.parse` of its text restricted to the
 * keys the spec defines for its kind (`SPEC_KEYS`; unknown keys are not kept). Fields in
 * `badFields` are taken from `JSON.parse` of the event's text, as they are. Allocates: tests, logs.
 */
export function materialize(ev: PolygonEvent, frame: string, scanner: FrameScanner): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  let raw: Record<string, unknown> | undefined;
  for (const name of SPEC_KEYS[ev.ev]!) {
    const k = KEY_ID.get(name)!;
    const bit = KEY_BIT[k]!;
    if (ev.present & bit) out[name] = fieldValue(ev, frame, scanner, k);
    else if (ev.badFields & bit) {
      raw ??= JSON.parse(frame.slice(ev.start, ev.end)) as Record<string, unknown>;
      out[name] = raw[name];
    }
  }
  return out;
}

/** The names of the fields of `kind` in a `present` / `badFields` mask, e.g. for a log line. Allocates. */
export function fieldNames(mask: number, kind: Ev | Kind): string[] {
  return SPEC_KEYS[kind]!.filter((name) => (mask & KEY_BIT[KEY_ID.get(name)!]!) !== 0);
}

function fieldValue(ev: PolygonEvent, frame: string, scanner: FrameScanner, k: K): unknown {
  const codes = () => Array.from(ev.codes.subarray(0, ev.codeCount));
  switch (k) {
    case K.EV: return scanner.stringAt(frame, ev.evStart, ev.evEnd);
    case K.SYM: return scanner.stringAt(frame, ev.symStart, ev.symEnd);
    case K.STATUS: return scanner.stringAt(frame, ev.statusStart, ev.statusEnd);
    case K.MESSAGE: return scanner.stringAt(frame, ev.messageStart, ev.messageEnd);
    case K.DS: return scanner.stringAt(frame, ev.dsStart, ev.dsEnd);
    case K.I: return (ev.ev as number) === Kind.T ? scanner.stringAt(frame, ev.idStart, ev.idEnd) : codes();
    case K.C: return (ev.ev as number) === Kind.T ? codes() : (ev.ev as number) === Kind.Q ? ev.cond : ev.c;
    case K.OTC: return ev.otc;
    case K.X: return ev.x;
    case K.Z: return ev.z;
    case K.P: return ev.p;
    case K.S: return ev.s;
    case K.T: return ev.t;
    case K.Q: return ev.q;
    case K.TRFI: return ev.trfi;
    case K.TRFT: return ev.trft;
    case K.BX: return ev.bx;
    case K.BP: return ev.bp;
    case K.BS: return ev.bs;
    case K.AX: return ev.ax;
    case K.AP: return ev.ap;
    case K.AS: return ev.as;
    case K.V: return ev.v;
    case K.AV: return ev.av;
    case K.OP: return ev.op;
    case K.VW: return ev.vw;
    case K.O: return ev.o;
    case K.H: return ev.h;
    case K.L: return ev.l;
    case K.A: return ev.a;
    case K.E: return ev.e;
  }
  return undefined;
}
