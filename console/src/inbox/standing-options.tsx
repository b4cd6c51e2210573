import { plainLabel } from '../ui/fidelity.js';
import { Text } from '../ui/text.js';
import { describeScope, DURATIONS, type StandingChoice } from './scope.js';

interface Props {
  id: string;
  choice: StandingChoice;
  onChange: (choice: StandingChoice) => void;
}

/**
 * The scope of a standing approval: the exact resource unless the reviewer widens it, any params
 * unless "same params", for a chosen time; always shown in words before saving.
 */
export function StandingOptions({ id, choice, onChange }: Props) {
  return (
    <fieldset class="standing">
      <legend>Standing approval</legend>
      <label for={`${id}-resources`}>Resources (a glob; leave empty for exactly this one)</label>
      <input
        id={`${id}-resources`}
        value={choice.resources}
        placeholder={plainLabel(choice.resource)}
        maxLength={256}
        onInput={(event) => onChange({ ...choice, resources: (event.target as HTMLInputElement).value })}
      />
      <label class="inline">
        <input
          type="checkbox"
          checked={choice.sameParams || choice.amended}
          disabled={choice.amended}
          onChange={(event) => onChange({ ...choice, sameParams: (event.target as HTMLInputElement).checked })}
        />{' '}
        Only with the same params{choice.amended ? ' (always, after a change of params)' : ''}
      </label>
      <label for={`${id}-for`}>For</label>
      <select
        id={`${id}-for`}
        value={String(choice.forSeconds)}
        onChange={(event) => onChange({ ...choice, forSeconds: Number((event.target as HTMLSelectElement).value) })}
      >
        {DURATIONS.map((option) => (
          <option key={option.seconds} value={String(option.seconds)}>
            {option.label}
          </option>
        ))}
      </select>
      <p class="scope" role="note">
        <Text value={describeScope(choice)} limit={2000} />
      </p>
    </fieldset>
  );
}
