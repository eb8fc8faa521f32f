/**
 * Positions: signed quantity and average entry price per symbol, moved by executions; the wire
 * object computed on demand from the current and last-day prices.
 *
 * Average entry price: adding to a position weighs the new shares in; reducing keeps it; going
 * through zero starts over at the execution price.
 */
import { abs, divide, formatDecimal, multiply, type Decimal } from "./decimal.ts";
import type { AlpacaPosition, OrderSide } from "./protocol.ts";

export interface PositionState {
  symbol: string;
  assetId: string;
  exchange: string;
  /** Negative for a short. */
  qty: Decimal;
  avgEntryPrice: Decimal;
}

/** The position after one execution, or null when it is flat. */
export function applyExecution(
  before: PositionState | undefined,
  asset: { symbol: string; assetId: string; exchange: string },
  side: OrderSide,
  qty: Decimal,
  price: Decimal,
): PositionState | null {
  const signed = side === "buy" ? qty : -qty;
  const oldQty = before?.qty ?? 0n;
  const newQty = oldQty + signed;
  if (newQty === 0n) return null;
  let avg: Decimal;
  if (oldQty === 0n || newQty < 0n !== oldQty < 0n) {
    avg = price;
  } else if (signed < 0n === oldQty < 0n) {
    avg = divide(multiply(abs(oldQty), before!.avgEntryPrice) + multiply(qty, price), abs(newQty));
  } else {
    avg = before!.avgEntryPrice;
  }
  return { symbol: asset.symbol, assetId: asset.assetId, exchange: asset.exchange, qty: newQty, avgEntryPrice: avg };
}

export interface PositionPrices {
  currentPrice: Decimal;
  lastdayPrice: Decimal;
  /** Shares not held by open orders on the closing side. */
  qtyAvailable: Decimal;
  marginable: boolean;
}

const ratio = (numerator: Decimal, denominator: Decimal): Decimal => (denominator === 0n ? 0n : divide(numerator, denominator));

/**
 * The Position object. Positions are taken as opened today, so the intraday P/L is the P/L (the
 * spec's example has them equal too).
 */
export function positionJson(p: PositionState, prices: PositionPrices): AlpacaPosition {
  const marketValue = multiply(p.qty, prices.currentPrice);
  const costBasis = multiply(p.qty, p.avgEntryPrice);
  const unrealized = marketValue - costBasis;
  const unrealizedPc = formatDecimal(ratio(unrealized, abs(costBasis)));
  return {
    asset_id: p.assetId,
    symbol: p.symbol,
    exchange: p.exchange,
    asset_class: "us_equity",
    asset_marginable: prices.marginable,
    qty: formatDecimal(p.qty),
    qty_available: formatDecimal(prices.qtyAvailable),
    avg_entry_price: formatDecimal(p.avgEntryPrice),
    side: p.qty < 0n ? "short" : "long",
    market_value: formatDecimal(marketValue),
    cost_basis: formatDecimal(costBasis),
    unrealized_pl: formatDecimal(unrealized),
    unrealized_plpc: unrealizedPc,
    unrealized_intraday_pl: formatDecimal(unrealized),
    unrealized_intraday_plpc: unrealizedPc,
    current_price: formatDecimal(prices.currentPrice),
    lastday_price: formatDecimal(prices.lastdayPrice),
    change_today: formatDecimal(ratio(prices.currentPrice - prices.lastdayPrice, prices.lastdayPrice)),
  };
}
