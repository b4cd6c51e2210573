import { Text } from '../ui/text.js';
import { DecidePanel } from './decide.js';
import { Countdown, Details, FlagSummary } from './details.js';
import type { Item } from './queue.js';
import type { Queue } from './use-queue.js';

interface Props {
  item: Item;
  queue: Queue;
  current: boolean;
  selected: boolean;
  onSelect: (selected: boolean) => void;
  onFocus: () => void;
}

/** One pending request: everything needed to judge it, and the controls to decide it. */
export function InboxItem({ item, queue, current, selected, onSelect, onFocus }: Props) {
  const title = `item-${item.id}-title`;
  return (
    <li
      class={`item card${current ? ' current' : ''}${item.remindedAt ? ' expiring' : ''}`}
      data-item={item.id}
      tabIndex={-1}
      aria-labelledby={title}
      onFocusIn={onFocus}
    >
      <div class="item-head">
        <input
          type="checkbox"
          class="select"
          checked={selected}
          aria-labelledby={`${title}-select ${title}`}
          onChange={(event) => onSelect((event.target as HTMLInputElement).checked)}
        />
        <span id={`${title}-select`} class="visually-hidden">
          Select for a batch decision:
        </span>
        <h2 id={title}>
          <Text value={item.action} limit={80} strict /> <span class="muted">on</span> <Text value={item.resource} limit={120} strict />
        </h2>
        <Countdown item={item} />
      </div>
      <FlagSummary item={item} />
      <Details item={item} />
      <DecidePanel key={`${item.id}:${item.revision}`} item={item} queue={queue} />
    </li>
  );
}
