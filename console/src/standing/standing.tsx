/** Placeholder until this view lands. */
export function StandingView() {
  return <h1>Standing approvals</h1>;
}
