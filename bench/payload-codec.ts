/**
 * What the payload codec costs per turn, without the noise of a whole-stack run: the payloads of the committed
 * encrypted turn history (a turn with one tool call, test/replay/histories/encrypted-turn-tool-call.json) are
 * opened once, then sealed and opened again many times; prints microseconds per payload and per turn of those
 * payloads. A turn's processes seal each payload once and open it about once or twice (worker and gateway), so
 * "per turn" counts one seal and one open of each. `npx tsx bench/payload-codec.ts` (BENCH_ROUNDS, default 2000).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Payload } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { loadConfig } from '../src/config';
import { payloadCodecFromConfig } from '../src/temporal/data-converter';
import { TEST_PAYLOAD_KEYS } from '../test/support/payload-keys';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2000);
const file = path.join(__dirname, '..', 'test', 'replay', 'histories', 'encrypted-turn-tool-call.json');
const history = historyFromJSON(JSON.parse(readFileSync(file, 'utf8')));
const codec = payloadCodecFromConfig(loadConfig({ TEMPORAL_PAYLOAD_KEYS: TEST_PAYLOAD_KEYS }))!;

function sealedPayloads(value: unknown, found: Payload[] = []): Payload[] {
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return found;
  const encoding = (value as Payload).metadata?.encoding;
  if (encoding instanceof Uint8Array && Buffer.from(encoding).toString() === 'binary/encrypted') return (found.push(value as Payload), found);
  for (const child of Object.values(value)) sealedPayloads(child, found);
  return found;
}

async function main(): Promise<void> {
  const plain = await codec.decode(sealedPayloads(history));
  const bytes = plain.reduce((n, p) => n + (p.data?.length ?? 0), 0);
  for (let i = 0; i < 200; i++) await codec.decode(await codec.encode(plain)); // warm-up
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await codec.decode(await codec.encode(plain));
  const perTurnUs = ((performance.now() - start) * 1000) / ROUNDS;
  process.stdout.write(
    `payloads per turn: ${plain.length} (${bytes} bytes of data)\n` +
      `seal + open, all of a turn's payloads: ${perTurnUs.toFixed(1)} µs (${(perTurnUs / plain.length).toFixed(2)} µs a payload), ${ROUNDS} rounds\n`,
  );
  process.stdout.write(`${JSON.stringify({ payloads: plain.length, bytes, perTurnUs: Math.round(perTurnUs * 10) / 10, rounds: ROUNDS })}\n`);
}

void main();
