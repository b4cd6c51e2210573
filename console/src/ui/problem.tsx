import { Text } from './text.js';

/** An error shown in place (never a blank page): what failed, in the server's words (which may quote what an agent sent). */
export function Problem({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  return (
    <p role="alert" class="error">
      {prefix ? `${prefix}: ` : ''}
      <Text value={message} limit={600} />
    </p>
  );
}
