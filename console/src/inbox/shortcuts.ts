import type { RefObject } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { Item } from './queue.js';

const typing = (target: EventTarget | null) =>
  target instanceof HTMLElement && (target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName));

/**
 * The inbox's keys, outside text fields: j/k (or arrows) move between requests, a approves, r
 * rejects, c focuses the comment (Escape leaves it), x selects for a batch. The keys press the same buttons a mouse
 * would, so they act on exactly what is shown.
 */
export function useShortcuts(
  list: RefObject<HTMLUListElement>,
  items: Item[],
  current: number,
  setCurrent: (index: number) => void,
  toggleSelected: (id: string) => void,
): void {
  // The listener is registered once and reads the latest state: keys pressed faster than effects
  // run must not act on a stale item.
  const latest = useRef({ items, current, setCurrent, toggleSelected });
  latest.current = { items, current, setCurrent, toggleSelected };
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      const { items, current, setCurrent, toggleSelected } = latest.current;
      // Escape leaves a text field, so the keys work again.
      if (event.key === 'Escape' && typing(event.target)) return void (event.target as HTMLElement).blur();
      if (event.altKey || event.ctrlKey || event.metaKey || typing(event.target) || items.length === 0) return;
      const element = (index: number) => list.current?.querySelectorAll<HTMLElement>('[data-item]')[index];
      const here = element(current);
      const move = (to: number) => {
        const index = Math.max(0, Math.min(items.length - 1, to));
        latest.current.current = index;
        setCurrent(index);
        element(index)?.focus();
        element(index)?.scrollIntoView({ block: 'nearest' });
      };
      const press = (selector: string) => here?.querySelector<HTMLElement>(selector)?.click();
      switch (event.key) {
        case 'j':
        case 'ArrowDown':
          move(current + 1);
          break;
        case 'k':
        case 'ArrowUp':
          move(current - 1);
          break;
        case 'a':
          press('button[data-action="approve"]');
          break;
        case 'r':
          press('button[data-action="reject"]');
          break;
        case 'c':
          here?.querySelector<HTMLElement>('[data-role="comment"]')?.focus();
          break;
        case 'x':
          if (items[current]) toggleSelected(items[current]!.id);
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
