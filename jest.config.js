// Unit specs sit beside the code; e2e specs drive a real gateway over HTTP with the MCP SDK client,
// against real PostgreSQL, Redis and MCP servers.
const swc = ['@swc/jest', { ...require('./swcrc.json'), swcrc: false }];
const moduleNameMapper = {
  '^@gatehouse/(config|db|identity|connections|mcp)$': '<rootDir>/libs/$1/src',
};
const common = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper,
  rootDir: __dirname,
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
