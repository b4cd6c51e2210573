export * from './types.js';
export * from './validate.js';
export * from './compile.js';
export * from './evaluate.js';
export { readPolicyDocument } from './read.js';
export * from './redaction-paths.js';
export { CEL_LIMITS } from './cel.js';
export { EXPLAINED_CANDIDATES } from './explain.js';
export type { RuleIndex } from './rule-index.js';
