/** Placeholder until this view lands. */
export function AdminView() {
  return <h1>Admin</h1>;
}
