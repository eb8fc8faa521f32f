#!/usr/bin/env bun
/**
 * tradingd's entry point (and the compiled binary's). See `daemon/cli/main.ts`.
 */
import { main } from "./cli/main.ts";

const code = await main(process.argv.slice(2));
process.exit(code);
