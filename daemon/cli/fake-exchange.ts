/**
 * `tradingd fake-exchange [--polygon-port N] [--alpaca-port N] [--host H] [--rate N] [--symbols A,B]`:
 * the Polygon and Alpaca fakes (`daemon/fakes/`) served on loopback for a user's own integration
 * tests, until SIGINT or SIGTERM (exit 0).
 */
import { parseArgs } from "node:util";
import { EXIT_OK, UsageError } from "./exit-codes.ts";
import { FakeExchange } from "../bench/fakes.ts";

export function portOption(text: string | undefined, name: string, command: string): number {
  if (text === undefined) return 0;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n > 65535) throw new UsageError(`${name}: expected a port 0..65535, was "${text}"`, command);
  return n;
}

export function rateOption(text: string | undefined, fallback: number, command: string): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(n > 0) || n > 10_000_000) throw new UsageError(`--rate: expected events per second, 1..10000000, was "${text}"`, command);
  return n;
}

export function symbolsOption(text: string | undefined, fallback: readonly string[], command: string): string[] {
  if (text === undefined) return [...fallback];
  const list = text.split(",").map((s) => s.trim().toUpperCase());
  if (list.length === 0 || list.some((s) => !/^[A-Z][A-Z0-9.]{0,9}$/.test(s))) throw new UsageError(`--symbols: expected tickers separated by commas (AAPL,MSFT), was "${text}"`, command);
  return [...new Set(list)];
}

export async function fakeExchange(args: string[], out: (s: string) => void, usage: string): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      "polygon-port": { type: "string" },
      "alpaca-port": { type: "string" },
      host: { type: "string" },
      rate: { type: "string" },
      symbols: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.help) return out(usage), EXIT_OK;
  const cmd = "fake-exchange";
  if (positionals.length > 0) throw new UsageError(`fake-exchange takes no arguments, got "${positionals[0]}"`, cmd);
  const exchange = await FakeExchange.start({
    host: values.host ?? "127.0.0.1",
    polygonPort: portOption(values["polygon-port"], "--polygon-port", cmd),
    alpacaPort: portOption(values["alpaca-port"], "--alpaca-port", cmd),
    rate: rateOption(values.rate, 1_000, cmd),
    symbols: symbolsOption(values.symbols, ["AAPL", "MSFT"], cmd),
  });
  for (const line of exchange.describe()) out(line);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      resolve();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  await exchange.close();
  return EXIT_OK;
}
