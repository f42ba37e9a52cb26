import type { LogLevel, LogMetadata } from '@temporalio/worker';

/**
 * What the Temporal SDK logs that an operator should not have to read past:
 * - `taskToken`: the SDK puts the activity's task token (~400 base64 characters) on every activity log line
 *   ("Activity failed", "Activity completed", the activity context logger). It identifies nothing an operator
 *   needs (workflowId, activityId and attempt stay) and is a credential of sorts: with it, anyone who can reach
 *   the server can complete or fail that activity.
 * - the webpack report: the bundler logs webpack's whole stats text (every module of the workflow bundle) at
 *   info when the worker starts. It stays available at debug; the SDK's own "Workflow bundle created" line
 *   with the size is the one-line summary at info.
 */
export interface TemporalLogLine {
  level: LogLevel;
  message: string;
  meta?: LogMetadata;
}

/** webpack's stats text ends with a line like `webpack 5.105.0 compiled successfully in 1234 ms`. */
const WEBPACK_REPORT = /^webpack \d+\.\d+\.\d+ compiled\b/m;

export function tidyTemporalLog(line: TemporalLogLine): TemporalLogLine {
  let { level, meta } = line;
  if (meta && 'taskToken' in meta) {
    const { taskToken: _dropped, ...rest } = meta;
    meta = rest;
  }
  if (level === 'INFO' && WEBPACK_REPORT.test(line.message)) level = 'DEBUG';
  return { level, message: line.message, meta };
}
