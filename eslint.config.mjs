// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = [
  'fs',
  'fs/promises',
  'path',
  'os',
  'http',
  'https',
  'net',
  'tls',
  'dns',
  'child_process',
  'crypto',
  'stream',
  'worker_threads',
  'cluster',
  'dgram',
  'process',
  'zlib',
  'readline',
  'url',
  'util',
  'events',
  'timers',
  'vm',
  'axios',
  '@slack/web-api',
  'pg',
  '@electric-sql/pglite',
  'pino',
  'express',
  'yaml',
  '@temporalio/client',
  '@temporalio/worker',
  '@temporalio/activity',
  '@temporalio/testing',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      '.tools/',
      '.data/',
      'dist/',
      '.bench-build/',
      'artifacts/',
      'test/helpers/reporter.js',
      'bin/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code is deterministic: no Node built-ins, no I/O libraries, activities only as types.
    files: ['src/workflows/**/*.ts', 'src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': 'off',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: ioModules.flatMap((name) => [
            {
              name,
              message: 'workflow and domain code must stay deterministic and free of I/O',
              allowTypeImports: true,
            },
            { name: `node:${name}`, message: 'no Node built-ins in workflow or domain code', allowTypeImports: true },
          ]),
          patterns: [
            {
              group: ['**/activities', '**/activities/*', '**/activities/**'],
              message: 'import activities as types only',
              allowTypeImports: true,
            },
            { group: ['node:*'], message: 'no Node built-ins in workflow or domain code', allowTypeImports: true },
          ],
        },
      ],
    },
  },
  {
    // Production code never reaches into the local profile (src/dev: stand-ins, the dev server, npm start) or into
    // test peers and their dev-only packages; only src/dev itself and the tests may.
    files: ['src/**/*.ts'],
    ignores: ['src/dev/**', 'src/workflows/**', 'src/domain/**'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/dev', '**/dev/*', '**/dev/**'], message: 'production code must not import src/dev' },
            { group: ['**/test/**'], message: 'production code must not import tests' },
          ],
          paths: [
            { name: 'scimmy', message: 'scimmy is a test peer (dev dependency)' },
            { name: 'scimmy-routers', message: 'scimmy-routers is a test peer (dev dependency)' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
