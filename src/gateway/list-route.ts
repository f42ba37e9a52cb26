import type { OpenAPIRegistry } from '@asteasolutions/zod-to-openapi';
import type { Router } from 'express';
import type { Permission } from '../tenancy/api-keys.js';
import { z } from '../zod.js';
import { toPage } from '../db/pagination.js';
import { pageQuery, pageSchema } from './common.js';
import { defineRoute, type HandlerContext } from './route.js';

/*
 * Every paged list of the API has the same shape: GET, a query that extends `pageQuery`, a store call that
 * returns `limit + 1` rows and a `{ items, nextCursor }` answer. Routes declare only what differs.
 */

type AnyObject = z.ZodObject<z.ZodRawShape>;
type PageQuery = z.ZodObject<typeof pageQuery.shape>;

/** What a paged list route declares; `defineListRoute` adds the method, the page schema and the paging. */
export interface ListRouteSpec<P extends AnyObject, Q extends PageQuery, R extends { createdAt: Date; id: string }> {
  path: string;
  tag: string;
  summary: string;
  /** See `RouteSpec.operationId`. */
  operationId?: string;
  permission: Permission;
  params?: P;
  /** `pageQuery`, or `pageQuery` merged with the list's filters. */
  query: Q;
  /** The description of the 200 answer. */
  description: string;
  /** The documented item; a free-form object when left out. */
  item?: z.ZodType;
  /** Fetches `limit + 1` rows (a store's list function); throws to refuse, e.g. when the parent is not found. */
  rows: (ctx: HandlerContext<z.infer<P>, z.infer<Q>, unknown>) => Promise<R[]>;
  /** The API view of one row. */
  view: (row: R) => unknown;
}

/** Declares a `GET` route answering one page of rows, newest first, with the cursor of the next page. */
export function defineListRoute<P extends AnyObject, Q extends PageQuery, R extends { createdAt: Date; id: string }>(
  router: Router,
  registry: OpenAPIRegistry,
  spec: ListRouteSpec<P, Q, R>,
): void {
  defineRoute(router, registry, {
    method: 'get', path: spec.path, tag: spec.tag, summary: spec.summary, operationId: spec.operationId, permission: spec.permission,
    params: spec.params, query: spec.query,
    responses: { 200: { description: spec.description, schema: pageSchema(spec.item ?? z.record(z.string(), z.unknown())) } },
    handler: async (ctx) => {
      const rows = await spec.rows(ctx);
      return { status: 200, body: toPage(rows, ctx.query.limit, spec.view) };
    },
  });
}
