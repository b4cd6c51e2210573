/** Placeholder until this view lands. */
export function AuditLogView() {
  return <h1>Audit log</h1>;
}
