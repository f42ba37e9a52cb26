import { OpenApiGeneratorV31, OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import { z } from '../zod.js';
import { assignOperationIds } from './operation-ids.js';

/** The shape of every error response. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.string(),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

export function createRegistry(): OpenAPIRegistry {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'bearerAuth', { type: 'http', scheme: 'bearer' });
  return registry;
}

/**
 * The API document: every operation with a stable `operationId` (see operation-ids.ts), and a relative
 * server, so the document is right behind whatever host and base URL serve it.
 */
export function buildOpenApiDocument(registry: OpenAPIRegistry) {
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Smart Agents Orchestrator API',
      version: '1.0.0',
      description: 'Durable AI agents: every conversation turn is a Temporal workflow.',
      // package.json's `UNLICENSED`: no licence is granted. `LicenseRef-` is SPDX's form for a licence of its own.
      license: { name: 'Proprietary: all rights reserved', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: '/', description: 'The gateway that serves this document' }],
    security: [{ bearerAuth: [] }],
  });
  return assignOperationIds(document);
}
