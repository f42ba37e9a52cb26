/**
 * The failure helpers of the gateway and the activities: the same cause-chain walk the workflows use
 * (defined once, free of I/O, in the workflow contracts), plus the error codes found along it.
 */
import { causeChain } from '../workflows/contracts/failures.js';

export { causeChain, failureMessage, rootCauseMessage, unwrapFailure } from '../workflows/contracts/failures.js';

/** The string `code`s along an error's cause chain, outermost first (Drizzle wraps the driver's error in `cause`). */
export function errorCodes(err: unknown): string[] {
  return causeChain(err)
    .map((e) => (e as { code?: unknown }).code)
    .filter((code): code is string => typeof code === 'string');
}

/** The SQLSTATE of a failed query: the first five-character Postgres code along the cause chain. */
export function postgresErrorCode(err: unknown): string | undefined {
  return errorCodes(err).find((code) => /^[0-9A-Z]{5}$/.test(code));
}
