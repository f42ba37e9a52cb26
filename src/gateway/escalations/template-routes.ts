import {
  createTemplateBody, hasSubject, listTemplatesFilter, previewSavedTemplateBody, previewTemplateTextBody, templatePreviewSchema, templateSchema, updateTemplateBody,
} from '../../escalations/contracts/template-api.js';
import {
  checkTemplate, mergeVariables, renderTemplate, sampleVariables, TemplateRenderError, TemplateSyntaxError, type TemplateSource,
} from '../../escalations/notifications/template-render.js';
import * as templates from '../../escalations/notifications/template-store.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { AppError, NotFoundError, ValidationError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const listQuery = pageQuery.merge(listTemplatesFilter);
const templateView = ({ projectId: _p, ...rest }: templates.TemplateRow) => toIso(rest);

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
  const load = async (projectId: string, id: string) => {
    const row = await templates.findTemplate(db, projectId, id);
    if (!row) throw new NotFoundError('escalation template');
    return row;
  };
  const syntaxError = { description: 'Invalid request or template syntax error (details: field, line, column)' };
  const renderError = { description: 'The template failed on these variables (details.code: undefined_variable, render_limit, output_too_large, render_failed)' };

  defineRoute(router, registry, {
    method: 'post', path: '/v1/escalation-templates', tag, summary: 'Create a notification template (Liquid)', permission: 'escalations:write',
    body: createTemplateBody, responses: { 201: { description: 'Created', schema: templateSchema }, 400: syntaxError },
    handler: async ({ body, auth }) => {
      checkOrReject(body);
      const row = await templates.insertTemplate(db, auth.projectId, body);
      return { status: 201, body: templateView(row), headers: { Location: `/v1/escalation-templates/${row.id}` } };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/escalation-templates', tag, summary: 'List notification templates, newest first', permission: 'escalations:read',
    query: listQuery, description: 'A page of templates', item: templateSchema, view: templateView,
    rows: ({ query, auth }) => templates.listTemplates(db, auth.projectId, query, query),
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/escalation-templates/:id', tag, summary: 'Get a notification template', permission: 'escalations:read',
    params: idParams, responses: { 200: { description: 'The template', schema: templateSchema } },
    handler: async ({ params, auth }) => ({ status: 200, body: templateView(await load(auth.projectId, params.id)) }),
  });

  defineRoute(router, registry, {
    method: 'patch', path: '/v1/escalation-templates/:id', tag, summary: 'Change a notification template', permission: 'escalations:write',
    params: idParams, body: updateTemplateBody, responses: { 200: { description: 'The changed template', schema: templateSchema }, 400: syntaxError },
    handler: async ({ params, body, auth }) => {
      const merged = { ...(await load(auth.projectId, params.id)), ...body };
      requireSubject(merged);
      checkOrReject(merged);
      const row = await templates.updateTemplate(db, auth.projectId, params.id, body);
      if (!row) throw new NotFoundError('escalation template');
      return { status: 200, body: templateView(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/escalation-templates/:id', tag, permission: 'escalations:write',
    summary: 'Delete a notification template (rules using it fall back to the default template)',
    params: idParams, responses: { 204: { description: 'Deleted' } },
    handler: async ({ params, auth }) => {
      if (!(await templates.deleteTemplate(db, auth.projectId, params.id))) throw new NotFoundError('escalation template');
      return { status: 204 };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/escalation-templates/preview', tag, operationId: 'previewEscalationTemplateText', summary: 'Render unsaved template text with sample variables',
    permission: 'escalations:read', body: previewTemplateTextBody,
    responses: { 200: { description: 'The rendered text', schema: templatePreviewSchema }, 400: syntaxError, 422: renderError },
    handler: async ({ body }) => {
      checkOrReject(body);
      return { status: 200, body: await preview(body, body.variables) };
    },
  });

  defineRoute(router, registry, {
    method: 'post', path: '/v1/escalation-templates/:id/preview', tag, permission: 'escalations:read',
    summary: "Render a template with the sample variables, its own preview variables and the request's",
    params: idParams, body: previewSavedTemplateBody,
    responses: { 200: { description: 'The rendered text', schema: templatePreviewSchema }, 422: renderError },
    handler: async ({ params, body, auth }) => {
      const row = await load(auth.projectId, params.id);
      return { status: 200, body: await preview(row, row.variables, body.variables) };
    },
  });
}
