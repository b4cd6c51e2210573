import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { printSchema } from 'graphql';
import { buildSortedSchema } from '../src/graphql/schema.js';

/** Writes schema/schema.graphql from the Pothos schema (npm run schema). A test fails when it is stale. */
const target = fileURLToPath(new URL('../schema/schema.graphql', import.meta.url));
writeFileSync(target, `${printSchema(buildSortedSchema())}\n`);
console.log(`wrote ${target}`);
