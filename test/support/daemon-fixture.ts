/**
 * Starts tradingd (from source, or the compiled binary) as a subprocess on a free port and
 * finds its HTTP address in its log. `await using` stops it (SIGKILL if still running).
 */
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "../..");
export const BUN = process.execPath;

export interface RunningDaemon extends AsyncDisposable {
  proc: Bun.Subprocess<"ignore", "pipe", "pipe">;
  url: string;
  log: () => string;
}

export async function startDaemon(cmd: string[], cwd = ROOT, env: Record<string, string> = {}): Promise<RunningDaemon> {
  const proc = Bun.spawn(cmd, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  let log = "";
  const decoder = new TextDecoder();
  const found = Promise.withResolvers<string>();
  (async () => {
    for await (const chunk of proc.stderr) {
      log += decoder.decode(chunk);
      const m = /http listening on (http:\/\/\S+)/.exec(log);
      if (m) found.resolve(m[1]!);
    }
    found.reject(new Error(`daemon exited before listening:\n${log}`));
  })();
  const url = await found.promise;
  return {
    proc,
    url,
    log: () => log,
    async [Symbol.asyncDispose]() {
      if (proc.exitCode === null) proc.kill("SIGKILL");
      await proc.exited;
    },
  };
}

/** Builds the compiled executable at `bin` (as `bun run build` does); throws with the build's stderr. */
export async function buildBinary(bin: string): Promise<void> {
  const proc = Bun.spawn([BUN, join(ROOT, "scripts/build.ts"), bin], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  const [code, err] = await Promise.all([proc.exited, new Response(proc.stderr).text()]);
  if (code !== 0) throw new Error(`build failed (${code}):\n${err}`);
}
