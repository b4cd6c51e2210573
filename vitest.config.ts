import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships both CommonJS and .mjs builds. Yoga and graphql-ws load the CommonJS one
    // through Node; without this alias Vite would hand our code the .mjs one, and errors created
    // by one copy would fail the other copy's `instanceof GraphQLError` (and be masked).
    alias: { graphql: 'graphql/index.js' },
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Each file starts its own app (and, on PostgreSQL, its own database): give start-up room.
    testTimeout: 30_000, // 30 seconds
    hookTimeout: 60_000, // 60 seconds
    pool: 'forks',
    // Two cores: more workers than that only queue up behind each other.
    maxWorkers: 2,
  },
});
