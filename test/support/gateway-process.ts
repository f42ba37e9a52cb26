import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import path from 'node:path';
import { TEST_PAYLOAD_KEYS } from './payload-keys';

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * The real gateway entry in a process of its own: in-process, vitest would catch the error that ends the
 * process and the test could not see it, and a test could not SIGKILL it. Node runs the TypeScript through
 * tsx's loader in that same process (a SIGKILL reaches the gateway itself), with the exit-with-parent preload
 * so a failed run leaves no gateway behind. Resolves once it listens.
 */
export async function spawnGateway(env: Record<string, string>): Promise<{ child: ChildProcess; url: string; stop: () => Promise<void> }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', '--import', './scripts/lib/exit-with-parent.mjs', 'src/server.ts'], {
    cwd: path.join(__dirname, '..', '..'),
    env: { ...process.env, TEMPORAL_PAYLOAD_KEYS: TEST_PAYLOAD_KEYS, ...env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => ((out += c.toString()), out.includes('gateway listening') && resolve()));
    child.once('exit', (code) => reject(new Error(`gateway exited (${code}) before listening: ${out}`)));
  });
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}
