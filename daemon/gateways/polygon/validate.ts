/**
 * Whether a scanned Polygon event may go on: a pure function returning a reason (0 = ok), after
 * the risk checks' pattern. Frame-level reasons (codes 1..4) are the scanner's `ScanError`
 * values; per-event reasons follow. `BAD_INPUT_NAMES[code]` names each for metrics and logs.
 *
 * | reason | when |
 * |---|---|
 * | `unknown_ev` | `ev` absent, not a string, or not T / Q / A / AM / status |
 * | `wrong_type` | a spec field holds another JSON type than the spec's, or `null` (even an optional one) |
 * | `missing_field` | T without sym, p, s, t; Q without sym, bp, ap, bs, as, t; A / AM without sym, o, h, l, c, v, s, e; status without status |
 * | `bad_value` | a number that is not finite (`1e400`), a negative price, size or volume, a trade of size 0 without `ds` (fractional) |
 * | `unknown_symbol` | `sym` is not a configured symbol, unless the gateway subscribed `*` |
 *
 * Not errors: crossed or locked quotes (bid > ask happens), quote sizes of 0, a price of 0, an
 * `i`/`c` array that is empty, keys the spec does not define.
 */
import {
  F_AP,
  F_AS,
  F_BP,
  F_BS,
  F_C,
  F_DS,
  F_E,
  F_H,
  F_L,
  F_O,
  F_P,
  F_S,
  F_STATUS,
  F_SYM,
  F_T,
  F_V,
  type PolygonEvent,
} from "./event.ts";

export const enum BadInput {
  NONE = 0,
  // Frame level: the ScanError values.
  MALFORMED_JSON = 1,
  NOT_AN_ARRAY = 2,
  OVERSIZED = 3,
  NOT_AN_OBJECT = 4,
  // Event level.
  UNKNOWN_EV = 5,
  MISSING_FIELD = 6,
  WRONG_TYPE = 7,
  BAD_VALUE = 8,
  UNKNOWN_SYMBOL = 9,
}

/** Metric / log name per `BadInput` code. */
export const BAD_INPUT_NAMES = [
  "none",
  "malformed_json",
  "not_an_array",
  "oversized",
  "not_an_object",
  "unknown_ev",
  "missing_field",
  "wrong_type",
  "bad_value",
  "unknown_symbol",
] as const;
export type BadInputName = (typeof BAD_INPUT_NAMES)[number];

/** `Ev` values, inlined (Bun inlines a const enum only within its file; see scanner.ts `Kind`). */
const enum Kind {
  T = 1,
  Q = 2,
  A = 3,
  AM = 4,
  STATUS = 5,
}
const WITH_DS = F_DS;
const REQUIRED_T = F_SYM | F_P | F_S | F_T;
const REQUIRED_Q = F_SYM | F_BP | F_AP | F_BS | F_AS | F_T;
const REQUIRED_AGG = F_SYM | F_O | F_H | F_L | F_C | F_V | F_S | F_E;

/** ±Infinity (JSON cannot give NaN; an absent field is NaN and passes). */
function infinite(x: number): boolean {
  return x === Infinity || x === -Infinity;
}
/** Negative or infinite (absent NaN passes; -0 passes). */
function badAmount(x: number): boolean {
  return x < 0 || x === Infinity;
}

/**
 * @param allSymbols the gateway subscribed `*`: any `sym` is fine.
 * @example
 * const reason = validateEvent(ev, false);
 * if (reason !== BadInput.NONE) metrics.badInput[reason]++;
 *
 * The common case, a good Q / T / A / AM, is answered with one mask compare and a few sign
 * compares that all pass (so every branch is predicted), in a small inlinable function; anything
 * else goes to `reason()`, which finds the reason in the table's order. Infinity is not tested
 * field by field: the scanner says whether it read any (`ev.nonFinite`). (The switch-per-check
 * form cost ~35 % of scan time in the bench, the per-field one ~10 %, this one a few %.)
 */
