import { useRef, useState } from 'preact/hooks';
import { DelegationsSection } from './delegations.js';
import { PoliciesSection } from './policies.js';
import { PrincipalsSection } from './principals.js';
import './admin.css';

const SECTIONS = [
  { id: 'principals', label: 'Principals and tokens', component: PrincipalsSection },
  { id: 'delegations', label: 'Delegations', component: DelegationsSection },
  { id: 'policies', label: 'Policy versions', component: PoliciesSection },
] as const;

type SectionId = (typeof SECTIONS)[number]['id'];

/**
 * The admin view (role ADMIN): principals and their tokens, delegations, policy versions. Its
 * sections are tabs (the WAI-ARIA pattern: arrow keys move between them, Tab moves into the panel).
 */
export function AdminView() {
  const [current, setCurrent] = useState<SectionId>('principals');
  const tabs = useRef<(HTMLButtonElement | null)[]>([]);
  const index = SECTIONS.findIndex((section) => section.id === current);
  const Section = SECTIONS[index]!.component;

  function onKeyDown(event: KeyboardEvent) {
    const moves: Record<string, number> = { ArrowRight: index + 1, ArrowLeft: index - 1, Home: 0, End: SECTIONS.length - 1 };
    if (!(event.key in moves)) return;
    event.preventDefault();
    const next = (moves[event.key]! + SECTIONS.length) % SECTIONS.length;
    setCurrent(SECTIONS[next]!.id);
    tabs.current[next]?.focus();
  }

  return (
    <div class="admin">
      <h1>Admin</h1>
      <div class="tabs" role="tablist" aria-label="Admin sections" onKeyDown={onKeyDown}>
        {SECTIONS.map((section, i) => (
          <button
            key={section.id}
            ref={(element) => {
              tabs.current[i] = element;
            }}
            type="button"
            role="tab"
            id={`admin-tab-${section.id}`}
            aria-selected={section.id === current}
            aria-controls={`admin-panel-${section.id}`}
            tabIndex={section.id === current ? 0 : -1}
            onClick={() => setCurrent(section.id)}
          >
            {section.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={`admin-panel-${current}`} aria-labelledby={`admin-tab-${current}`}>
        <Section />
      </div>
    </div>
  );
}
