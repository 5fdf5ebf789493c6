/** The application menu built from the dashboard's actions, and stopping the hub within a bound. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { applicationMenuTemplate, type MenuItemTemplate } from '../../electron/shell/app-menu.js';
import { stopWithin } from '../../electron/shell/bounded-stop.js';
import { MENU_ACTIONS, isMenuAction, type MenuAction } from '../../shared/protocol/shell.js';

function actionItems(template: MenuItemTemplate[]): MenuItemTemplate[] {
  return template.flatMap((item) => item.submenu ?? []).filter((item) => item.click !== undefined);
}

describe('the application menu', () => {
  it('offers every dashboard action once, with a modified accelerator, and performs it by name', () => {
    const performed: MenuAction[] = [];
    const items = actionItems(applicationMenuTemplate('linux', (action) => performed.push(action)));
    for (const item of items) item.click!();
    expect(performed).toEqual(['kill-leader', 'heal-all', 'toggle-freeze', 'toggle-help']);
    expect([...performed].sort()).toEqual([...MENU_ACTIONS].sort());
    for (const item of items) expect(item.accelerator).toMatch(/^CmdOrCtrl\+/);
    expect(new Set(items.map((item) => item.accelerator)).size).toBe(items.length);
  });

  it('puts the actions under Cluster and Help, beside the standard menus', () => {
    const template = applicationMenuTemplate('linux', () => undefined);
    expect(template.map((item) => item.role ?? item.label)).toEqual(['fileMenu', 'editMenu', 'Cluster', 'viewMenu', 'windowMenu', 'help']);
    expect(template.find((item) => item.label === 'Cluster')!.submenu!.map((item) => item.label)).toEqual([
      'Kill the Leader',
      'Heal Every Fault',
      'Freeze or Unfreeze the Cluster',
    ]);
  });

  it("starts with the app's own menu on macOS", () => {
    expect(applicationMenuTemplate('darwin', () => undefined)[0]).toEqual({ role: 'appMenu' });
  });

  it('knows a menu action only by its exact name', () => {
    expect(MENU_ACTIONS.every(isMenuAction)).toBe(true);
    for (const value of ['Kill-Leader', 'kill-leader ', '', 'require', null, 3, { action: 'heal-all' }]) expect(isMenuAction(value)).toBe(false);
  });
});

describe('stopWithin', () => {
  afterEach(() => vi.useRealTimers());

  it('reports a stop that finishes', async () => {
    expect(await stopWithin(async () => undefined, 3_000)).toEqual({ stopped: true });
  });

  it('gives up on a stop that never finishes once the bound has passed, not before', async () => {
    vi.useFakeTimers();
    let outcome: unknown = null;
    void stopWithin(() => new Promise<void>(() => undefined), 3_000).then((result) => (outcome = result));
    await vi.advanceTimersByTimeAsync(2_999);
    expect(outcome).toBeNull();
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toEqual({ stopped: false, reason: 'did not stop within 3000 ms' });
  });

  it('reports a stop that fails, whether it rejects or throws', async () => {
    expect(await stopWithin(() => Promise.reject(new Error('socket stuck')), 3_000)).toEqual({ stopped: false, reason: 'failed to stop: socket stuck' });
    const throwing = (): Promise<void> => {
      throw new Error('already closed');
    };
    expect(await stopWithin(throwing, 3_000)).toEqual({ stopped: false, reason: 'failed to stop: already closed' });
  });
});
