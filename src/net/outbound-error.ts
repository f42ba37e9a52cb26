/**
 * Why an outbound request was refused or failed. The guarded client throws only this; its callers map it
 * to their own failures (tools to a `ToolError` of the same kind, escalation channels to a `DeliveryError`).
 */
export type OutboundErrorKind =
  | 'invalid_input' // a URL or request the client cannot send
  | 'client_error' // the remote side walked us too far (too many redirects)
  | 'forbidden' // refused by the guard: a non-public address that is not allow-listed, or a scheme other than http(s)
  | 'timeout' // the caller's signal aborted the request
  | 'network'; // the name did not resolve, the connection failed or was reset

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'OutboundError';
  }
}
