/**
 * Blanks a tool's own secrets out of what it returns, so an API that echoes them (in a 200 body as much as
 * in an error) cannot put them in the log row, the turn, the messages, workflow history or the prompt.
 */
import type { ToolCredentials } from './types.js';

export const REDACTED = '[redacted]';

/**
 * Shorter values are left alone: blanking every "ab" would garble results, and a secret that short is no
 * secret. The same floor the HTTP runners always used for error bodies.
 */
const minSecretChars = 4;

/** The values of `credentials` that authenticate, and what the runners derive from them to send. */
export function credentialSecrets(credentials: ToolCredentials | undefined): string[] {
  if (!credentials) return [];
  switch (credentials.type) {
    case 'api_key':
      return [credentials.value];
    case 'bearer':
      return [credentials.token];
    case 'basic':
      return [credentials.password, base64(`${credentials.username}:${credentials.password}`)];
    case 'oauth2':
      return [credentials.clientSecret, base64(`${formEncode(credentials.clientId)}:${formEncode(credentials.clientSecret)}`)];
    case 'connection_string':
      return [credentials.url, ...connectionPassword(credentials.url)];
  }
}

/**
 * Every form a secret is likely to come back in: as sent, URL- and form-encoded (query strings, echoed
 * URLs), escaped inside a JSON string (a JSON document returned as text), and base64 (an echoed header).
 * Longest first, so a secret that contains another is blanked whole.
 */
export function secretForms(secrets: Iterable<string>): string[] {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret.length < minSecretChars) continue;
    for (const form of [secret, encodeURIComponent(secret), formEncode(secret), JSON.stringify(secret).slice(1, -1), base64(secret)]) forms.add(form);
  }
  return [...forms].sort((a, b) => b.length - a.length);
}

/** Replaces every form of every secret inside `value`: in strings and in object keys, at any depth. */
export function redactSecrets<T>(value: T, secrets: Iterable<string>): T {
  const forms = secretForms(secrets);
  return forms.length === 0 ? value : (redactValue(value, forms) as T);
}

/** `redactSecrets` for one string (error messages). */
export function redactText(text: string, secrets: Iterable<string>): string {
  return redactString(text, secretForms(secrets));
}

function redactValue(value: unknown, forms: string[]): unknown {
  if (typeof value === 'string') return redactString(value, forms);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, forms));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redactString(k, forms), redactValue(v, forms)]));
  }
  return value;
}

function redactString(text: string, forms: string[]): string {
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(REDACTED);
  return out;
}

function connectionPassword(url: string): string[] {
  try {
    const password = new URL(url).password;
    return password ? [password, decodeURIComponent(password)] : [];
  } catch {
    return [];
  }
}

const base64 = (text: string) => Buffer.from(text).toString('base64');

/** application/x-www-form-urlencoded, as URLSearchParams writes it (spaces as `+`). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}
