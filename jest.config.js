// One jest run for every group (unit, integration, e2e, browser); `npm run test:<group>` picks one.
// Global setup starts one Temporal dev server per run and bundles the workflows once.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.m?(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2023' }, module: { type: 'commonjs' } }] },
  // jose 6, typebox 1, content-disposition and cookie (via @fastify/static, light-my-request) ship ES modules only; jest's CommonJS runtime needs them compiled
  // (the alternative, --experimental-vm-modules, would change how every test runs).
  transformIgnorePatterns: ['/node_modules/(?!(jose|typebox|content-disposition|cookie)/)'],
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
  testTimeout: 120_000,
  maxWorkers: 2,
  // Servers and workers started by a test are stopped by the test; this catches leaks.
  forceExit: false,
  verbose: true,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};
