/**
 * `bun run build`: compiles tradingd into one executable, `dist/tradingd`.
 *
 * Every worker file must be an entry point of the build: a worker that is not listed builds
 * without a warning and fails at run time with `ModuleNotFound "/$bunfs/root/…"` (brief §11).
 * The list below is checked against `daemon/workers/` so a new worker cannot be forgotten.
 */
import { existsSync, readdirSync, rmSync } from "node:fs";
import { basename, dirname, join } from "node:path";

const root = join(import.meta.dir, "..");
const WORKERS = ["feed", "strategy", "execution", "single"];
const onDisk = readdirSync(join(root, "daemon/workers"))
  .filter((f) => f.endsWith(".ts") && f !== "protocol.ts" && !f.endsWith(".test.ts"))
  .map((f) => f.slice(0, -3))
  .sort();
if (onDisk.join() !== [...WORKERS].sort().join()) {
  console.error(`build: worker entry points ${WORKERS.join(", ")} differ from daemon/workers/: ${onDisk.join(", ")}`);
  process.exit(1);
}
// Workers outside daemon/workers/ (`new Worker(new URL("./x.ts", import.meta.url))` elsewhere).
const OTHER_WORKERS = ["daemon/bench/fakes-worker.ts"];
for (const w of OTHER_WORKERS) {
  if (!existsSync(join(root, w))) {
    console.error(`build: worker entry point ${w} does not exist`);
    process.exit(1);
  }
}

const outfile = process.argv[2] ?? join(root, "dist/tradingd");
const args = [
  "build",
  "--compile",
  "--minify-syntax",
  "--sourcemap",
  join(root, "daemon/main.ts"),
  ...WORKERS.map((w) => join(root, `daemon/workers/${w}.ts`)),
  ...OTHER_WORKERS.map((w) => join(root, w)),
  "--outfile",
  outfile,
];
const proc = Bun.spawnSync([process.execPath, ...args], { stdout: "inherit", stderr: "inherit", cwd: root });
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
// The source maps are embedded in the executable; the .map files written beside it are not needed.
for (const f of readdirSync(dirname(outfile))) if (f.endsWith(".js.map") || f === `${basename(outfile)}.map`) rmSync(join(dirname(outfile), f));
console.log(`built ${outfile}`);
