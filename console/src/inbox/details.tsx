import { flagsIn, FLAG_LABELS, type FlagKind } from '../ui/fidelity.js';
import { Json } from '../ui/json.js';
import { Text } from '../ui/text.js';
import { duration, useNow, when } from '../ui/time.js';
import { diffJson } from './json-diff.js';
import { ChangeList } from './change-list.js';
import type { Item } from './queue.js';

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A warning above a request holding characters that hide or disguise text, counted by kind. */
export function FlagSummary({ item }: { item: Item }) {
  const counts = flagsIn([item.action, item.resource], new Map(), true);
  flagsIn([item.reason, item.params, item.amendedParams, item.context, item.agent.name, item.onBehalfOf?.name ?? ''], counts);
  if (counts.size === 0) return null;
  const parts = [...counts].map(([kind, n]) => plural(n, FLAG_LABELS[kind as FlagKind]));
  return (
    <p class="flags" role="note">
      <strong>Look closely:</strong> this request holds {parts.join(', ')}. They are shown as their code points (⟨U+…⟩) and never applied;
      look-alike letters are marked.
    </p>
  );
}

/** Time left before the deadline, and the next escalation step, ticking; marked once reviewers were reminded. */
export function Countdown({ item }: { item: Item }) {
  const now = useNow();
  const parts: string[] = [];
  if (item.expiresAt) {
    const left = Date.parse(item.expiresAt) - now;
    parts.push(left > 0 ? `Deadline in ${duration(left)}` : 'Deadline passed: closing');
  }
  if (item.nextEscalationAt) {
    const step = item.reviewRequirements.map((r) => r.escalation[r.escalationStepsReached]).find((s) => s !== undefined);
    const left = Math.max(0, Date.parse(item.nextEscalationAt) - now);
    parts.push(`next escalation in ${duration(left)}${step ? `: adds ${step.groups.join(', ')}` : ''}`);
  }
  if (parts.length === 0) return null;
  return (
    <p class="countdown" title={item.expiresAt ? `Deadline ${when(item.expiresAt)}` : undefined}>
      {item.remindedAt ? (
        <strong class="expiring" title={`Reminder sent ${when(item.remindedAt)}`}>
          Expiring soon
        </strong>
      ) : null}{' '}
      {parts.join('; ')}
      {item.extensions > 0 ? ` (extended ${plural(item.extensions, 'time')})` : ''}
    </p>
  );
}

/** Each requirement's progress toward quorum, and who approved already. */
export function Requirements({ item }: { item: Item }) {
  return (
    <ul class="requirements">
      {item.reviewRequirements.map((requirement, i) => (
        <li key={requirement.ruleId ?? i}>
          <progress
            max={requirement.approvals}
            value={requirement.approvalsReceived}
            aria-label={`Approvals for ${requirement.ruleId ?? 'any reviewer'}`}
          />{' '}
          <strong>
            {requirement.approvalsReceived} of {requirement.approvals}
          </strong>{' '}
          from {requirement.groups.length ? requirement.groups.join(' or ') : 'any reviewer'}
          {requirement.ruleId ? (
            <>
              {' '}
              (rule <code>{requirement.ruleId}</code>)
            </>
          ) : null}
          {requirement.met ? ' — met' : ''}
          {requirement.approvers.length > 0 && (
            <>
              {'. Approved by '}
              {requirement.approvers.map((approver, j) => (
                <>
                  {j > 0 && ', '}
                  <Text value={approver.name} />
                </>
              ))}
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

/** Who asks, for whom, why, with which params, and why the policy wants a person. */
export function Details({ item }: { item: Item }) {
  const amended = item.amendedParams != null;
  const context = item.context && typeof item.context === 'object' && Object.keys(item.context).length > 0;
  return (
    <>
      <dl class="facts">
        <dt>Resource</dt>
        <dd>
          <Text value={item.resource} limit={1000} strict />
        </dd>
        <dt>Agent</dt>
        <dd>
          <Text value={item.agent.name} />
        </dd>
        <dt>On behalf of</dt>
        <dd>{item.onBehalfOf ? <Text value={item.onBehalfOf.name} /> : <span class="muted">nobody: the agent acts for itself</span>}</dd>
        <dt>Reason</dt>
        <dd>{item.reason ? <Text value={item.reason} /> : <span class="muted">none given</span>}</dd>
        <dt>Requested</dt>
        <dd>{when(item.createdAt)}</dd>
      </dl>
      <h3>{amended ? `Params, as changed by a reviewer (revision ${item.revision})` : 'Params'}</h3>
      <Json value={amended ? item.amendedParams : item.params} path={['params']} redactPaths={item.redactPaths} />
      {amended && (
        <>
          <p class="muted">Changes from the agent's params (earlier approvals no longer count):</p>
          <ChangeList changes={diffJson(item.params, item.amendedParams)} />
        </>
      )}
      {context && (
        <>
          <h3>Context</h3>
          <Json value={item.context} path={['context']} redactPaths={item.redactPaths} />
        </>
      )}
      <h3>Why it needs review</h3>
      <p class="explanation">
        <Text value={item.evaluation.explanation} limit={600} />
      </p>
      <h3>Approvals</h3>
      <Requirements item={item} />
    </>
  );
}
