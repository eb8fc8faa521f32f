// A user strategy module that throws on its Nth quote (params.after).
import type { Strategy } from "../../daemon/strategy/api.ts";

export default function create(params: Readonly<Record<string, unknown>>): Strategy {
  const after = Number(params.after ?? 1);
  let quotes = 0;
  return {
    onQuote() {
      if (++quotes === after) throw new Error(`fixture strategy fails on quote ${after}`);
    },
  };
}
