/** The typed errors a mutation payload carries, in words (an InvalidInputError by its problems, field by field). */
export function errorText(
  errors: readonly { message: string; problems?: readonly { field: string; message: string }[] | null }[],
): string | null {
  if (errors.length === 0) return null;
  return errors
    .map((error) => (error.problems?.length ? error.problems.map((p) => `${p.field}: ${p.message}`).join('; ') : error.message))
    .join(' ');
}
