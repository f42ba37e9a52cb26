import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = builtinModules.flatMap((m) => [m, `node:${m}`]);

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.tools/**', '.data/**', 'migrations/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code must stay deterministic: no I/O, no Node built-ins, no clients, no app code.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'workflow code must not use Node built-ins' })),
          patterns: [
            { group: ['drizzle-orm', 'drizzle-orm/*', 'postgres', 'openai', 'openai/*', 'liquidjs', 'express', 'pino'], message: 'I/O belongs in activities' },
            { group: ['**/src/**', '../src/*'], message: 'workflows may import only @temporalio/workflow, their contracts and activity types' },
            { group: ['@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'not available inside the workflow sandbox' },
          ],
        },
      ],
    },
  },
  {
    // The gateway and the activities share only the contracts with the workflows: importing a workflow
    // file would load workflow code (startChild, sleep) into the gateway process. Types are fine.
    files: ['src/**/*.ts', 'activities/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: String.raw`(^|/)workflows/(?!contracts(/|$))`,
              allowTypeImports: true,
              message: 'import values from workflows/contracts only (use `import type` for a workflow signature)',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly' } },
  },
);
