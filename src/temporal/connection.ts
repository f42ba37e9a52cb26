import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from '@temporalio/client';
import type { Config } from '../config.js';

/**
 * Connection settings for the dev server, a self-hosted cluster (mTLS) or Temporal Cloud (API key + TLS),
 * shared by the gateway's client and the worker's native connection.
 */
export function temporalConnectionOptions(config: Config): Pick<ConnectionOptions, 'address' | 'tls'> & { apiKey?: string } {
  const certPath = config.TEMPORAL_TLS_CERT_PATH;
  const keyPath = config.TEMPORAL_TLS_KEY_PATH;
  const caPath = config.TEMPORAL_TLS_CA_PATH;
  const wantsTls = config.TEMPORAL_TLS || Boolean(certPath) || Boolean(config.TEMPORAL_API_KEY);
  const tls = wantsTls
    ? {
        ...(config.TEMPORAL_TLS_SERVER_NAME ? { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME } : {}),
        ...(caPath ? { serverRootCACertificate: readFileSync(caPath) } : {}),
        ...(certPath && keyPath ? { clientCertPair: { crt: readFileSync(certPath), key: readFileSync(keyPath) } } : {}),
      }
    : undefined;
  return {
    address: config.TEMPORAL_ADDRESS,
    ...(tls ? { tls } : {}),
    ...(config.TEMPORAL_API_KEY ? { apiKey: config.TEMPORAL_API_KEY } : {}),
  };
}
