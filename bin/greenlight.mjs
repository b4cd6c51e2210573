#!/usr/bin/env node
// The `greenlight` command (package bin): the TypeScript CLI run through tsx, which the package
// depends on, so `npx greenlight …` works in a checkout with nothing built.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
