/**
 * The Account object (`GET /v2/account`), fields in the order of the 2.0.1 spec's example, from
 * the brokerage's cash and positions. A simplified margin model, enough for an order gateway:
 *
 * | field                         | value                                                          |
 * |-------------------------------|----------------------------------------------------------------|
 * | equity, portfolio_value       | cash + long market value + short market value (short is < 0)   |
 * | buying_power (and regt, effective) | max(0, multiplier × equity − long mv − abs(short mv) − reserved) |
 * | reserved                      | what open orders hold (remaining qty × limit/stop/ask, or notional) |
 * | non_marginable_buying_power   | max(0, cash − reserved)                                        |
 * | options_buying_power          | buying_power / 2 (as in the example)                           |
 * | initial / maintenance margin  | 50 % / 30 % of the gross position value                        |
 * | last_equity                   | equity at start                                                |
 *
 * With the default multiplier 1, buying power is cash less reservations. `bod_dtbp` is the
 * number 0 as in the spec's example (the only non-string money field there).
 */
import { abs, divide, formatDecimal, fromInteger, max, multiply, parseDecimal, type Decimal } from "./decimal.ts";

export interface AccountFigures {
  id: string;
  accountNumber: string;
  createdAt: string;
  /** New York date of the balances, `YYYY-MM-DD`. */
  balanceAsOf: string;
  cash: Decimal;
  multiplier: number;
  longMarketValue: Decimal;
  /** Negative or zero. */
  shortMarketValue: Decimal;
  lastEquity: Decimal;
  reserved: Decimal;
}

export function equityOf(f: Pick<AccountFigures, "cash" | "longMarketValue" | "shortMarketValue">): Decimal {
  return f.cash + f.longMarketValue + f.shortMarketValue;
}

export function buyingPowerOf(f: AccountFigures): Decimal {
  const gross = f.longMarketValue + abs(f.shortMarketValue);
  return max(0n, equityOf(f) * BigInt(f.multiplier) - gross - f.reserved);
}

const HALF = parseDecimal("0.5")!;
const MAINTENANCE = parseDecimal("0.3")!;

export function accountJson(f: AccountFigures): Record<string, unknown> {
  const equity = equityOf(f);
  const buyingPower = formatDecimal(buyingPowerOf(f));
  const gross = f.longMarketValue + abs(f.shortMarketValue);
  return {
    id: f.id,
    admin_configurations: {},
    user_configurations: null,
    account_number: f.accountNumber,
    status: "ACTIVE",
    crypto_status: "ACTIVE",
    currency: "USD",
    buying_power: buyingPower,
    regt_buying_power: buyingPower,
    daytrading_buying_power: "0",
    options_buying_power: formatDecimal(divide(buyingPowerOf(f), fromInteger(2))),
    effective_buying_power: buyingPower,
    non_marginable_buying_power: formatDecimal(max(0n, f.cash - f.reserved)),
    bod_dtbp: 0,
    cash: formatDecimal(f.cash),
    accrued_fees: "0",
    pending_transfer_in: "0",
    portfolio_value: formatDecimal(equity),
    pattern_day_trader: false,
    trading_blocked: false,
    transfers_blocked: false,
    account_blocked: false,
    created_at: f.createdAt,
    trade_suspended_by_user: false,
    multiplier: String(f.multiplier),
    shorting_enabled: true,
    equity: formatDecimal(equity),
    last_equity: formatDecimal(f.lastEquity),
    long_market_value: formatDecimal(f.longMarketValue),
    short_market_value: formatDecimal(f.shortMarketValue),
    position_market_value: formatDecimal(gross),
    initial_margin: formatDecimal(multiply(gross, HALF)),
    maintenance_margin: formatDecimal(multiply(gross, MAINTENANCE)),
    last_maintenance_margin: "0",
    sma: formatDecimal(equity),
    daytrade_count: 0,
    balance_asof: f.balanceAsOf,
    crypto_tier: 1,
    options_trading_level: 2,
    intraday_adjustments: "0",
    pending_reg_taf_fees: "0",
  };
}
