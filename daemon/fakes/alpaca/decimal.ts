/**
 * Exact decimals for the fake's money and quantities, as the real server keeps them (its Go
 * code uses shopspring/decimal): a `bigint` holding the value × 10^16. Division rounds half away
 * from zero to 16 places, as shopspring's default `DivisionPrecision` does, so ratios such as
 * `unrealized_plpc` come out digit for digit like the spec's example ("-0.0028035244307129").
 */

/** A decimal value × 10^16. */
export type Decimal = bigint;

const PLACES = 16;
const SCALE = 10n ** BigInt(PLACES);
const DECIMAL_TEXT = /^([+-]?)(\d*)(?:\.(\d*))?$/;

export const ZERO: Decimal = 0n;
export const ONE: Decimal = SCALE;

/**
 * A JSON string or number as the API accepts it (`"2"`, `2`, `"150.25"`), or null if it is not
 * a plain decimal. Digits past the 16th place are dropped.
 */
export function parseDecimal(value: unknown): Decimal | null {
  let text: string;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return null;
    text = String(value);
    if (/e/i.test(text)) text = value.toFixed(PLACES);
  } else if (typeof value === "string") {
    text = value.trim();
  } else {
    return null;
  }
  const m = DECIMAL_TEXT.exec(text);
  if (m === null || (m[2] === "" && (m[3] ?? "") === "")) return null;
  const fraction = (m[3] ?? "").slice(0, PLACES).padEnd(PLACES, "0");
  const magnitude = BigInt(m[2] || "0") * SCALE + BigInt(fraction);
  return m[1] === "-" ? -magnitude : magnitude;
}

/** The shortest text: `"2"`, `"174.78"`, `"-0.98"` (no trailing zeros, no exponent). */
export function formatDecimal(value: Decimal): string {
  const negative = value < 0n;
  const magnitude = negative ? -value : value;
  const whole = magnitude / SCALE;
  const fraction = (magnitude % SCALE).toString().padStart(PLACES, "0").replace(/0+$/, "");
  const text = fraction === "" ? whole.toString() : `${whole}.${fraction}`;
  return negative && magnitude !== 0n ? `-${text}` : text;
}

export function fromInteger(n: number | bigint): Decimal {
  return BigInt(n) * SCALE;
}

export function multiply(a: Decimal, b: Decimal): Decimal {
  return divideRounded(a * b, SCALE);
}

/** a / b to 16 places, half away from zero. `b` must not be zero. */
export function divide(a: Decimal, b: Decimal): Decimal {
  return divideRounded(a * SCALE, b);
}

/** Rounds toward zero to `places` decimal places (share quantities: 9 places, or whole shares). */
export function truncate(value: Decimal, places: number): Decimal {
  const unit = 10n ** BigInt(PLACES - places);
  return (value / unit) * unit;
}

export function isWhole(value: Decimal): boolean {
  return value % SCALE === 0n;
}

export function abs(value: Decimal): Decimal {
  return value < 0n ? -value : value;
}

export function min(a: Decimal, b: Decimal): Decimal {
  return a < b ? a : b;
}

export function max(a: Decimal, b: Decimal): Decimal {
  return a > b ? a : b;
}

function divideRounded(numerator: bigint, denominator: bigint): bigint {
  const negative = numerator < 0n !== denominator < 0n;
  const n = numerator < 0n ? -numerator : numerator;
  const d = denominator < 0n ? -denominator : denominator;
  const q = (n + d / 2n) / d;
  return negative ? -q : q;
}
