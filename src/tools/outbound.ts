import { guardedFetch as netGuardedFetch, type GuardedFetchInit, type GuardedResponse } from '../net/guarded-fetch.js';
import type { NetGuard } from '../net/net-guard.js';
import { OutboundError } from '../net/outbound-error.js';
import { createPinnedFetch as netPinnedFetch } from '../net/pinned-fetch.js';
import { ToolError } from './types.js';

/*
 * The guarded outbound client as tools use it: the same requests, with the client's `OutboundError` turned
 * into the `ToolError` of the same kind and message, so runners and the tool-call activity deal in one
 * error type (and its retryable kinds) whatever part of a call failed.
 */

/** The `ToolError` of an outbound failure; anything else is returned as it is. */
export function toToolFailure(err: unknown): unknown {
  return err instanceof OutboundError ? new ToolError(err.kind, err.message) : err;
}

/** {@link netGuardedFetch} for tools. @throws ToolError `forbidden`, `timeout`, `network`, `client_error`, `invalid_input`. */
export async function guardedFetch(guard: NetGuard, url: string | URL, init: GuardedFetchInit): Promise<GuardedResponse> {
  try {
    return await netGuardedFetch(guard, url, init);
  } catch (err) {
    throw toToolFailure(err);
  }
}

/**
 * The guard with its refusals as `ToolError`s, for runners that check addresses themselves (the database
 * runner's `checkTarget`).
 * Not for the net/ client (`guardedFetch`, the pinned fetch take the plain guard): it reads any error
 * other than its own as a network failure.
 */
export function toolGuard(guard: NetGuard): NetGuard {
  return {
    async resolve(url, signal) {
      try {
        return await guard.resolve(url, signal);
      } catch (err) {
        throw toToolFailure(err);
      }
    },
    async check(host, port, signal) {
      try {
        return await guard.check(host, port, signal);
      } catch (err) {
        throw toToolFailure(err);
      }
    },
  };
}

/** {@link netPinnedFetch} whose guard refusals reach the MCP client as `ToolError`s. */
export function createPinnedFetch(guard: NetGuard): typeof fetch {
  // The pinned fetch hands the guard's errors on untouched, so the MCP runner sees the ToolError.
  return netPinnedFetch(toolGuard(guard));
}
