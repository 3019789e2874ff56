// One jest project per test group (unit, integration, e2e, browser, cluster); `npm run
// test:<group>` picks one, `npm test` runs them all in one jest run. The unit group needs no Temporal server: it has
// no global setup. The others share one global setup that starts one Temporal dev server for the
// run and bundles the workflows once: jest runs a global setup module once per run, for the
// projects that have a test selected, and once only when several of them name the same file
// (@jest/core runGlobalHook collects the modules in a Set), so integration + e2e share one server.
const path = require('node:path');

const rootDir = __dirname;

/** What every group shares. */
const common = {
  rootDir,
  testEnvironment: 'node',
  transform: { '^.+\\.m?(t|j)sx?$': ['@swc/jest', { jsc: { target: 'es2023' }, module: { type: 'commonjs' } }] },
  // jose 6, typebox 1, content-disposition and cookie (via @fastify/static, light-my-request) ship ES modules only; jest's CommonJS runtime needs them compiled
  // (the alternative, --experimental-vm-modules, would change how every test runs).
  transformIgnorePatterns: ['/node_modules/(?!(jose|typebox|content-disposition|cookie)/)'],
};

/** The dev server and the workflow bundle (test/helpers/global-setup.ts), for the groups that run workflows. */
const temporal = {
  globalSetup: '<rootDir>/test/helpers/global-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/global-teardown.ts',
};

/**
 * The self-hosted cluster (PostgreSQL + Temporal Server, test/helpers/cluster-setup.ts) for the
 * cluster group: its own setup module, so it starts only when a cluster test is selected.
 */
const cluster = {
  globalSetup: '<rootDir>/test/helpers/cluster-setup.ts',
  globalTeardown: '<rootDir>/test/helpers/cluster-teardown.ts',
};

/** The groups: a group's tests are test/<group>/**\/*.test.ts. */
const GROUPS = { unit: {}, integration: temporal, e2e: temporal, browser: temporal, cluster };

/** @type {import('jest').Config} */
module.exports = {
  projects: Object.entries(GROUPS).map(([name, extra]) => ({
    ...common,
    ...extra,
    displayName: name,
    roots: [path.join(rootDir, 'test', name)],
    testMatch: ['**/*.test.ts'],
  })),
  // Options of the whole run (jest-circus reads the run's testTimeout, not a project's).
  testTimeout: 120_000,
  maxWorkers: 2,
  // Servers and workers started by a test are stopped by the test; this catches leaks.
  forceExit: false,
  verbose: true,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.js'],
};
