import { defineConfig } from 'drizzle-kit';

// Used only by `npx drizzle-kit generate` (npm run db:generate); the application applies the
// generated SQL itself at start-up, so no connection settings are needed here.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
