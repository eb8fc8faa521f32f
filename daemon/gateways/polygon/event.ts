/**
 * One Polygon/Massive stocks WebSocket event as the scanner leaves it: a reusable, mutable
 * struct (no allocation per event). Field names follow the wire (`../../shared/protocols/
 * PROTOCOLS.md` §A.5). A field that is absent is NaN (numbers) or has length 0 / -1 (strings,
 * arrays); `present` says which fields the event carried, bit per `F_*` constant.
 *
 * Strings are not materialised: the scanner keeps where they are in the frame (`symStart`,
 * `symEnd` as UTF-16 offsets into the frame string, escapes still in place) and the symbol's id
 * when it matched a configured symbol. `materialize()` (tests, logs) builds a plain object equal
 * to `JSON.parse` of the event.
 */

export const enum Ev {
  NONE = 0,
  T = 1,
  Q = 2,
  A = 3,
  AM = 4,
  STATUS = 5,
  /** An `ev` the scanner does not know (counted, dropped). */
  UNKNOWN = 6,
}

// Bits of `present`.
export const F_SYM = 1 << 0;
export const F_X = 1 << 1; // T: exchange
export const F_I = 1 << 2; // T: trade id (string); Q: indicators (array)
export const F_Z = 1 << 3; // tape (T, Q); average trade size (A, AM)
export const F_P = 1 << 4;
export const F_S = 1 << 5; // T: size; A/AM: window start
export const F_C = 1 << 6; // T: conditions (array); Q: condition (int); A/AM: close
export const F_T = 1 << 7;
export const F_Q = 1 << 8;
export const F_TRFI = 1 << 9;
export const F_TRFT = 1 << 10;
export const F_BX = 1 << 11;
export const F_BP = 1 << 12;
export const F_BS = 1 << 13;
export const F_AX = 1 << 14;
export const F_AP = 1 << 15;
export const F_AS = 1 << 16;
export const F_V = 1 << 17;
export const F_AV = 1 << 18;
export const F_OP = 1 << 19;
export const F_VW = 1 << 20;
export const F_O = 1 << 21;
export const F_H = 1 << 22;
export const F_L = 1 << 23;
export const F_AA = 1 << 24; // A/AM: `a`, today's VWAP
export const F_E = 1 << 25;
export const F_OTC = 1 << 26;
export const F_STATUS = 1 << 27;
export const F_MESSAGE = 1 << 28;
export const F_DS = 1 << 29; // T: fractional size as a string (Massive docs)
export const F_EV = 1 << 30; // `ev` itself (present: a string; bad: any other JSON type)

/** Most condition codes / indicators kept per event; more are counted as a bad field. */
export const MAX_CODES = 16;

export class PolygonEvent {
  ev: Ev = Ev.NONE;
  present = 0;
  /**
   * Fields the event carried with a JSON type the spec does not give them (`"p":"1.0"`, `"i":5` on
   * a trade, `null`, an int array holding a non-int or more than MAX_CODES codes): bit per `F_*`,
   * never also in `present`. The last occurrence of a duplicated key decides, as in `JSON.parse`.
   * Numbers that are not finite (`1e400`) are NOT bad fields: they are kept as ±Infinity.
   */
  badFields = 0;
  /** The event object in the frame: UTF-16 offsets of `{` and just past `}` (logs, materialize). */
  start = -1;
  end = -1;
  /** `ev` string range (escapes in place); set when `present` has F_EV. */
  evStart = -1;
  evEnd = -1;
  /** Configured symbol id, or -1 (not configured / absent). */
  symbolId = -1;
  symStart = -1;
  symEnd = -1;
  // Trade
  x = NaN;
  p = NaN;
  s = NaN;
  /** Trade id (`i` of T) as a string range in the frame. */
  idStart = -1;
  idEnd = -1;
  // Quote
  bx = NaN;
  bp = NaN;
  bs = NaN;
  ax = NaN;
  ap = NaN;
  as = NaN;
  /** Q: `c` (one int). */
  cond = NaN;
  // Common
  z = NaN;
  t = NaN;
  q = NaN;
  trfi = NaN;
  trft = NaN;
  // Aggregates
  v = NaN;
  av = NaN;
  op = NaN;
  vw = NaN;
  o = NaN;
  c = NaN;
  h = NaN;
  l = NaN;
  a = NaN;
  e = NaN;
  otc = false;
  /** T: `c` conditions; Q: `i` indicators. */
  readonly codes = new Int32Array(MAX_CODES);
  codeCount = 0;
  // Status
  statusStart = -1;
  statusEnd = -1;
  messageStart = -1;
  messageEnd = -1;
  dsStart = -1;
  dsEnd = -1;
  /**
   * Some number field was read as ±Infinity (`1e400`) while scanning this event (even if a later
   * duplicate key replaced it). Set by the scanner; `validateEvent`'s common-case check uses it
   * so that it need not test each field for infinity (its full check does).
   */
  nonFinite = false;

  reset(): void {
    this.ev = Ev.NONE;
    this.present = this.badFields = 0;
    this.start = this.end = this.evStart = this.evEnd = -1;
    this.symbolId = -1;
    this.symStart = this.symEnd = this.idStart = this.idEnd = -1;
    this.statusStart = this.statusEnd = this.messageStart = this.messageEnd = this.dsStart = this.dsEnd = -1;
    this.x = this.p = this.s = this.bx = this.bp = this.bs = this.ax = this.ap = this.as = this.cond = NaN;
    this.z = this.t = this.q = this.trfi = this.trft = NaN;
    this.v = this.av = this.op = this.vw = this.o = this.c = this.h = this.l = this.a = this.e = NaN;
    this.otc = this.nonFinite = false;
    this.codeCount = 0;
  }
}
