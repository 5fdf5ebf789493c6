/** Presentation helpers shared by the dashboard's components. */
import type { Role } from '../../shared/core/election.js';
import type { Capabilities, CapabilityValue } from '../../shared/core/leadership.js';
import { describeRule } from '../../shared/protocol/leadership.js';
import { ValidationError } from '../../shared/protocol/validate.js';
import type { ClusterEvent, NodeRunState, NodeView } from '../../shared/protocol/types.js';

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

/** How a node is drawn (its data-state): unreachable before all else (what it shows is what it last said), then why it does not run, then its role. */
export function nodeStateKey(node: NodeView): string {
  if (node.reachable === false && node.status !== 'down') return 'unreachable';
  return node.status === 'up' ? (node.role ?? 'unknown') : node.status;
}

/** A node's state in words: "unreachable" (the console cannot reach it), else its role or why it does not run. */
export function nodeStateLabel(node: NodeView): string {
  return nodeStateKey(node) === 'unreachable' ? 'unreachable' : stateLabel(node.status, node.role);
}

/** For a node the console cannot reach: what it last said, and what its peers say, for a title or the details. */
export function reachabilityText(node: NodeView): string | null {
  if (nodeStateKey(node) !== 'unreachable') return null;
  return `Last said: ${stateLabel(node.status, node.role)} in term ${node.term}. ${node.reachability ?? 'This console cannot reach it.'}`;
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

/** A node's priority in a few characters: "P3", "P0 never leads"; null where the runtime has none (etcd). */
export function priorityBadge(priority: number | undefined): string | null {
  if (priority === undefined) return null;
  return priority === 0 ? 'P0 never leads' : `P${priority}`;
}

/** A node's priority in words, for accessible names: "priority 3", "priority 0, never leads". */
export function priorityWords(priority: number | undefined): string | null {
  if (priority === undefined) return null;
  return priority === 0 ? 'priority 0, never leads' : `priority ${priority}`;
}

const LOOKS_TYPED = /^(true|false|-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)$/;

/** Capabilities as one line that capabilitiesFromText reads back: "loadavg=0.4, zone=a, ssd=true" (strings that would read otherwise are quoted). */
export function capabilitiesText(capabilities: Capabilities | undefined): string {
  return Object.entries(capabilities ?? {})
    .map(([key, value]) => {
      const quote = typeof value === 'string' && (value === '' || LOOKS_TYPED.test(value) || /[",=]|^\s|\s$/.test(value));
      return `${key}=${quote ? JSON.stringify(value) : String(value)}`;
    })
    .join(', ');
}

/**
 * Reads "loadavg=0.4, zone=a, ssd=true, label=\"a, b\"": true and false are booleans, numbers
 * are numbers, anything else (or quoted) a string. Throws a ValidationError naming `path` when a
 * piece is not key=value or a key repeats; the bounds are parseCapabilities' to check.
 */
export function capabilitiesFromText(text: string, path: string): Record<string, CapabilityValue> {
  const capabilities: Record<string, CapabilityValue> = {};
  const piece = /\s*([^=,]*?)\s*=\s*("(?:[^"\\]|\\.)*"|[^,]*?)\s*(?:,|$)/y;
  let rest = text.trim();
  while (rest !== '') {
    piece.lastIndex = 0;
    const match = piece.exec(rest);
    if (match === null || match[1] === '') {
      const shown = rest.split(',')[0]!.trim();
      throw new ValidationError(`${path}: "${shown.slice(0, 40)}" is not key=value (like loadavg=0.4, zone=a, ssd=true)`);
    }
    const [whole, key, raw] = match as unknown as [string, string, string];
    if (key in capabilities) throw new ValidationError(`${path}: "${key}" is given twice`);
    if (raw.startsWith('"')) {
      try {
        capabilities[key] = JSON.parse(raw) as string;
      } catch {
        throw new ValidationError(`${path}.${key}: ${raw.slice(0, 40)} is not a well-quoted string`);
      }
    } else if (raw === 'true' || raw === 'false') capabilities[key] = raw === 'true';
    else if (LOOKS_TYPED.test(raw)) capabilities[key] = Number(raw);
    else capabilities[key] = raw;
    rest = rest.slice(whole.length).trim();
  }
  return capabilities;
}

/**
 * Events about who should lead, in words for the history: priority and capability changes, the
 * rules, and handovers a leader started on its own (with the reason it gave). Null for others.
 */
export function leadershipEventText(event: ClusterEvent): string | null {
  switch (event.type) {
    case 'priority':
      return `${event.nodeId}: priority ${event.previous} → ${event.priority}${event.priority === 0 ? ' (never leads)' : ''}`;
    case 'capabilities':
      return `${event.nodeId} advertises ${capabilitiesText(event.capabilities) || 'nothing'}`;
    case 'leadership':
      return `takeover after ${formatDuration(event.takeoverAfterMs)}; preferred leader ${event.preferredLeader === null ? 'off' : describeRule(event.preferredLeader)}`;
    case 'transfer':
      return event.reason === undefined ? `${event.from} asked to hand leadership to ${event.to}` : `${event.from} hands leadership to ${event.to}: ${event.reason}`;
    default:
      return null;
  }
}
