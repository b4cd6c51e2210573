export * from './types.js';
export * from './validate.js';
export * from './compile.js';
export * from './evaluate.js';
