// Unit specs sit beside the code; e2e specs drive a real gateway over HTTP with the MCP SDK client,
// against real PostgreSQL, Redis and MCP servers.
const swc = ['@swc/jest', { ...require('./swcrc.json'), swcrc: false }];
const moduleNameMapper = {
  '^@gatehouse/(config|db|identity|connections|mcp|governance|audit|egress)$': '<rootDir>/libs/$1/src',
};
// ESM-only packages the gateway requires (Node 20 loads them with require(esm); jest's module system cannot).
const ESM_PACKAGES = ['openid-client', 'oauth4webapi', 'jose'];
const common = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': swc,
    [`/node_modules/(${ESM_PACKAGES.join('|')})/.+\\.js$`]: ['@swc/jest', { swcrc: false, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_PACKAGES.join('|')})/)`],
  moduleNameMapper,
  rootDir: __dirname,
  // The dashboard is a package of its own (its own node_modules), built by Vite and tested in Chromium.
  modulePathIgnorePatterns: ['<rootDir>/apps/dashboard/'],
};

module.exports = {
  // Global options (jest ignores these inside `projects`).
  testTimeout: 60_000,
  slowTestThreshold: 30,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/libs/**/*.spec.ts', '<rootDir>/apps/**/*.spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.e2e-spec.ts'],
      globalSetup: '<rootDir>/test/support/global-setup.ts',
      globalTeardown: '<rootDir>/test/support/global-teardown.ts',
    },
  ],
};
