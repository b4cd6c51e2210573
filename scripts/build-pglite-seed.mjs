// Builds lib/pglite-seed.tar.gz: an empty PGlite data folder with every migration in drizzle/
// applied, as PGlite's own dumpDataDir() writes it. A first start on an empty DATA_DIR (and each
// in-memory database the tests make) unpacks it instead of running initdb in WebAssembly and every
// migration: seconds saved on the start users wait through. lib/pglite-seed.json names the PGlite
// version that wrote it; another version ignores it. Migrations added since are applied as usual.
// Run by `npm install` (the prepare script).
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const pgliteDir = dirname(dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite')));
const { version } = JSON.parse(readFileSync(join(pgliteDir, 'package.json'), 'utf8'));

const db = new PGlite();
await migrate(drizzle(db), { migrationsFolder: join(root, 'drizzle') });
// Everything on disk (in PGlite's memory file system) before it is packed.
await db.exec('CHECKPOINT');
const dump = await db.dumpDataDir('gzip');
await db.close();
mkdirSync(join(root, 'lib'), { recursive: true });
writeFileSync(join(root, 'lib', 'pglite-seed.tar.gz'), Buffer.from(await dump.arrayBuffer()));
writeFileSync(join(root, 'lib', 'pglite-seed.json'), `${JSON.stringify({ pgliteVersion: version })}\n`);
