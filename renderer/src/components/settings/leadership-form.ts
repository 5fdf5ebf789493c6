/**
 * The settings that say who should lead an embedded cluster (docs/priorities.md): each node's
 * priority and capabilities, the takeover delay and the preferred-leader rule, as typed, into the
 * `/control` commands that set them, or a clear error to show where the user typed. The bounds
 * are the protocol's own (shared/protocol/leadership.ts), checked by its own parsers.
 */
import { MAX_PRIORITY } from '../../../../shared/core/leadership.js';
import { MAX_LEADERSHIP_MS, parseCapabilities, parseLeadershipChange } from '../../../../shared/protocol/leadership.js';
import type { Command, LeadershipView } from '../../../../shared/protocol/types.js';
import { capabilitiesFromText } from '../../format.js';

/** A number field as v-model.number leaves it: '' when blank (or not a number). */
export type NumberField = number | '';

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** A priority as typed (a number field's text, or its number). */
export function checkPriority(nodeId: string, typed: NumberField | string): Checked<Extract<Command, { type: 'priority' }>> {
  const text = String(typed).trim();
  const value = text === '' ? NaN : Number(text);
  if (!Number.isInteger(value) || value < 0 || value > MAX_PRIORITY) {
    return { ok: false, error: `The priority of ${nodeId} must be a whole number from 0 (never leads) to ${MAX_PRIORITY}${text === '' ? '' : ` (got ${text.slice(0, 20)})`}` };
  }
  return { ok: true, value: { type: 'priority', nodeId, priority: value } };
}

export function checkCapabilities(nodeId: string, text: string): Checked<Extract<Command, { type: 'capabilities' }>> {
  try {
    const capabilities = parseCapabilities(capabilitiesFromText(text, `Capabilities of ${nodeId}`), `Capabilities of ${nodeId}`);
    return { ok: true, value: { type: 'capabilities', nodeId, capabilities } };
  } catch (error) {
    return { ok: false, error: message(error) };
  }
}

/** The rules as the form holds them: a blank takeover delay is the default one. */
export interface LeadershipForm {
  takeoverAfterMs: NumberField;
  rule: boolean;
  capability: string;
  prefer: 'lowest' | 'highest';
  margin: NumberField;
  stableMs: NumberField;
}

export function leadershipForm(view: LeadershipView | undefined, defaultTakeoverMs: number): LeadershipForm {
  const rule = view?.preferredLeader ?? null;
  return {
    takeoverAfterMs: view === undefined || view.takeoverAfterMs === defaultTakeoverMs ? '' : view.takeoverAfterMs,
    rule: rule !== null,
    capability: rule?.capability ?? 'loadavg',
    prefer: rule?.prefer ?? 'lowest',
    margin: rule?.margin ?? 0.5,
    stableMs: rule?.stableMs ?? 10_000,
  };
}

/** Which field of the rules an error is about, so it is shown beside that field. */
export type LeadershipField = 'takeoverAfterMs' | 'capability' | 'margin' | 'stableMs';

export function checkLeadership(form: LeadershipForm): Checked<Extract<Command, { type: 'leadership' }>> & { field?: LeadershipField } {
  if (form.takeoverAfterMs !== '' && (!Number.isInteger(form.takeoverAfterMs) || form.takeoverAfterMs < 1 || form.takeoverAfterMs > MAX_LEADERSHIP_MS)) {
    return { ok: false, field: 'takeoverAfterMs', error: `The takeover delay must be a whole number of ms from 1 to ${MAX_LEADERSHIP_MS}, or blank for the default` };
  }
  const input: Record<string, unknown> = { takeoverAfterMs: form.takeoverAfterMs === '' ? null : form.takeoverAfterMs, preferredLeader: null };
  if (form.rule) {
    if (form.margin === '') return { ok: false, field: 'margin', error: 'The margin must be a number, 0 or more (above the capability\'s noise)' };
    if (form.stableMs === '') return { ok: false, field: 'stableMs', error: 'The stable period must be a whole number of ms' };
    input.preferredLeader = { capability: form.capability.trim(), prefer: form.prefer, margin: form.margin, stableMs: form.stableMs };
  }
  try {
    return { ok: true, value: { type: 'leadership', ...parseLeadershipChange(input, 'The rules') } };
  } catch (error) {
    const text = message(error);
    const field = (['capability', 'margin', 'stableMs'] as const).find((name) => text.includes(`preferredLeader.${name}`));
    return { ok: false, error: text.replace('The rules.preferredLeader.', 'The rule\'s '), ...(field === undefined ? {} : { field }) };
  }
}
