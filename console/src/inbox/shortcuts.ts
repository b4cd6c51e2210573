import type { RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { Item } from './queue.js';

const typing = (target: EventTarget | null) =>
  target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

interface State {
  items: Item[];
  /** The request the keys act on, by id (never by position: the list moves under the reviewer). */
  currentId: string | null;
  setCurrent: (id: string) => void;
  toggleSelected: (id: string) => void;
  /** Off while a dialog (the batch confirmation) is open. */
  enabled: boolean;
}

/**
 * The inbox's keys, outside text fields: j/k (or arrows) move between requests and focus them, a
 * approves, r rejects, c focuses the comment (Escape goes back to the request), x selects for a
 * batch. a, r and x act only on the request that holds the focus, only on a fresh key press (a
 * held key does not approve the next request sliding into place), and press the same buttons a
 * mouse would, so they act on exactly what is shown.
 */
export function useShortcuts(list: RefObject<HTMLUListElement>, state: State): void {
  // The listener is registered once and reads the latest state: keys pressed faster than effects
  // run must not act on a stale item.
  const latest = useRef(state);
  latest.current = state;
  useEffect(() => {
    const elementOf = (id: string | null) =>
      id === null ? null : (list.current?.querySelector<HTMLElement>(`[data-item="${CSS.escape(id)}"]`) ?? null);
    const onKey = (event: KeyboardEvent) => {
      const { items, currentId, setCurrent, toggleSelected, enabled } = latest.current;
      if (!enabled || event.altKey || event.ctrlKey || event.metaKey || items.length === 0) return;
      if (typing(event.target)) {
        if (event.key !== 'Escape') return;
        const item = (event.target as HTMLElement).closest<HTMLElement>('[data-item]');
        if (item) item.focus();
        else (event.target as HTMLElement).blur();
        return;
      }
      const here = elementOf(currentId);
      const focused = here !== null && here.contains(document.activeElement);
      const index = Math.max(
        0,
        items.findIndex((item) => item.id === currentId),
      );
      const move = (to: number) => {
        const next = items[Math.max(0, Math.min(items.length - 1, to))]!;
        latest.current = { ...latest.current, currentId: next.id };
        setCurrent(next.id);
        const element = elementOf(next.id);
        element?.focus();
        element?.scrollIntoView({ block: 'nearest' });
      };
      const press = (selector: string) => here?.querySelector<HTMLElement>(selector)?.click();
      const acts = focused && !event.repeat;
      switch (event.key) {
        // The first press brings the focus to the current request; the next ones move.
        case 'j':
        case 'ArrowDown':
          move(focused ? index + 1 : index);
          break;
        case 'k':
        case 'ArrowUp':
          move(focused ? index - 1 : index);
          break;
        case 'a':
          if (acts) press('button[data-action="approve"]');
          break;
        case 'r':
          if (acts) press('button[data-action="reject"]');
          break;
        case 'c':
          if (focused) here?.querySelector<HTMLElement>('[data-role="comment"]')?.focus();
          break;
        case 'x':
          if (acts && currentId) toggleSelected(currentId);
          break;
        default:
          return;
      }
      event.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);
}
