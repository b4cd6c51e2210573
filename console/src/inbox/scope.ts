import { duration } from '../ui/time.js';

/** What a standing approval will cover, as the reviewer chose it in the form, and what the server adds. */
export interface StandingChoice {
  agent: string;
  /** The human the request is made for; the standing approval covers requests for that human only (or for nobody). */
  onBehalfOf: string | null;
  action: string;
  resource: string;
  /** The rules that escalated the request: only requests escalated by these (or some of them) are covered. */
  rules: readonly string[];
  /** Empty for the exact resource (the narrowest, and the default). */
  resources: string;
  sameParams: boolean;
  /** The params were changed by a reviewer: the server covers only these params, whatever `sameParams` says. */
  amended: boolean;
  forSeconds: number;
}

/** The longest a standing approval may last (the server refuses more). */
export const MAX_STANDING_SECONDS = 24 * 60 * 60;

/** Durations offered for a standing approval or an extension: a day at most. */
export const DURATIONS = [
  { seconds: 15 * 60, label: '15 minutes' },
  { seconds: 60 * 60, label: '1 hour' },
  { seconds: 4 * 60 * 60, label: '4 hours' },
  { seconds: MAX_STANDING_SECONDS, label: '24 hours' },
];

const list = (items: readonly string[]) => (items.length === 1 ? `rule ${items[0]}` : `rules ${items.join(', ')} (or some of them)`);

/**
 * The scope in words, shown before saving, saying exactly what the server will cover (see
 * `src/approvals/standing.ts`): new requests only, by the same agent for the same human, the same
 * action, the resource or glob, the params if asked (always after a change of params), escalated
 * only by the rules that escalated this one, until when.
 */
export function describeScope(choice: StandingChoice, now = Date.now()): string {
  const glob = choice.resources.trim();
  const where =
    glob && glob !== choice.resource
      ? `any resource matching the glob ${glob} (* is any characters within one /-separated segment, ** any number of segments)`
      : `exactly ${choice.resource} (no other resource)`;
  const forWhom = choice.onBehalfOf ? `acting for ${choice.onBehalfOf}` : 'acting for nobody';
  const params = choice.sameParams || choice.amended ? 'with exactly the params shown' : 'with any params';
  const rules = choice.rules.length ? `escalated only by ${list(choice.rules)}` : "escalated by the policy's default";
  const until = new Date(now + choice.forSeconds * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return (
    `For the next ${duration(choice.forSeconds * 1000)} (until about ${until}), your approval will also count for each new request by ${choice.agent} ` +
    `${forWhom} to ${choice.action} on ${where}, ${params}, ${rules}. Requests already waiting are not covered. ` +
    'Quorum, groups, separation of duties and blocks still apply, and you can revoke it under Standing approvals.'
  );
}
