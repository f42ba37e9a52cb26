import pino, { type DestinationStream, type Logger } from 'pino';

/** `json`: one JSON object a line, for log shippers (production). `pretty`: pino-pretty's lines, for people. */
export type LogFormat = 'json' | 'pretty';

/**
 * Paths that may carry secrets. pino replaces them before a line is written, so neither a request log nor
 * an error with a config object attached can leak an API key or a database password.
 */
export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  '*.apiKey',
  '*.api_key',
  '*.password',
  '*.secret',
  '*.token',
  '*.plaintext',
  '*.credentials',
  '*.credentialsEncrypted',
  '*.OPENAI_API_KEY',
  '*.TEMPORAL_API_KEY',
  '*.DATABASE_URL',
];

/**
 * Fields of database errors that hold user data: the bound parameters (postgres.js `parameters`, Drizzle
 * `params`), and Postgres' `detail`, which quotes row values ("Key (name)=(…) already exists"). The SQL text
 * stays: it is ours and says which query failed.
 */
const userDataFields = new Set(['params', 'parameters', 'args', 'detail']);

/** Postgres' SQLSTATE and the names of what it refused: no user data, and what an operator needs. */
const liftedFromCause = ['code', 'severity', 'schema_name', 'table_name', 'column_name', 'constraint_name'];

/** Drizzle puts the parameters into the message as its last line: `Failed query: <sql>\nparams: <values>`. */
function withoutParams(text: string | undefined, params: unknown): string | undefined {
  if (text === undefined || params === undefined) return text;
  return text.replace(`\nparams: ${String(params)}`, '\nparams: [redacted]');
}

/** A copy of the error and its causes without user data, for the standard serializer to format. */
function scrub(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error) || depth > 8) return err;
  const record = err as Error & Record<string, unknown>;
  const copy = Object.create(Object.getPrototypeOf(err) as object) as Record<string, unknown>;
  for (const key of Object.keys(record)) if (!userDataFields.has(key)) copy[key] = record[key];
  // Own but not enumerable on an Error: set them as plain fields of the copy.
  copy.message = withoutParams(err.message, record.params);
  copy.stack = withoutParams(err.stack, record.params);
  if (err.cause !== undefined) {
    copy.cause = scrub(err.cause, depth + 1);
    // The standard serializer keeps only a cause's message: lift the driver's error code and names onto the wrapper.
    for (const key of liftedFromCause) if (copy[key] === undefined) copy[key] = (err.cause as Record<string, unknown>)[key];
  }
  return copy;
}

/** pino's error serializer, over a copy of the error without bound parameters or row values. */
export function serializeError(err: unknown): unknown {
  return pino.stdSerializers.err(scrub(err) as Error);
}

/**
 * `LOG_FORMAT` when set; otherwise pretty only for a person at a terminal outside production. `npm start`
 * pipes each service's output through its prefixer, so it sets LOG_FORMAT=pretty when its own output is a
 * terminal.
 */
export function resolveLogFormat(setting: LogFormat | undefined, out: { isTTY?: boolean } = process.stdout, env = process.env): LogFormat {
  if (setting) return setting;
  return out.isTTY === true && env.NODE_ENV !== 'production' ? 'pretty' : 'json';
}

/**
 * pino-pretty as a synchronous stream in this thread (no transport worker: lines are not lost when the
 * process exits right after logging). One process is one service (npm start prefixes its name), so `service`
 * is left out. pino-pretty is a devDependency: an image without it logs JSON and says why.
 */
function prettyStream(destination: DestinationStream | undefined): DestinationStream | undefined {
  let build: typeof import('pino-pretty').build;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- optional, loaded only when asked for
    build = (require('pino-pretty') as typeof import('pino-pretty')).build;
  } catch {
    return undefined;
  }
  return build({ destination: destination ?? 1, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' });
}

export function createLogger(level: string, base: Record<string, unknown> = {}, destination?: DestinationStream, format: LogFormat = 'json'): Logger {
  const options = {
    level,
    base,
    redact: { paths: redactPaths, censor: '[redacted]' },
    // `error` is the key the Temporal SDK's loggers use for the same errors.
    serializers: { err: serializeError, error: serializeError },
  };
  const pretty = format === 'pretty' ? prettyStream(destination) : undefined;
  const logger = pretty ? pino(options, pretty) : destination ? pino(options, destination) : pino(options);
  if (format === 'pretty' && !pretty) logger.warn('LOG_FORMAT=pretty needs the pino-pretty package (a devDependency); logging JSON');
  return logger;
}

export type { Logger };
