import pino, { type Logger } from 'pino';

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

export function createLogger(level: string, base: Record<string, unknown> = {}): Logger {
  return pino({ level, base, redact: { paths: redactPaths, censor: '[redacted]' } });
}

export type { Logger };
