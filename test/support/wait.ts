/**
 * Waiting for a condition instead of sleeping: polls `cond` until it holds, failing with
 * `what` after `timeoutMs` (a bound for a broken build, not a timing assertion).
 */
export async function waitUntil(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await Bun.sleep(2);
  }
}
