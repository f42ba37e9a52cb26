import * as users from '../../tenancy/users-store.js';
import { createUserBody, updateUserBody, userSchema } from '../../tenancy/contracts.js';
import { idParams, pageQuery } from '../common.js';
import type { RouteContext } from '../deps.js';
import { ConflictError, NotFoundError } from '../../errors.js';
import { defineListRoute } from '../list-route.js';
import { defineRoute } from '../route.js';
import { toIso } from '../serialize.js';

const userView = ({ projectId: _p, ...row }: users.UserRow) => toIso(row);

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
      const row = await users.createUser(db, auth.projectId, body);
      return { status: 201, body: userView(row), headers: { Location: `/v1/users/${row.id}` } };
    },
  });

  defineListRoute(router, registry, {
    path: '/v1/users', tag, summary: 'List people, newest first', permission: 'users:read', query: pageQuery,
    description: 'A page of users', item: userSchema, view: userView,
    rows: ({ query, auth }) => users.listUsers(db, auth.projectId, query),
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
      const row = await users.updateUser(db, auth.projectId, params.id, body);
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
