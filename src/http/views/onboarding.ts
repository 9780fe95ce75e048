import { html } from 'hono/html';
import type { Html } from './layout.ts';

/**
 * The console's onboarding checklist: each step of setting a tenant up, its state read from the
 * tenant's own rows, and the next action. Steps that are optional say so.
 */
export type StepState = 'done' | 'todo' | 'attention' | 'optional' | 'unavailable';

export interface OnboardingStep {
  title: string;
  state: StepState;
  detail: string;
  /** A link or a same-origin form button for the next action. */
  action?: { kind: 'link'; href: string; label: string } | { kind: 'post'; action: string; label: string };
}

const LABEL: Record<StepState, string> = {
  done: 'Done',
  todo: 'To do',
  attention: 'Needs attention',
  optional: 'Optional',
  unavailable: 'Not available here',
};

export function onboardingChecklist(steps: OnboardingStep[], admin: boolean): Html {
  const counted = steps.filter((s) => s.state !== 'optional' && s.state !== 'unavailable');
  const done = counted.filter((s) => s.state === 'done').length;
  return html`<section aria-labelledby="onboarding-title">
<h2 id="onboarding-title">Set-up</h2>
<p class="muted">${done} of ${counted.length} steps done.</p>
<ol class="checklist">
${steps.map(
  (s) => html`<li class="step step-${s.state}">
<span class="badge">${LABEL[s.state]}</span> <strong>${s.title}</strong>
<p>${s.detail}</p>
${
  s.action && s.state !== 'done' && admin
    ? s.action.kind === 'link'
      ? html`<p><a href="${s.action.href}">${s.action.label}</a></p>`
      : html`<form method="post" action="${s.action.action}"><button type="submit">${s.action.label}</button></form>`
    : ''
}
</li>`,
)}
</ol>
</section>`;
}
