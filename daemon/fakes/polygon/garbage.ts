/**
 * Frames a consumer must survive: each kind is raw text, sent as one frame as it is. Built from
 * the PG-PY mock server's AAPL trade (`PROTOCOLS.md` §A.5) so only the fault differs.
 */

export type GarbageKind =
  | "malformed_json"
  | "non_array_json"
  | "unknown_ev"
  | "missing_fields"
  | "wrong_types"
  | "negative_values"
  | "nan_values"
  | "unknown_symbol"
  | "oversized_frame";

export const GARBAGE_KINDS: readonly GarbageKind[] = [
  "malformed_json",
  "non_array_json",
  "unknown_ev",
  "missing_fields",
  "wrong_types",
  "negative_values",
  "nan_values",
  "unknown_symbol",
  "oversized_frame",
];

const TRADE = '{"ev":"T","sym":"AAPL","i":"5096","x":10,"p":161.87,"s":300,"c":[14,41],"t":1651684192462,"q":4009402,"z":3}';

/** Above the official Go client's 1,000,000-byte read limit and above 1 MiB. */
export const OVERSIZED_FRAME_BYTES = 1_100_000;

function oversized(): string {
  const parts: string[] = [];
  let bytes = 2;
  for (let q = 0; bytes <= OVERSIZED_FRAME_BYTES; q++) {
    const e = `{"ev":"T","sym":"AAPL","i":"${q}","x":10,"p":161.87,"s":100,"t":1651684192462,"q":${5_000_000 + q},"z":3}`;
    parts.push(e);
    bytes += e.length + 1;
  }
  return `[${parts.join(",")}]`;
}

let oversizedCache: string | undefined;

/** The text of one garbage frame of `kind`. */
export function garbageFrame(kind: GarbageKind): string {
  switch (kind) {
    case "malformed_json":
      // Cut off mid-object.
      return `[${TRADE.slice(0, 40)}`;
    case "non_array_json":
      return TRADE;
    case "unknown_ev":
      return '[{"ev":"XYZ","sym":"AAPL","t":1651684192462}]';
    case "missing_fields":
      // A trade with no price, size, timestamp or sequence number.
      return '[{"ev":"T","sym":"AAPL","i":"5096","x":10,"z":3}]';
    case "wrong_types":
      // Numbers as strings, the trade id as a number, conditions as a string, q null.
      return '[{"ev":"T","sym":"AAPL","i":5096,"x":"10","p":"161.87","s":"300","c":"14,41","t":"1651684192462","q":null,"z":3}]';
    case "negative_values":
      // Valid JSON, impossible values.
      return '[{"ev":"T","sym":"AAPL","i":"5096","x":10,"p":-1,"s":-300,"t":1651684192462,"q":4009402,"z":3},{"ev":"Q","sym":"AAPL","bx":4,"bp":-161.86,"bs":-1,"ax":7,"ap":161.88,"as":2,"c":0,"t":1651684192462,"q":4009403,"z":3}]';
    case "nan_values":
      // NaN and Infinity are not JSON: the frame does not parse.
      return '[{"ev":"T","sym":"AAPL","i":"5096","x":10,"p":NaN,"s":300,"t":1651684192462,"q":4009402,"z":3},{"ev":"Q","sym":"AAPL","bx":4,"bp":Infinity,"bs":1,"ax":7,"ap":-Infinity,"as":2,"c":0,"t":1651684192462,"q":4009403,"z":3}]';
    case "unknown_symbol":
      return '[{"ev":"T","sym":"ZZZZNOTLISTED","i":"1","x":10,"p":10.5,"s":100,"t":1651684192462,"q":4009402,"z":3}]';
    case "oversized_frame":
      return (oversizedCache ??= oversized());
  }
}
