export { OrderJournal, type OpenOptions } from "./journal.ts";
export { JournalError, type JournalErrorCode } from "./errors.ts";
export { CLIENT_ORDER_ID_MAX, isValidClientOrderId } from "./client-order-id.ts";
export { APPLICATION_ID, LATEST_SCHEMA_VERSION } from "./schema.ts";
export { STATE_RANK } from "./types.ts";
export type { FillDecimals, JournalEvent, JournalOrder, OrderIntent, OrderSide, OrderState, OrderTypeName, TerminalState, TimeInForceName } from "./types.ts";
