/** Placeholder until this view lands. */
export function InboxView() {
  return <h1>Inbox</h1>;
}
