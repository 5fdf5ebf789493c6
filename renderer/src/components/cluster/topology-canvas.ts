/**
 * Drawing the topology's moving parts on a canvas that sits between the links and the nodes:
 * election-timer arcs, messages in flight, and, in larger clusters, link pulses that stand for
 * the heartbeats on a link instead of one dot per message. Every kind of mark is drawn as one
 * path per colour (a few fill calls a frame, whatever the number of messages).
 */
import type { MessageAggregate, MessageCategory, MessageRecord } from '../../../../shared/protocol/messages.js';
import type { Placement } from './topology-layout.js';

export type Palette = Record<MessageCategory | 'timer' | 'dropped', string>;

/** Above this many nodes, heartbeats and their replies are drawn as link pulses, not dots. */
export const PULSE_ABOVE_NODES = 12;
/** A pulse fades over this much wall time after the last message on its link. */
const PULSE_FADE_WALL_MS = 450;

/** Colours come from the theme's CSS variables, so light and dark both read well. */
export function readPalette(element: Element): Palette {
  const style = getComputedStyle(element);
  const value = (name: string, fallback: string): string => style.getPropertyValue(name).trim() || fallback;
  return {
    request: value('--role-candidate', '#f778ba'),
    granted: value('--ok', '#3fb950'),
    denied: value('--danger', '#f26d6d'),
    heartbeat: value('--role-leader', '#f2b632'),
    ack: value('--text-dim', '#9aa7b4'),
    control: value('--role-precandidate', '#c297ff'),
    timer: value('--text-dim', '#9aa7b4'),
    dropped: value('--danger', '#f26d6d'),
  };
}

export function drawTimers(
  context: CanvasRenderingContext2D,
  palette: Palette,
  placements: ReadonlyMap<string, Placement>,
  timers: ReadonlyMap<string, { startedAt: number; dueAt: number }>,
  now: number,
): void {
  context.lineWidth = 3;
  context.strokeStyle = palette.timer;
  context.beginPath();
  for (const [id, timer] of timers) {
    const place = placements.get(id);
    if (place === undefined || timer.dueAt <= timer.startedAt) continue;
    const left = Math.min(1, Math.max(0, (timer.dueAt - now) / (timer.dueAt - timer.startedAt)));
    if (left === 0) continue;
    const radius = place.r + Math.max(5, place.r * 0.35);
    context.moveTo(place.x + radius * Math.cos(-Math.PI / 2), place.y + radius * Math.sin(-Math.PI / 2));
    context.arc(place.x, place.y, radius, -Math.PI / 2, -Math.PI / 2 + left * 2 * Math.PI);
  }
  context.stroke();
}

const DOT_CATEGORIES: readonly MessageCategory[] = ['request', 'granted', 'denied', 'heartbeat', 'ack', 'control'];

/**
 * Each message travels from sender to receiver; a message shorter in flight than `minFlightMs`
 * (cluster ms) is stretched to it so it can be seen. Dropped messages stop halfway, with a cross.
 * With `pulses`, heartbeats and replies are left to drawPulses. Returns how many dots it drew.
 */
export function drawFlights(
  context: CanvasRenderingContext2D,
  palette: Palette,
  placements: ReadonlyMap<string, Placement>,
  messages: readonly MessageRecord[],
  now: number,
  minFlightMs: number,
  options: { pulses: boolean; dotScale: number },
): number {
  const paths = new Map<MessageCategory, Path2D>();
  const crosses = new Path2D();
  let drawn = 0;
  const size = options.dotScale;
  for (const message of messages) {
    if (message.sentT > now) continue;
    if (options.pulses && (message.category === 'heartbeat' || message.category === 'ack')) continue;
    const from = placements.get(message.from);
    const to = placements.get(message.to);
    if (from === undefined || to === undefined) continue;
    const flight = Math.max(minFlightMs, message.deliverT === null ? 0 : message.deliverT - message.sentT);
    const progress = (now - message.sentT) / flight;
    if (progress > 1) continue;
    const dropped = message.deliverT === null;
    const travelled = dropped ? Math.min(progress, 0.5) : progress;
    const x = from.x + (to.x - from.x) * travelled;
    const y = from.y + (to.y - from.y) * travelled;
    if (dropped && progress >= 0.5) {
      const arm = 5 * size;
      crosses.moveTo(x - arm, y - arm);
      crosses.lineTo(x + arm, y + arm);
      crosses.moveTo(x + arm, y - arm);
      crosses.lineTo(x - arm, y + arm);
      continue;
    }
    let path = paths.get(message.category);
    if (path === undefined) paths.set(message.category, (path = new Path2D()));
    addMark(path, message.category, x, y, size);
    drawn += 1;
  }
  for (const category of DOT_CATEGORIES) {
    const path = paths.get(category);
    if (path === undefined) continue;
    const color = palette[category];
    if (category === 'denied' || category === 'ack') {
      context.strokeStyle = color;
      context.lineWidth = 2;
      context.stroke(path);
    } else {
      context.fillStyle = color;
      context.fill(path);
    }
  }
  context.strokeStyle = palette.dropped;
  context.lineWidth = 2;
  context.stroke(crosses);
  return drawn;
}