export function validateEvent(ev: PolygonEvent, allSymbols: boolean): BadInput {
  const kind = ev.ev as number;
  const present = ev.present;
  // No wrong type, no ±Infinity anywhere (the scanner's hint), a known symbol: then only the
  // required bits and the signs of amounts are left to check.
  if (ev.badFields === 0 && !ev.nonFinite && (ev.symbolId >= 0 || allSymbols)) {
    if (kind === Kind.Q) {
      if ((present & REQUIRED_Q) === REQUIRED_Q && ev.bp >= 0 && ev.ap >= 0 && ev.bs >= 0 && ev.as >= 0) return BadInput.NONE;
    } else if (kind === Kind.T) {
      if ((present & REQUIRED_T) === REQUIRED_T && ev.p >= 0 && ev.s >= 0 && (ev.s !== 0 || (present & WITH_DS) !== 0)) return BadInput.NONE;
    } else if (kind === Kind.AM || kind === Kind.A) {
      // Required amounts are present (not NaN): `>= 0`; optional ones may be NaN: `!(x < 0)`.
      if (
        (present & REQUIRED_AGG) === REQUIRED_AGG &&
        ev.o >= 0 && ev.h >= 0 && ev.l >= 0 && ev.c >= 0 && ev.v >= 0 &&
        !(ev.av < 0) && !(ev.op < 0) && !(ev.vw < 0) && !(ev.a < 0) && !(ev.z < 0)
      )
        return BadInput.NONE;
    }
  }
  return reason(ev, allSymbols);
}

/** validateEvent's full answer: the reason, in the table's order (exported for the tests: validateEvent gives the same). */
export function reason(ev: PolygonEvent, allSymbols: boolean): BadInput {
  let required: number;
  switch (ev.ev as number) {
    case Kind.T:
      required = REQUIRED_T;
      break;
    case Kind.Q:
      required = REQUIRED_Q;
      break;
    case Kind.A:
    case Kind.AM:
      required = REQUIRED_AGG;
      break;
    case Kind.STATUS:
      required = F_STATUS;
      break;
    default:
      return BadInput.UNKNOWN_EV;
  }
  if (ev.badFields !== 0) return BadInput.WRONG_TYPE;
  if ((ev.present & required) !== required) return BadInput.MISSING_FIELD;
  switch (ev.ev as number) {
    case Kind.T:
      if (badAmount(ev.p) || badAmount(ev.s) || infinite(ev.x) || infinite(ev.z) || infinite(ev.t) || infinite(ev.q)) return BadInput.BAD_VALUE;
      if (infinite(ev.trfi) || infinite(ev.trft)) return BadInput.BAD_VALUE;
      if (ev.s === 0 && (ev.present & WITH_DS) === 0) return BadInput.BAD_VALUE;
      break;
    case Kind.Q:
      if (badAmount(ev.bp) || badAmount(ev.ap) || badAmount(ev.bs) || badAmount(ev.as)) return BadInput.BAD_VALUE;
      if (infinite(ev.bx) || infinite(ev.ax) || infinite(ev.cond) || infinite(ev.t) || infinite(ev.q) || infinite(ev.z)) return BadInput.BAD_VALUE;
      if (infinite(ev.trfi) || infinite(ev.trft)) return BadInput.BAD_VALUE;
      break;
    case Kind.A:
    case Kind.AM:
      if (badAmount(ev.o) || badAmount(ev.h) || badAmount(ev.l) || badAmount(ev.c) || badAmount(ev.v)) return BadInput.BAD_VALUE;
      if (badAmount(ev.av) || badAmount(ev.op) || badAmount(ev.vw) || badAmount(ev.a) || badAmount(ev.z)) return BadInput.BAD_VALUE;
      if (infinite(ev.s) || infinite(ev.e)) return BadInput.BAD_VALUE;
      break;
    case Kind.STATUS:
      return BadInput.NONE;
  }
  if (ev.symbolId < 0 && !allSymbols) return BadInput.UNKNOWN_SYMBOL;
  return BadInput.NONE;
}
