import { extendZodWithOpenApi } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';

/**
 * The one `z` of the code base: zod extended with `.openapi()`, so contracts written anywhere (domain
 * folders included) carry their OpenAPI metadata without depending on the gateway.
 */
extendZodWithOpenApi(z);

export { z };

/** Any JSON object (metadata, free-form settings). */
export const jsonObject = z.record(z.string(), z.unknown());

/** The instants Postgres `timestamptz` and an ISO string both hold: years 1 to 9999 (Postgres has no year 0). */
const EARLIEST = Date.parse('0001-01-01T00:00:00.000Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

/** True for a date the database can compare against; JavaScript dates reach years ±275760. */
export function isStorableDate(date: Date): boolean {
  const t = date.getTime();
  return t >= EARLIEST && t <= LATEST;
}

/** An ISO 8601 date-time with offset, within the years the database holds. */
export const isoDateTime = () =>
  z.string().datetime({ offset: true }).refine((v) => isStorableDate(new Date(v)), 'must be between the years 0001 and 9999 (UTC)');
