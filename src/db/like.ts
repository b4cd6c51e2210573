/** Text as a literal inside a LIKE pattern: its own `%`, `_` and `\` escaped. */
export const escapeLike = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);
