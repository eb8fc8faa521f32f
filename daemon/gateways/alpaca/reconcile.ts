/**
 * Startup reconciliation: the journal against the broker, before the first order.
 *
 * 1. Orders in doubt in the journal (journaled but maybe not sent, sent without an answer,
 *    unknown outcome): each is looked up by its client_order_id; found → accepted (with its
 *    status), not found → it never reached the broker.
 * 2. Open orders: the broker's open orders that the journal does not know (placed by something
 *    else, or before the journal existed), and the journal's open orders the broker no longer
 *    has open (their final status is looked up).
 * 3. Positions: the broker's, which the strategy then starts from.
 * 4. The account's loss of the day so far (`equity − last_equity`, last_equity being the equity
 *    at the previous trading day's close; a gain counts as 0): the daily loss limit starts from
 *    it, so a restart in the middle of a day does not forget the morning's loss. It is the whole
 *    account's (other symbols, trades by hand, a withdrawal), so it can only tighten the limit:
 *    a gain or a deposit never loosens it.
 *
 * What differed is reported (logged, `/status`); trading starts only once this is done.
 */
import type { AlpacaRest } from "./rest.ts";
import type { OrderJournal } from "../../journal/index.ts";

export interface ReconcileReport {
  inDoubt: { clientOrderId: string; outcome: string }[];
  brokerOnly: { clientOrderId: string; symbol: string; status: string }[];
  closedSince: { clientOrderId: string; status: string }[];
  positions: { symbol: string; qty: number; avgPrice: number }[];
  /** The positions were read (the broker lists only symbols held: any other symbol is flat). */
  positionsRead: boolean;
  /** min(0, equity − last_equity) (USD), or null when the account could not be read (an error says why). */
  dayPnl: number | null;
  errors: string[];
}

export async function reconcile(rest: AlpacaRest, journal: OrderJournal): Promise<ReconcileReport> {
  const report: ReconcileReport = { inDoubt: [], brokerOnly: [], closedSince: [], positions: [], positionsRead: false, dayPnl: null, errors: [] };
  for (const o of journal.inDoubt()) {
    const r = await rest.orderByClientId(o.clientOrderId);
    if (r.kind === "found") {
      journal.recordAccepted(o.clientOrderId, r.order.id, r.order.status, Date.now());
      report.inDoubt.push({ clientOrderId: o.clientOrderId, outcome: `at the broker: ${r.order.status}` });
    } else if (r.kind === "not_found") {
      journal.recordTerminal(o.clientOrderId, "not_found", "startup look-up: the broker has no such order", Date.now());
      report.inDoubt.push({ clientOrderId: o.clientOrderId, outcome: "never reached the broker" });
    } else {
      report.errors.push(`look-up of ${o.clientOrderId}: ${r.why}`);
    }
  }
  try {
    const open = await rest.openOrders();
    const openIds = new Set(open.map((o) => o.client_order_id));
    for (const o of open) if (!journal.get(o.client_order_id)) report.brokerOnly.push({ clientOrderId: o.client_order_id, symbol: o.symbol, status: o.status });
    for (const j of journal.open()) {
      if (openIds.has(j.clientOrderId)) continue;
      const r = await rest.orderByClientId(j.clientOrderId);
      if (r.kind === "found") {
        const s = r.order.status;
        if (s === "filled" || s === "canceled" || s === "expired" || s === "rejected" || s === "replaced") journal.recordTerminal(j.clientOrderId, s, "startup: closed at the broker meanwhile", Date.now());
        report.closedSince.push({ clientOrderId: j.clientOrderId, status: s });
      } else if (r.kind === "error") report.errors.push(`look-up of ${j.clientOrderId}: ${r.why}`);
    }
  } catch (e) {
    report.errors.push(`open orders: ${(e as Error).message}`);
  }
  try {
    for (const p of await rest.positions()) report.positions.push({ symbol: p.symbol, qty: Number(p.qty), avgPrice: Number(p.avg_entry_price) });
    report.positionsRead = true;
  } catch (e) {
    report.errors.push(`positions: ${(e as Error).message}`);
  }
  try {
    const a = await rest.account();
    const pnl = Number(a.equity) - Number(a.last_equity);
    if (typeof a.equity !== "string" || typeof a.last_equity !== "string" || !Number.isFinite(pnl)) throw new Error(`no equity / last_equity in the account (equity ${JSON.stringify(a.equity)}, last_equity ${JSON.stringify(a.last_equity)})`);
    report.dayPnl = Math.min(0, pnl);
  } catch (e) {
    report.errors.push(`account (the day's P&L so far): ${(e as Error).message}`);
  }
  return report;
}
