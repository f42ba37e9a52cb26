import { errorCodes } from '../failures.js';

/** What an error from the database (or the way to it) means for the client. */
export interface DatabaseErrorAnswer {
  status: number;
  code: string;
  message: string;
}

/** Socket-level failures: postgres.js passes the Node error through, or makes its own with these codes. */
const UNREACHABLE = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE',
  'CONNECTION_ENDED', 'CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);

/** SQLSTATEs of a server that is going away or cannot take us: admin/crash shutdown, starting up, full. */
const SERVER_UNAVAILABLE = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * Maps database failures to answers: an unreachable or shutting-down server is a 503 the client may retry;
 * a value Postgres refuses (SQLSTATE class 22, data exceptions; or a size limit) is the request's fault;
 * a unique or foreign-key violation no route anticipated is a conflict. Anything else is not ours to judge.
 */
export function answerForDatabaseError(err: unknown): DatabaseErrorAnswer | undefined {
  for (const code of errorCodes(err)) {
    if (UNREACHABLE.has(code) || SERVER_UNAVAILABLE.has(code) || /^08[0-9A-Z]{3}$/.test(code)) {
      return { status: 503, code: 'unavailable', message: 'the database is unavailable; retry shortly' };
    }
    if (/^22[0-9A-Z]{3}$/.test(code) || code === '54000') {
      return { status: 400, code: 'invalid_input', message: `the request holds a value the database cannot store (SQLSTATE ${code})` };
    }
    if (code === '23505' || code === '23503') {
      return { status: 409, code: 'conflict', message: 'the request conflicts with the current state of the data; reload and retry' };
    }
  }
  return undefined;
}
