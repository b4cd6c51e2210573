import { generate } from '@graphql-codegen/cli';
import { build } from 'esbuild';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import codegenConfig from '../../codegen.js';

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

describe('the SDK package (greenlight/client)', () => {
  it('types its documents, and the console ones, with the checked-in codegen output (run `npm run codegen` after changing them)', async () => {
    const outputs = (await generate({ ...codegenConfig, cwd: root('.'), silent: true }, false)) as { filename: string; content: string }[];
    // codegen finishes its outputs in no fixed order: the set is what matters.
    expect(outputs.map((output) => output.filename.replace(/^.*?((console\/)?src\/)/, '$1')).sort()).toEqual([
      'console/src/generated/graphql.ts',
      'src/client/generated/graphql.ts',
    ]);
    for (const output of outputs)
      expect(readFileSync(root(output.filename.replace(/^.*?((console\/)?src\/)/, '$1')), 'utf8'), output.filename).toBe(output.content);
  });

  it('bundles for the browser with no Node built-ins and no ws', async () => {
    const result = await build({
      entryPoints: [root('src/client/index.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.some((input) => input.includes('node_modules/jose/'))).toBe(true);
    expect(inputs.filter((input) => input.includes('node_modules/ws/') || input.startsWith('node:'))).toEqual([]);
    expect(result.outputFiles[0]!.text).not.toMatch(/from ["']node:|require\(["'](ws|node:)/);
  });

  it('exports compiled JavaScript and type declarations, built by the install (prepare)', () => {
    const manifest = JSON.parse(readFileSync(root('package.json'), 'utf8'));
    expect(manifest.scripts.prepare.split(' && ')).toEqual(expect.arrayContaining(['npm run build:client', 'npm run build:console']));
    expect(manifest.exports['./client']).toEqual({
      types: './dist/client/index.d.ts',
      node: './dist/client/node.js',
      default: './dist/client/index.js',
    });
    // Every file an export names exists, for each of its conditions.
    const targets = Object.values(manifest.exports as Record<string, string | Record<string, string>>).flatMap((target) =>
      typeof target === 'string' ? [target] : Object.values(target),
    );
    expect(targets).toEqual(expect.arrayContaining(['./dist/client/ai-sdk.js', './dist/client/openai-agents.js']));
    for (const file of [...targets, './dist/client/generated/graphql.d.ts']) expect(existsSync(root(file)), file).toBe(true);
  });
});
