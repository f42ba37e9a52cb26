import { appUser } from '../../db/schema/index.js';
import * as users from '../../tenancy/users-store.js';
import { idParams, keyset, pageQuery, pageSchema, toPage } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { z } from '../../zod.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

/** E.164: a plus, a country code that does not start with 0, at most 15 digits in all. */
const E164 = /^\+[1-9]\d{6,14}$/;
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http or https URL' }).max(2000);

const userFields = {
  // Lower-cased so one mailbox is one user: the unique index on (project, email) is case-sensitive.
  email: z.string().trim().toLowerCase().max(320).pipe(z.email()).openapi({ type: 'string', format: 'email' }),
  name: z.string().trim().min(1).max(200).nullable(),
  phone: z.string().regex(E164, 'must be an E.164 number such as +14155550123').nullable(),
  webhookUrl: httpUrl.nullable(),
  avatarUrl: httpUrl.nullable(),
};

export const createUserBody = z
  .object(userFields)
  .partial({ name: true, phone: true, webhookUrl: true, avatarUrl: true })
  .strict()
  .openapi('CreateUser');

export const updateUserBody = z
  .object(userFields)
  .partial()
  .strict()
  .refine((b) => Object.keys(b).length > 0, { message: 'at least one field to change is required' })
  .openapi('UpdateUser');

export const userSchema = z
  .object({
    id: z.string().uuid(),
    email: z.string(),
    name: z.string().nullable(),
    phone: z.string().nullable(),
    webhookUrl: z.string().nullable(),
    avatarUrl: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('User');

const userView = ({ projectId: _p, ...row }: users.UserRow) => toIso(row);

function emailTaken(email: string): ConflictError {
  return new ConflictError('user_exists', `a user with email ${email} already exists in this project`);
}

/** Runs a write that may hit the (project, email) unique index and answers 409 `user_exists` for it. */
async function uniqueEmail<T>(email: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (users.postgresErrorCode(err) === users.UNIQUE_VIOLATION) throw emailTaken(email ?? 'this');
    throw err;
  }
}

/**
 * People of a project: who escalations notify (as a rule's target or in its policy levels) and how to
 * reach them. A user a rule escalates to cannot be deleted, so no rule is left pointing at nobody.
 */
export function registerUserRoutes({ router, registry, deps }: RouteContext): void {
  const { db } = deps;
  const tag = 'Users';

  defineRoute(router, registry, {
    method: 'post', path: '/v1/users', tag, summary: 'Add a person (an escalation target)', permission: 'users:write',
    body: createUserBody,
    responses: { 201: { description: 'Created', schema: userSchema }, 409: { description: 'Email taken (user_exists)' } },
    handler: async ({ body, auth }) => {
      const row = await uniqueEmail(body.email, () => users.createUser(db, auth.projectId, body));
      return { status: 201, body: userView(row), headers: { Location: `/v1/users/${row.id}` } };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/users', tag, summary: 'List people, newest first', permission: 'users:read', query: pageQuery,
    responses: { 200: { description: 'A page of users', schema: pageSchema(userSchema) } },
    handler: async ({ query, auth }) => {
      const rows = await users.listUsers(db, auth.projectId, { ...keyset(appUser, query.cursor), limit: query.limit });
      return { status: 200, body: toPage(rows, query.limit, userView) };
    },
  });

  defineRoute(router, registry, {
    method: 'get', path: '/v1/users/:id', tag, summary: 'Get a person', permission: 'users:read', params: idParams,
    responses: { 200: { description: 'The user', schema: userSchema } },
    handler: async ({ params, auth }) => {
      const row = await users.findUser(db, auth.projectId, params.id);
      if (!row) throw new NotFoundError('user');
      return { status: 200, body: userView(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'patch', path: '/v1/users/:id', tag, summary: "Change a person's name or contact channels", permission: 'users:write',
    params: idParams, body: updateUserBody,
    responses: { 200: { description: 'The changed user', schema: userSchema }, 409: { description: 'Email taken (user_exists)' } },
    handler: async ({ params, body, auth }) => {
      const row = await uniqueEmail(body.email, () => users.updateUser(db, auth.projectId, params.id, body));
      if (!row) throw new NotFoundError('user');
      return { status: 200, body: userView(row) };
    },
  });

  defineRoute(router, registry, {
    method: 'delete', path: '/v1/users/:id', tag, summary: 'Remove a person no escalation rule targets', permission: 'users:write',
    params: idParams,
    responses: { 204: { description: 'Deleted' }, 409: { description: 'A rule escalates to the user (user_in_use)' } },
    handler: async ({ params, auth }) => {
      const result = await users.deleteUnusedUser(db, auth.projectId, params.id);
      if (result.outcome === 'not_found') throw new NotFoundError('user');
      if (result.outcome === 'in_use') {
        const names = result.rules.map((r) => `"${r.name}"`).join(', ');
        throw new ConflictError('user_in_use', `escalation rules escalate to this user: ${names || 'a rule saved meanwhile'}; change them first`, { rules: result.rules });
      }
      return { status: 204 };
    },
  });
}
