import { and, eq } from 'drizzle-orm';
import { escalationTemplate } from '../../db/schema/index.js';
import {
  checkTemplate, mergeVariables, renderTemplate, sampleVariables, TemplateRenderError, TemplateSyntaxError, type TemplateSource,
} from '../../escalations/notifications/template-render.js';
import { channels } from '../../../workflows/contracts/index.js';
import { idParams, jsonObject, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { AppError, NotFoundError, ValidationError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const withinBytes = (max: number) => (s: string) => Buffer.byteLength(s, 'utf8') <= max;
const subjectText = z.string().refine(withinBytes(1024), 'at most 1 KiB');
const bodyText = z.string().min(1).refine(withinBytes(64 * 1024), 'at most 64 KiB');
const messageType = z.enum(channels).openapi({ description: 'The channel the template is written for' });
const variables = jsonObject.openapi({ description: 'Preview values, deep-merged over the sample variables' });

const fields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(4000).nullable(),
  subject: subjectText.nullable().openapi({ description: 'Liquid; required for email' }),
  body: bodyText.openapi({ description: 'Liquid; see NotificationVariables for what it can use' }),
  messageType,
  variables,
};

const subjectRequired = { message: 'required for email templates', path: ['subject'] };
const hasSubject = (t: { messageType?: string; subject?: string | null }) => t.messageType !== 'email' || !!t.subject?.trim();

const createBody = z
  .object({ ...fields, messageType: messageType.default('email') })
  .partial({ description: true, subject: true, variables: true })
  .strict()
  .refine(hasSubject, subjectRequired)
  .openapi('CreateEscalationTemplate');

const updateBody = z
  .object(fields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateEscalationTemplate');

const previewSavedBody = z.object({ variables: variables.optional() }).strict().openapi('PreviewEscalationTemplate');
const previewTextBody = z
  .object({ subject: subjectText.nullable().optional(), body: bodyText, messageType, variables: variables.optional() })
  .strict()
  .openapi('PreviewEscalationTemplateText');

const templateSchema = z
  .object({
    id: z.string().uuid(), name: z.string(), description: z.string().nullable(), subject: z.string().nullable(), body: z.string(),
    messageType, variables: jsonObject, createdBy: z.string().uuid().nullable(), createdAt: z.string(), updatedAt: z.string(),
  })
  .openapi('EscalationTemplate');
const previewSchema = z.object({ subject: z.string().nullable(), body: z.string() }).openapi('EscalationTemplatePreview');
const listQuery = pageQuery.extend({ messageType: messageType.optional() });

type TemplateRow = typeof escalationTemplate.$inferSelect;
const templateView = ({ projectId: _p, ...rest }: TemplateRow) => toIso(rest);

/**
 * Template errors as answers: a syntax error is a 400 saying where it is, so an editor can put the cursor
 * on it; a render failure on the given variables is a 422 with its code (`render_limit`, …).
 */
function asHttpError(err: unknown): unknown {
  if (err instanceof TemplateSyntaxError) {
    return new AppError(400, 'template_syntax_error', err.message, { field: err.field, line: err.line, column: err.column });
  }
  if (err instanceof TemplateRenderError) {
    return new AppError(422, 'template_render_error', err.message, { code: err.code, field: err.field, line: err.line, column: err.column });
  }
  return err;
}

function checkOrReject(source: TemplateSource): void {
  try {
    checkTemplate(source);
  } catch (err) {
    throw asHttpError(err);
  }
}

async function preview(source: TemplateSource, ...overrides: Array<Record<string, unknown> | undefined>) {
  try {
    return await renderTemplate(source, mergeVariables(sampleVariables(), ...overrides));
  } catch (err) {
    throw asHttpError(err);
  }
}

function requireSubject(t: { messageType: string; subject: string | null }): void {
  if (!hasSubject(t)) throw new ValidationError('invalid request: body.subject: required for email templates', [{ field: 'body.subject', message: 'required for email templates' }]);
}

export function registerEscalationTemplateRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Escalation templates';
  const byId = (projectId: string, id: string) => and(eq(escalationTemplate.id, id), eq(escalationTemplate.projectId, projectId));
  const load = async (projectId: string, id: string) => {
    const [row] = await db.select().from(escalationTemplate).where(byId(projectId, id));
    if (!row) throw new NotFoundError('escalation template');
    return row;
  };
  const syntaxError = { description: 'Invalid request or template syntax error (details: field, line, column)' };
  const renderError = { description: 'The template failed on these variables (details.code: undefined_variable, render_limit, output_too_large, render_failed)' };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/escalation-templates', tag, summary: 'Create a notification template (Liquid)', permission: 'escalations:write',
    body: createBody, responses: { 201: { description: 'Created', schema: templateSchema }, 400: syntaxError },
    handler: async ({ body, auth }) => {
      checkOrReject(body);
      const [row] = await db.insert(escalationTemplate).values({ ...body, projectId: auth.projectId }).returning();
      return { status: 201, body: templateView(row!), headers: { Location: `/v1/escalation-templates/${row!.id}` } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/escalation-templates', tag, summary: 'List notification templates, newest first', permission: 'escalations:read',
    query: listQuery, responses: { 200: { description: 'A page of templates', schema: pageSchema(templateSchema) } },
    handler: async ({ query, auth }) => {
      const page = keyset(escalationTemplate, query.cursor);
      const rows = await db.select().from(escalationTemplate)
        .where(and(eq(escalationTemplate.projectId, auth.projectId), query.messageType ? eq(escalationTemplate.messageType, query.messageType) : undefined, page.where))
        .orderBy(...page.orderBy).limit(query.limit + 1);
      return { status: 200, body: toPage(rows, query.limit, templateView) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/escalation-templates/:id', tag, summary: 'Get a notification template', permission: 'escalations:read',
    params: idParams, responses: { 200: { description: 'The template', schema: templateSchema } },
    handler: async ({ params, auth }) => ({ status: 200, body: templateView(await load(auth.projectId, params.id)) }),
  });

  defineRoute(router, registry, {
    method: 'patch', path: '/v1/escalation-templates/:id', tag, summary: 'Change a notification template', permission: 'escalations:write',
    params: idParams, body: updateBody, responses: { 200: { description: 'The changed template', schema: templateSchema }, 400: syntaxError },
    handler: async ({ params, body, auth }) => {
      const merged = { ...(await load(auth.projectId, params.id)), ...body };
      requireSubject(merged);
      checkOrReject(merged);
      const [row] = await db.update(escalationTemplate).set(body).where(byId(auth.projectId, params.id)).returning();
      if (!row) throw new NotFoundError('escalation template');
      return { status: 200, body: templateView(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/escalation-templates/:id', tag, permission: 'escalations:write',
    summary: 'Delete a notification template (rules using it fall back to the default template)',
    params: idParams, responses: { 204: { description: 'Deleted' } },
    handler: async ({ params, auth }) => {
      const deleted = await db.delete(escalationTemplate).where(byId(auth.projectId, params.id)).returning({ id: escalationTemplate.id });
      if (deleted.length === 0) throw new NotFoundError('escalation template');
      return { status: 204 };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/escalation-templates/preview', tag, summary: 'Render unsaved template text with sample variables',
    permission: 'escalations:read', body: previewTextBody,
    responses: { 200: { description: 'The rendered text', schema: previewSchema }, 400: syntaxError, 422: renderError },
    handler: async ({ body }) => {
      checkOrReject(body);
      return { status: 200, body: await preview(body, body.variables) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/escalation-templates/:id/preview', tag, permission: 'escalations:read',
    summary: "Render a template with the sample variables, its own preview variables and the request's",
    params: idParams, body: previewSavedBody,
    responses: { 200: { description: 'The rendered text', schema: previewSchema }, 422: renderError },
    handler: async ({ params, body, auth }) => {
      const row = await load(auth.projectId, params.id);
      return { status: 200, body: await preview(row, row.variables, body.variables) };
    },
  });
}
