/**
 * The application menu, built from the dashboard's main actions. A menu item only names its
 * action; the dashboard performs it exactly as it performs the matching keyboard shortcut.
 * Accelerators carry a modifier: a bare letter would fire while typing in a field.
 */
import type { MenuAction } from '../../shared/protocol/shell.js';

/** The part of Electron's MenuItemConstructorOptions the menu uses (main.ts hands it to Menu.buildFromTemplate). */
export interface MenuItemTemplate {
  label?: string;
  role?: 'appMenu' | 'fileMenu' | 'editMenu' | 'viewMenu' | 'windowMenu' | 'help';
  type?: 'separator';
  accelerator?: string;
  click?: () => void;
  submenu?: MenuItemTemplate[];
}

interface MenuActionItem {
  action: MenuAction;
  label: string;
  accelerator: string;
}

const CLUSTER_MENU: readonly MenuActionItem[] = [
  { action: 'kill-leader', label: 'Kill the Leader', accelerator: 'CmdOrCtrl+Shift+K' },
  { action: 'heal-all', label: 'Heal Every Fault', accelerator: 'CmdOrCtrl+Shift+H' },
  { action: 'toggle-freeze', label: 'Freeze or Unfreeze the Cluster', accelerator: 'CmdOrCtrl+Shift+F' },
];

const HELP_MENU: readonly MenuActionItem[] = [
  { action: 'toggle-help', label: 'Keyboard Shortcuts', accelerator: 'CmdOrCtrl+/' },
];

export function applicationMenuTemplate(platform: NodeJS.Platform, perform: (action: MenuAction) => void): MenuItemTemplate[] {
  const items = (actions: readonly MenuActionItem[]): MenuItemTemplate[] =>
    actions.map(({ action, label, accelerator }) => ({ label, accelerator, click: () => perform(action) }));
  return [
    // macOS puts Quit under the app's own menu; elsewhere it lives in File.
    ...(platform === 'darwin' ? [{ role: 'appMenu' } as const] : []),
    { role: 'fileMenu' },
    { role: 'editMenu' },
    { label: 'Cluster', submenu: items(CLUSTER_MENU) },
    { role: 'viewMenu' },
    { role: 'windowMenu' },
    { role: 'help', submenu: items(HELP_MENU) },
  ];
}
