import { duration } from '../ui/time.js';

/** What a standing approval will cover, as the reviewer chose it in the form. */
export interface StandingChoice {
  agent: string;
  action: string;
  resource: string;
  /** Empty for the exact resource (the narrowest, and the default). */
  resources: string;
  sameParams: boolean;
  forSeconds: number;
}

/** The longest a standing approval may last (the server refuses more). */
export const MAX_STANDING_SECONDS = 24 * 60 * 60;

/** The choices offered for how long; a day at most. */
export const STANDING_DURATIONS = [
  { seconds: 15 * 60, label: '15 minutes' },
  { seconds: 60 * 60, label: '1 hour' },
  { seconds: 4 * 60 * 60, label: '4 hours' },
  { seconds: MAX_STANDING_SECONDS, label: '24 hours' },
];

/** The scope in words, shown before saving: who, what, where, with which params, until when. */
export function describeScope(choice: StandingChoice, now = Date.now()): string {
  const where = choice.resources.trim()
    ? `any resource matching ${choice.resources.trim()}`
    : `exactly ${choice.resource} (no other resource)`;
  const params = choice.sameParams ? 'with exactly these params' : 'with any params';
  const until = new Date(now + choice.forSeconds * 1000).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
  return `Your approval will also count for every request by ${choice.agent} to ${choice.action} on ${where}, ${params}, for the next ${duration(choice.forSeconds * 1000)} (until about ${until}). Other rules still apply: quorum, separation of duties and blocks.`;
}
