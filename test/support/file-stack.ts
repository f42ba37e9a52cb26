import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { apiClient } from './http';
import type { ScriptedLlm } from './scripted-llm';
import { startStack, testProject, type Stack } from './stack';

/*
 * The set-up most e2e files share: one stack for the whole file (and the scripted model it calls, when the
 * file has one), stopped after the file's last test.
 */

/**
 * Starts the stack before the file's tests and stops it after them, handing it to `onStart`. With `llm`,
 * the model is started first and pointed at, and every test must leave it without a failed expectation.
 */
export function stackPerFile(onStart: (stack: Stack) => void, llm?: ScriptedLlm): void {
  let stack: Stack | undefined;
  beforeAll(async () => {
    if (llm) await llm.start();
    stack = await startStack(llm ? { OPENAI_BASE_URL: llm.baseUrl } : {});
    onStart(stack);
  });
  if (llm) afterEach(() => expect(llm.failures).toEqual([]));
  afterAll(async () => {
    await stack?.stop();
    await llm?.stop();
  });
}

/** A fresh project in the stack's database, with an API client holding its admin key. */
export async function projectWithApi(stack: Stack) {
  const project = await testProject(stack.db);
  return { ...project, api: apiClient(stack.gateway.url, project.adminKey) };
}
