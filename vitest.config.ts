import { configDefaults, defineConfig } from 'vitest/config'

// zeromq.js is a native addon: test files run in forked processes, never worker threads.
export default defineConfig({
  test: {
    pool: 'forks',
    // Two test files at a time (vitest's default is one per core but one: a single file on a
    // 2-core machine). Most files wait on networks, timers and child processes, not the CPU.
    maxWorkers: 2,
    testTimeout: 60_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: 'core', include: ['packages/core/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'transport-inproc', include: ['packages/transport-inproc/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'transport-zmq', include: ['packages/transport-zmq/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'transport-ws', include: ['packages/transport-ws/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'coordinator-etcd', include: ['packages/coordinator-etcd/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'storage-lmdb', include: ['packages/storage-lmdb/test/**/*.test.ts'] } },
      { extends: true, test: { name: 'storage-idb', include: ['packages/storage-idb/test/**/*.test.ts'] } },
      // jsdom's DOM on Node's globals (see packages/react/test/dom-setup.ts)
      { extends: true, test: { name: 'react', include: ['packages/react/test/**/*.test.{ts,tsx}'], setupFiles: ['packages/react/test/dom-setup.ts'] } },
      { extends: true, test: { name: 'cli', include: ['packages/cli/test/**/*.test.ts'] } },
      // Chromium e2e suites, one file at a time (each runs a server and several browsers).
      { extends: true, test: { name: 'browser', include: ['examples/canvas/test/**/*.test.ts', 'examples/board/test/**/*.test.ts'], fileParallelism: false } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts', 'examples/test/**/*.test.ts', 'bench/test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/chaos/**'] },
      },
      // The chaos run (docs/chaos.md) starts 8 processes and times their liveness: it runs after
      // every other project (a later group), so other tests' load does not stall its members.
      { extends: true, test: { name: 'chaos', include: ['test/chaos/**/*.test.ts'], sequence: { groupOrder: 1 } } },
    ],
  },
})
