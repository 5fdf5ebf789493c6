/** Drawing the topology's moving parts on a canvas: election-timer arcs and messages in flight. */
import type { MessageCategory, MessageRecord } from '../../../../shared/protocol/messages.js';

export interface Placement {
  id: string;
  x: number;
  y: number;
  r: number;
}

export type Palette = Record<MessageCategory | 'timer' | 'dropped', string>;

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
  for (const [id, timer] of timers) {
    const place = placements.get(id);
    if (place === undefined || timer.dueAt <= timer.startedAt) continue;
    const left = Math.min(1, Math.max(0, (timer.dueAt - now) / (timer.dueAt - timer.startedAt)));
    if (left === 0) continue;
    context.beginPath();
    context.arc(place.x, place.y, place.r + 11, -Math.PI / 2, -Math.PI / 2 + left * 2 * Math.PI);
    context.stroke();
  }
}

/**
 * Each message travels from sender to receiver; a message shorter in flight than `minFlightMs`
 * (cluster ms) is stretched to it so it can be seen. Dropped messages stop halfway, with a cross.
 */
export function drawFlights(
  context: CanvasRenderingContext2D,
  palette: Palette,
  placements: ReadonlyMap<string, Placement>,
  messages: readonly MessageRecord[],
  now: number,
  minFlightMs: number,
): void {
  for (const message of messages) {
    if (message.sentT > now) continue;
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
      context.strokeStyle = palette.dropped;
      context.lineWidth = 2;
      context.globalAlpha = 1 - (progress - 0.5) * 2;
      context.beginPath();
      context.moveTo(x - 5, y - 5);
      context.lineTo(x + 5, y + 5);
      context.moveTo(x + 5, y - 5);
      context.lineTo(x - 5, y + 5);
      context.stroke();
      context.globalAlpha = 1;
      continue;
    }
    drawMessage(context, palette, message.category, x, y);
  }
}

function drawMessage(context: CanvasRenderingContext2D, palette: Palette, category: MessageCategory, x: number, y: number): void {
  const color = palette[category];
  context.fillStyle = color;
  context.strokeStyle = color;
  context.lineWidth = 2;
  context.beginPath();
  switch (category) {
    case 'request':
    case 'granted':
      context.arc(x, y, 6, 0, 2 * Math.PI);
      context.fill();
      return;
    case 'denied':
    case 'ack':
      context.arc(x, y, category === 'ack' ? 3.5 : 5.5, 0, 2 * Math.PI);
      context.stroke();
      return;
    case 'heartbeat':
      context.arc(x, y, 3.5, 0, 2 * Math.PI);
      context.fill();
      return;
    case 'control':
      context.moveTo(x, y - 7);
      context.lineTo(x + 7, y);
      context.lineTo(x, y + 7);
      context.lineTo(x - 7, y);
      context.closePath();
      context.fill();
      return;
  }
}
