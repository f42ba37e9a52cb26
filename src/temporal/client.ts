import { Client, Connection, type ClientInterceptors } from '@temporalio/client';
import type { Config } from '../config.js';
import { temporalConnectionOptions } from './connection.js';
import { dataConverterFromConfig } from './data-converter.js';

export interface TemporalClientHandle {
  client: Client;
  connection: Connection;
}

/**
 * A client of the configured server and namespace with the product's data converter: every process that starts,
 * signals, updates or reads a workflow gets its client here, so none of them writes or reads payloads unencrypted.
 * `interceptors`: tracing's (src/telemetry/tracing.ts) when it is on.
 */
export async function connectTemporalClient(config: Config, interceptors?: ClientInterceptors): Promise<TemporalClientHandle> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE, dataConverter: dataConverterFromConfig(config), ...(interceptors ? { interceptors } : {}) });
  return { client, connection };
}
