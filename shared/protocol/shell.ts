/**
 * What the Electron shell may tell the dashboard: the names of menu actions, on one IPC
 * channel. The dashboard performs them as it performs its keyboard shortcuts.
 */

export const MENU_ACTION_CHANNEL = 'conclave:menu-action';

export const MENU_ACTIONS = ['kill-leader', 'heal-all', 'toggle-freeze', 'toggle-help'] as const;

export type MenuAction = (typeof MENU_ACTIONS)[number];

export function isMenuAction(value: unknown): value is MenuAction {
  return typeof value === 'string' && (MENU_ACTIONS as readonly string[]).includes(value);
}
