/** Presentation helpers shared by the dashboard's components. */
import type { Role } from '../../shared/core/election.js';
import type { NodeRunState } from '../../shared/protocol/types.js';

/** A stable colour per term, so "this node is behind" shows at a glance (golden-angle hues). */
export function termColor(term: number): string {
  return `hsl(${Math.round((term * 137.508) % 360)} 70% 58%)`;
}

export const ROLE_LABELS: Record<Role, string> = {
  leader: 'leader',
  candidate: 'candidate',
  precandidate: 'pre-candidate',
  follower: 'follower',
};

/** A role, or why a node does not run, in words. */
export function stateText(state: Role | 'down' | 'paused'): string {
  return state === 'down' || state === 'paused' ? state : ROLE_LABELS[state];
}

/** The one word shown for a node's state: its role while it runs, else why it does not. */
export function stateLabel(status: NodeRunState, role: Role | null): string {
  if (status !== 'up') return stateText(status);
  return role === null ? 'unknown' : stateText(role);
}

/** "850 ms", "12.4 s", "3 min 05 s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '—';
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.floor((ms % 60_000) / 1_000);
  return `${minutes} min ${String(seconds).padStart(2, '0')} s`;
}

/** Wall-clock time of day with milliseconds: 14:03:27.512. */
export function formatClock(epochMs: number): string {
  const date = new Date(epochMs);
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}`;
}
