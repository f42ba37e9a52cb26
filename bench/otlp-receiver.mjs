#!/usr/bin/env node
// A stand-in OTLP/HTTP collector for measuring tracing's cost (README "Traces"): accepts every
// POST /v1/traces with 200 and counts requests and bytes, printed on exit. Usage:
//   node bench/otlp-receiver.mjs [port=4318] & OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npm run bench:turns
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 4318);
let requests = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on('data', (chunk) => (bytes += chunk.length));
  req.on('end', () => {
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
server.listen(port, '127.0.0.1', () => console.error(`OTLP receiver on http://127.0.0.1:${port}`));
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    console.error(`OTLP receiver: ${requests} export requests, ${bytes} bytes`);
    process.exit(0);
  });
}
