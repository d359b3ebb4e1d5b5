// SIP transactions (RFC 3261 §17, RFC 6026).
export { TransactionLayer, type TransactionLayerOptions } from "./transaction-layer.ts";
export {
  type ClientTransaction,
  DEFAULT_TIMERS,
  isSynthetic,
  type ResponseHandler,
  type ServerTransaction,
  type TimerValues,
} from "./types.ts";
