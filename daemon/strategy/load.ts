/**
 * Finds the strategy the config names: a built-in, or a user module loaded from disk.
 *
 * A user module is imported at run time by absolute path (Bun transpiles `.ts` itself, in the
 * compiled binary too); its default export must be a `StrategyFactory`.
 */
import { isAbsolute, resolve } from "node:path";
import type { Strategy, StrategyFactory } from "./api.ts";
import { createThreshold } from "./builtins/threshold.ts";
import { createEmaCross } from "./builtins/ema-cross.ts";

export const BUILTIN_STRATEGIES: Readonly<Record<string, StrategyFactory>> = {
  threshold: createThreshold,
  "ema-cross": createEmaCross,
};

export class StrategyLoadError extends Error {
  override name = "StrategyLoadError";
}

/**
 * @param name `threshold`, `ema-cross` or `module`
 * @param modulePath for `module`: the file, relative to `baseDir`
 */
export async function loadStrategy(
  name: string,
  modulePath: string,
  params: Readonly<Record<string, unknown>>,
  baseDir: string,
): Promise<Strategy> {
  let factory: StrategyFactory | undefined;
  if (name === "module") {
    const file = isAbsolute(modulePath) ? modulePath : resolve(baseDir, modulePath);
    let mod: { default?: unknown };
    try {
      mod = await import(file);
    } catch (err) {
      throw new StrategyLoadError(`strategy.module: cannot load ${file}: ${(err as Error).message}`);
    }
    if (typeof mod.default !== "function") {
      throw new StrategyLoadError(`strategy.module: ${file} must default-export a factory function (params) => Strategy`);
    }
    factory = mod.default as StrategyFactory;
  } else {
    factory = BUILTIN_STRATEGIES[name];
    if (!factory) throw new StrategyLoadError(`strategy.name: unknown strategy "${name}"`);
  }
  try {
    const strategy = factory(params);
    if (strategy === null || typeof strategy !== "object") throw new Error("the factory returned no strategy object");
    return strategy;
  } catch (err) {
    const e = err as Error & { issues?: { path: PropertyKey[]; message: string; code?: string; keys?: string[] }[] };
    if (Array.isArray(e.issues)) {
      // The same line format as the config's own errors: `path: message`.
      const lines = e.issues.flatMap((i) => {
        const path = ["strategy", "params", ...i.path.map(String)].join(".");
        if (i.code === "unrecognized_keys" && i.keys) return i.keys.map((k) => `${path}: unknown key "${k}"`);
        return [`${path}: ${i.message}`];
      });
      throw new StrategyLoadError(lines.join("\n"));
    }
    throw new StrategyLoadError(`strategy ${name}: ${e.message}`);
  }
}
