import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNetGuard } from '../../src/net/net-guard';
import { createHttpRunners } from '../../src/tools/runners/http';
import { ToolError, type ResolvedTool, type ToolCredentials } from '../../src/tools/types';
import { ToolServer } from '../support/tool-server';

const GOOD_SECRET = 'secret-of-project-a-123';
const TOKEN_A = 'access-token-of-project-a';

// A real token endpoint that checks the client secret (RFC 6749 §2.3.1 Basic) and an API that wants A's token.
const server = new ToolServer({
  '/token': (_n, req) => {
    const expected = `Basic ${Buffer.from(`shared-client:${GOOD_SECRET}`).toString('base64')}`;
    return req.headers.authorization === expected
      ? { status: 200, body: { access_token: TOKEN_A, token_type: 'bearer', expires_in: 3600 } }
      : { status: 401, body: { error: 'invalid_client' } };
  },
  '/data': (_n, req) => ({ status: 200, body: { caller: req.headers.authorization === `Bearer ${TOKEN_A}` ? 'A' : 'someone' } }),
});
beforeAll(() => server.start());
afterAll(() => server.stop());

function oauthTool(projectId: string, id: string, clientSecret: string, credentialVersion = 'v1'): ResolvedTool {
  const credentials: ToolCredentials = { type: 'oauth2', tokenUrl: server.url('/token'), clientId: 'shared-client', clientSecret };
  const url = server.url('/data');
  return {
    id, projectId, name: 'data', toolType: 'api', config: { method: 'GET', url }, credentials, timeoutMs: 5000,
    credentialVersion, credentialOrigins: [new URL(url).origin],
  };
}
const ctx = () => ({ signal: AbortSignal.timeout(5000), idempotencyKey: 'wf:call', attempt: 1 });

describe('oauth2 token cache', () => {
  it("never hands project A's token to project B with the same token URL and client id but another secret", async () => {
    const { api } = createHttpRunners({ guard: createNetGuard({ allow: ['127.0.0.1/32'] }) });
    expect(await api(oauthTool('project-a', 'tool-a', GOOD_SECRET), {}, ctx())).toEqual({ status: 200, body: { caller: 'A' } });
    expect(server.calls('/token')).toHaveLength(1);

    const err = await api(oauthTool('project-b', 'tool-b', 'wrong-secret'), {}, ctx()).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ToolError);
    expect((err as ToolError).message).toMatch(/token endpoint answered HTTP 401/);
    // B asked the token endpoint itself (and was refused) instead of being served A's cached token.
    expect(server.calls('/token')).toHaveLength(2);
    expect(server.calls('/data')).toHaveLength(1);
  });

  it('keys the token on the tool and the credential version too, so a re-saved credential fetches anew', async () => {
    const { api } = createHttpRunners({ guard: createNetGuard({ allow: ['127.0.0.1/32'] }) });
    const before = server.calls('/token').length;
    await api(oauthTool('project-a', 'tool-a', GOOD_SECRET, 'v1'), {}, ctx());
    await api(oauthTool('project-a', 'tool-a', GOOD_SECRET, 'v1'), {}, ctx()); // cached
    await api(oauthTool('project-a', 'tool-a2', GOOD_SECRET, 'v1'), {}, ctx()); // another tool
    await api(oauthTool('project-a', 'tool-a', GOOD_SECRET, 'v2'), {}, ctx()); // credentials re-saved
    expect(server.calls('/token').length - before).toBe(3);
  });
});
