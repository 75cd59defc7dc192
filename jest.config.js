// Jest runs TypeScript through swc (about 3x faster than ts-jest); `npm run typecheck` checks types.
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');

// cdktf's Testing helpers leave temp folders behind unless TMPDIR is set here, in the config itself.
const tmp = path.join(os.tmpdir(), 'restaurant-platform-jest');
fs.mkdirSync(tmp, { recursive: true });
process.env.TMPDIR = tmp;
process.env.CHECKPOINT_DISABLE = '1';

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // Bundles app/src/*-main.ts into app/dist once per run: tests start the entries as they ship.
  globalSetup: '<rootDir>/tests/support/global-setup.ts',
  transform: {
    '^.+\\.tsx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  cacheDirectory: '<rootDir>/.jest-cache',
  testTimeout: 60000,
  maxWorkers: 2,
};