function addMark(path: Path2D, category: MessageCategory, x: number, y: number, size: number): void {
  const radius = { request: 6, granted: 6, denied: 5.5, heartbeat: 3.5, ack: 3.5, control: 7 }[category] * size;
  if (category === 'control') {
    path.moveTo(x, y - radius);
    path.lineTo(x + radius, y);
    path.lineTo(x, y + radius);
    path.lineTo(x - radius, y);
    path.closePath();
    return;
  }
  path.moveTo(x + radius, y);
  path.arc(x, y, radius, 0, 2 * Math.PI);
}

/**
 * Heartbeats and replies as pulses along their links: each link with such traffic lately is
 * drawn from the sender's edge towards the receiver, brighter the more recent the last message.
 */
export function drawPulses(
  context: CanvasRenderingContext2D,
  palette: Palette,
  placements: ReadonlyMap<string, Placement>,
  messages: readonly MessageRecord[],
  now: number,
  fadeMs: number,
): void {
  const latest = new Map<string, { from: Placement; to: Placement; t: number; category: MessageCategory }>();
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.sentT > now) continue;
    if (now - message.sentT > fadeMs) break;
    if (message.category !== 'heartbeat' && message.category !== 'ack') continue;
    const key = `${message.from}>${message.to}`;
    if (latest.has(key)) continue;
    const from = placements.get(message.from);
    const to = placements.get(message.to);
    if (from !== undefined && to !== undefined) latest.set(key, { from, to, t: message.sentT, category: message.category });
  }
  drawLinkStrokes(context, palette, [...latest.values()].map((entry) => ({ ...entry, strength: 1 - (now - entry.t) / fadeMs })));
}

/** A recording's counted stretch (no whole messages): each link with traffic then, as a steady pulse. */
export function drawAggregates(
  context: CanvasRenderingContext2D,
  palette: Palette,
  placements: ReadonlyMap<string, Placement>,
  aggregates: readonly MessageAggregate[],
  now: number,
): void {
  const strokes = [];
  for (const entry of aggregates) {
    if (entry.fromT > now) break;
    if (entry.toT <= now) continue;
    const from = placements.get(entry.from);
    const to = placements.get(entry.to);
    if (from === undefined || to === undefined) continue;
    const perSecond = (entry.sent * 1_000) / (entry.toT - entry.fromT);
    strokes.push({ from, to, category: entry.category, strength: Math.min(1, 0.25 + perSecond / 40) });
  }
  drawLinkStrokes(context, palette, strokes);
}

function drawLinkStrokes(
  context: CanvasRenderingContext2D,
  palette: Palette,
  strokes: ReadonlyArray<{ from: Placement; to: Placement; category: MessageCategory; strength: number }>,
): void {
  context.lineCap = 'round';
  // Buckets of opacity, so that the whole set takes a few stroke calls.
  const buckets = new Map<string, Path2D>();
  for (const { from, to, category, strength } of strokes) {
    if (strength <= 0) continue;
    const level = Math.ceil(strength * 4) / 4;
    const key = `${category}|${level}`;
    let path = buckets.get(key);
    if (path === undefined) buckets.set(key, (path = new Path2D()));
    const length = Math.hypot(to.x - from.x, to.y - from.y) || 1;
    const ux = (to.x - from.x) / length;
    const uy = (to.y - from.y) / length;
    // From the sender's edge to the middle of the link: the direction reads at a glance.
    path.moveTo(from.x + ux * from.r, from.y + uy * from.r);
    path.lineTo(from.x + ux * (length / 2), from.y + uy * (length / 2));
  }
  for (const [key, path] of buckets) {
    const [category, level] = key.split('|') as [MessageCategory, string];
    context.globalAlpha = 0.15 + 0.65 * Number(level);
    context.strokeStyle = palette[category];
    context.lineWidth = category === 'heartbeat' ? 2.5 : 1.5;
    context.stroke(path);
  }
  context.globalAlpha = 1;
}

export const PULSE_FADE_MS = PULSE_FADE_WALL_MS;
