/**
 * The window's size and position, remembered across launches in a small JSON file. The file
 * is read as untrusted (it may be stale, hand-edited or cut short), and a remembered place is
 * fitted onto the displays there are now, so a window never opens off-screen.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export interface Rectangle {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface WindowState extends Rectangle {
  maximized: boolean;
}

/** Where to open the window; without x and y it is centred. */
export interface WindowPlacement {
  x?: number;
  y?: number;
  width: number;
  height: number;
  maximized: boolean;
}

export const WINDOW_STATE_FILE = 'window-state.json';
export const DEFAULT_WINDOW_SIZE = { width: 1360, height: 900 } as const;
export const WINDOW_SIZE_MIN = { width: 720, height: 520 } as const;
/** Larger than any real desktop; beyond it a number is nonsense, not a position. */
const COORDINATE_ABS_MAX = 1_000_000;
const STATE_FIELDS = ['x', 'y', 'width', 'height', 'maximized'];

/** The state in `text`, or null when it is not exactly a window state. */
export function parseWindowState(text: string): WindowState | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const record = value as Record<string, unknown>;
  if (Object.keys(record).length !== STATE_FIELDS.length || !STATE_FIELDS.every((field) => field in record)) return null;
  const { x, y, width, height, maximized } = record;
  const coordinate = (n: unknown): n is number => Number.isSafeInteger(n) && Math.abs(n as number) <= COORDINATE_ABS_MAX;
  if (!coordinate(x) || !coordinate(y) || !coordinate(width) || !coordinate(height)) return null;
  if (width <= 0 || height <= 0 || typeof maximized !== 'boolean') return null;
  return { x, y, width, height, maximized };
}

function overlapArea(a: Rectangle, b: Rectangle): number {
  const width = Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x);
  const height = Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y);
  return width > 0 && height > 0 ? width * height : 0;
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}

/**
 * Fits a remembered state onto the displays' work areas (primary first): onto the display it
 * overlaps most, shrunk to fit and moved inside; centred on the primary display when it
 * overlaps none (a monitor that has since been unplugged).
 */
export function placeWindow(saved: WindowState | null, workAreas: readonly Rectangle[]): WindowPlacement {
  const primary = workAreas[0];
  if (saved === null || primary === undefined) return { ...DEFAULT_WINDOW_SIZE, maximized: false };
  let best = primary;
  let bestOverlap = 0;
  for (const area of workAreas) {
    const overlap = overlapArea(saved, area);
    if (overlap > bestOverlap) {
      best = area;
      bestOverlap = overlap;
    }
  }
  const width = Math.min(Math.max(saved.width, WINDOW_SIZE_MIN.width), best.width);
  const height = Math.min(Math.max(saved.height, WINDOW_SIZE_MIN.height), best.height);
  if (bestOverlap === 0) return { width, height, maximized: saved.maximized };
  return {
    x: clamp(saved.x, best.x, best.x + best.width - width),
    y: clamp(saved.y, best.y, best.y + best.height - height),
    width,
    height,
    maximized: saved.maximized,
  };
}

/** The remembered state, or null when there is none or it is unreadable (the window then opens at its default). */
export function readWindowState(file: string): WindowState | null {
  try {
    return parseWindowState(readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Replaces the file whole (write, then rename), so a crash mid-write leaves the old state, not half a new one. */
export function writeWindowState(file: string, state: WindowState): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(state)}\n`);
  renameSync(temporary, file);
}
