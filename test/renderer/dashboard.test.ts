/**
 * The dashboard against a fake hub: what the user sees for a snapshot, that every control
 * has an accessible name, that commands go out, and that refusals show beside the control.
 */
import { enableAutoUnmount, flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterEvent } from '../../shared/protocol/types.js';
import { connections, node, showTab, snapshot, sockets } from './fake-hub.js';

vi.mock('socket.io-client', () => import('./fake-hub.js').then(({ fakeIo }) => ({ io: fakeIo })));

const { default: App } = await import('../../renderer/src/App.vue');
// A dashboard left mounted would still answer keys and menu actions in later tests.
enableAutoUnmount(afterEach);

const FIVE = [
  node('n1', { role: 'leader', leaderId: 'n1' }),
  node('n2'),
  node('n3', { status: 'down', role: null, leaderId: null, term: 2 }),
  node('n4', { role: 'candidate', term: 4, votedFor: 'n4', leaderId: null }),
  node('n5'),
];

/** fetch answering the export (a small run, or `response`), and a download that goes nowhere. */
function stubExport(response = new Response('{"kind":"header"}\n', { headers: { 'content-disposition': 'attachment; filename="run.jsonl"' } })) {
  const fetched = vi.fn(async (_url: string, _init?: RequestInit) => response);
  vi.stubGlobal('fetch', fetched);
  URL.createObjectURL = () => 'blob:run';
  URL.revokeObjectURL = () => undefined;
  // A download goes nowhere here (happy-dom would navigate the page to the blob).
  vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(() => undefined);
  return fetched;
}

async function mountDashboard() {
  const wrapper = mount(App, { attachTo: document.body });
  await flushPromises();
  const socket = sockets.at(-1)!;
  socket.serverEmit('connect');
  return { wrapper, socket };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

beforeEach(() => {
  setActivePinia(createPinia());
  sockets.length = 0;
  connections.length = 0;
  sessionStorage.clear();
  window.history.replaceState(null, '', '/');
  document.body.innerHTML = '';
  delete window.conclaveShell;
});

describe('dashboard', () => {
  it('connects to /control and shows the leader, its term and every node', async () => {
    const { wrapper, socket } = await mountDashboard();
    expect(connections[0]!.url).toBe('/control');
    socket.serverEmit('snapshot', snapshot(FIVE, { faults: [{ id: 'down:n3', kind: 'down', label: 'n3 down', nodes: ['n3'], sinceT: 0, sinceAt: 0 }] }));
    await flushPromises();
    // The plain table first, as etcdctl endpoint status shows it.
    expect(wrapper.findAll('[data-testid="node-table"] tbody tr').map((row) => row.get('[data-testid="role"]').text())).toEqual([
      'leader',
      'follower',
      'down',
      'candidate',
      'follower',
    ]);
    await showTab(wrapper, 'Cards');
    expect(wrapper.get('[data-testid="leader-id"]').text()).toBe('n1');
    expect(wrapper.get('[data-testid="leader-term"]').text()).toBe('3');
    expect(wrapper.get('[data-testid="connection"]').text()).toBe('live');
    const cards = wrapper.findAll('article.node-card');
    expect(cards.map((card) => card.attributes('aria-label'))).toEqual([
      'n1, leader, term 3',
      'n2, follower, term 3',
      'n3, down, term 2',
      'n4, candidate, term 4',
      'n5, follower, term 3',
    ]);
    expect(wrapper.get('[data-testid="node-n1"]').attributes('data-state')).toBe('leader');
    expect(wrapper.get('[data-testid="node-n4"] [data-testid="voted-for"]').text()).toBe('n4');
    expect(wrapper.get('[data-testid="node-n2"] [data-testid="leader-id"]').text()).toBe('n1');
    expect(wrapper.get('[data-testid="headline"]').text()).toContain('1 fault in force');
    expect(wrapper.get('[data-testid="active-faults"]').text()).toContain('n3 down');
  });

  it('says plainly when there is no leader', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.serverEmit('snapshot', snapshot(FIVE.map((n) => ({ ...n, role: n.role === 'leader' ? 'candidate' : n.role }))));
    await flushPromises();
    expect(wrapper.get('[data-testid="no-leader"]').text()).toContain('No leader');
  });

  it('names every control after its node, and disables Kill on a down node with the reason', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.serverEmit('snapshot', snapshot(FIVE));
    await flushPromises();
    await showTab(wrapper, 'Cards');
    const names = wrapper.findAll('button').map((button) => button.attributes('aria-label'));
    for (const id of ['n1', 'n2', 'n3', 'n4', 'n5']) expect(names).toEqual(expect.arrayContaining([`Kill ${id}`, `Restart ${id}`]));
    const killDown = wrapper.get('button[aria-label="Kill n3"]');
    expect(killDown.attributes('disabled')).toBeDefined();
    expect(killDown.attributes('title')).toBe('n3 is already down');
    expect(wrapper.get('button[aria-label="Restart n3"]').attributes('disabled')).toBeUndefined();
  });

  it('sends kill and restart commands', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.serverEmit('snapshot', snapshot(FIVE));
    await flushPromises();
    await showTab(wrapper, 'Cards');
    await wrapper.get('button[aria-label="Kill n1"]').trigger('click');
    await wrapper.get('button[aria-label="Restart n3"]').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([
      { type: 'kill', nodeId: 'n1' },
      { type: 'restart', nodeId: 'n3' },
    ]);
  });

  it('shows a refused command beside the control that sent it', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.answer = () => ({ ok: false, error: 'n2 is already down' });
    socket.serverEmit('snapshot', snapshot(FIVE));
    await flushPromises();
    await showTab(wrapper, 'Cards');
    await wrapper.get('button[aria-label="Kill n2"]').trigger('click');
    await flushPromises();
    expect(wrapper.get('[data-testid="node-n2"] [role="alert"]').text()).toBe('n2 is already down');
    expect(wrapper.find('[data-testid="node-n1"] [role="alert"]').exists()).toBe(false);
  });

  it('shows a timeout when the hub does not answer', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.answer = () => 'silence';
    socket.serverEmit('snapshot', snapshot(FIVE));
    await flushPromises();
    await showTab(wrapper, 'Cards');
    await wrapper.get('button[aria-label="Restart n5"]').trigger('click');
    await flushPromises();
    expect(wrapper.get('[data-testid="node-n5"] [role="alert"]').text()).toBe('the hub did not answer within 4 s');
  });

  it('lists leader changes, newest first, with how each ended', async () => {
    const { wrapper, socket } = await mountDashboard();
    const at = (t: number) => Date.UTC(2026, 10, 26, 9, 0, 0) + t;
    const history: ClusterEvent[] = [
      { type: 'leader', nodeId: 'n2', term: 1, seq: 1, t: 200, at: at(200) },
      { type: 'kill', nodeId: 'n2', seq: 2, t: 1_400, at: at(1_400) },
      { type: 'leader', nodeId: 'n4', term: 2, seq: 3, t: 1_700, at: at(1_700) },
    ];
    socket.serverEmit('history', history);
    socket.serverEmit('snapshot', snapshot(FIVE));
    await flushPromises();
    await showTab(wrapper, 'Leader changes');
    const rows = wrapper.findAll('[data-testid="leader-changes"] li').map((row) => row.text());
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/term 2\s*n4/);
    expect(rows[0]).toContain('leading for');
    expect(rows[1]).toMatch(/term 1\s*n2/);
    expect(rows[1]).toContain('led 1.2 s, killed');
    socket.serverEmit('event', { type: 'leader', nodeId: 'n5', term: 3, seq: 4, t: 2_000, at: at(2_000) });
    socket.serverEmit('event', { type: 'leader', nodeId: 'n5', term: 3, seq: 4, t: 2_000, at: at(2_000) });
    // Events are applied together, once a frame.
    await vi.waitFor(() => expect(wrapper.findAll('[data-testid="leader-changes"] li')).toHaveLength(3));
  });

  it('a real node the console cannot reach is shown unreachable, in words and as its own state, with what it last said and what its peers say', async () => {
    const { wrapper, socket } = await mountDashboard();
    const reachability = 'not responding for 1.2 s, and its peers (n1, n3) do not hear it either: cut off from everyone, frozen or gone';
    socket.serverEmit('snapshot', snapshot([node('n1', { role: 'leader', leaderId: 'n1' }), node('n2', { reachable: false, reachability }), node('n3')]));
    await flushPromises();
    const row = wrapper.findAll('[data-testid="node-table"] tbody tr')[1]!;
    expect(row.get('[data-testid="role"]').text()).toBe('unreachable');
    expect(row.get('[data-testid="role"]').attributes('title')).toBe(`Last said: follower in term 3. ${reachability}`);
    expect(row.get('.role-badge').attributes('data-state')).toBe('unreachable');
    await showTab(wrapper, 'Cards');
    expect(wrapper.get('[data-testid="node-n2"] [data-testid="reachability"]').text()).toBe(`Last said: follower in term 3. ${reachability}`);
  });

  it('asks for a token when the hub requires one, and reconnects with it', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.active = false;
    socket.serverEmit('connect_error', new Error('this hub requires a token: send { token } in the handshake auth'));
    await flushPromises();
    const input = wrapper.get('input#hub-token');
    await input.setValue('s3cret-token');
    await wrapper.get('form').trigger('submit');
    expect(connections.at(-1)!.auth).toEqual({ token: 's3cret-token' });
  });

  it('takes the token from the address, then removes it from the address bar; the export sends it as a bearer token, never in a URL', async () => {
    window.history.replaceState(null, '', '/?token=from-url-123');
    const { wrapper } = await mountDashboard();
    expect(connections[0]!.auth).toEqual({ token: 'from-url-123' });
    expect(window.location.search).toBe('');
    await showTab(wrapper, 'Record');
    const fetched = stubExport();
    await wrapper.get('[data-testid="export-run"]').trigger('click');
    await vi.waitFor(() => expect(fetched).toHaveBeenCalledTimes(1));
    expect(fetched.mock.calls[0]![0]).toBe('/export.jsonl');
    expect(fetched.mock.calls[0]![1]).toMatchObject({ headers: { authorization: 'Bearer from-url-123' } });
  });

  it('says where the user acted when the export is refused', async () => {
    const { wrapper } = await mountDashboard();
    await showTab(wrapper, 'Record');
    stubExport(new Response('This hub requires a token', { status: 401 }));
    await wrapper.get('[data-testid="export-run"]').trigger('click');
    await vi.waitFor(() => expect(wrapper.get('[data-testid="export-error"]').text()).toBe('Cannot export this run: the hub refused the export (401): This hub requires a token'));
  });

  it('keeps a token for the hub it was given for: another hub does not get it', async () => {
    sessionStorage.setItem(`conclave.token:${window.location.origin}`, 'this-hubs-token');
    window.history.replaceState(null, '', `/?hub=${encodeURIComponent('http://10.9.9.9:4100/')}`);
    await mountDashboard();
    expect(connections[0]).toMatchObject({ url: 'http://10.9.9.9:4100/control', auth: {} });
  });

  it('shows when the hub is unreachable', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.serverEmit('connect_error', new Error('websocket error'));
    await flushPromises();
    expect(wrapper.get('[data-testid="connection-error"]').text()).toContain('cannot reach the hub');
    expect(wrapper.get('[data-testid="connection"]').text()).toBe('offline');
  });
});

describe('the hub named by ?hub= (npm run dev: the page comes from the dev server)', () => {
  it('connects to that hub over WebSocket, and fetches the export and links /metrics there', async () => {
    window.history.replaceState(null, '', '/?hub=http%3A%2F%2F127.0.0.1%3A4100%2F&token=dev-token-123');
    const { wrapper } = await mountDashboard();
    expect(connections).toEqual([{ url: 'http://127.0.0.1:4100/control', auth: { token: 'dev-token-123' }, transports: ['websocket'] }]);
    // The token leaves the address bar; the hub stays, so a hot reload finds the hub again.
    expect(window.location.search).toBe('?hub=http%3A%2F%2F127.0.0.1%3A4100%2F');
    expect(sessionStorage.getItem('conclave.token:http://127.0.0.1:4100')).toBe('dev-token-123');
    expect(sessionStorage.getItem(`conclave.token:${window.location.origin}`)).toBeNull();
    await showTab(wrapper, 'Record');
    const fetched = stubExport();
    await wrapper.get('[data-testid="export-run"]').trigger('click');
    await vi.waitFor(() => expect(fetched).toHaveBeenCalledTimes(1));
    expect(fetched.mock.calls[0]![0]).toBe('http://127.0.0.1:4100/export.jsonl');
    expect(fetched.mock.calls[0]![1]).toMatchObject({ headers: { authorization: 'Bearer dev-token-123' } });
  });

  it('a built dashboard talks only to the hub that serves it: ?hub= naming another is refused, saying where to go', async () => {
    vi.stubEnv('DEV', false);
    try {
      window.history.replaceState(null, '', `/?hub=${encodeURIComponent('http://10.9.9.9:4100/')}&token=leaked`);
      const wrapper = mount(App, { attachTo: document.body });
      await flushPromises();
      expect(connections).toEqual([]);
      expect(wrapper.get('[data-testid="connection-error"]').text()).toContain(`this dashboard talks only to the hub that serves it (${window.location.origin}): open http://10.9.9.9:4100/ for the hub at 10.9.9.9:4100`);
      expect(JSON.stringify({ ...sessionStorage })).not.toContain('leaked');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it.each(['javascript:alert(1)', 'ws://127.0.0.1:4100/', 'not a url'])('refuses ?hub=%s, saying why, and connects nowhere', async (hub) => {
    window.history.replaceState(null, '', `/?hub=${encodeURIComponent(hub)}`);
    const wrapper = mount(App, { attachTo: document.body });
    await flushPromises();
    expect(connections).toEqual([]);
    expect(wrapper.get('[data-testid="connection-error"]').text()).toContain(`the address names a hub that is not an http(s) URL: "${hub}"`);
  });
});

describe('actions from the keyboard and from the desktop menu', () => {
  /** The preload's API as the page sees it (electron/preload.ts), with the main process's side. */
  function fakeShell() {
    const listeners: Array<(action: unknown) => void> = [];
    window.conclaveShell = {
      kind: 'electron',
      versions: { electron: '45.5.0', chrome: '142.0.0.0' },
      onMenuAction: (callback) => {
        listeners.push(callback);
        return () => void listeners.splice(listeners.indexOf(callback), 1);
      },
    };
    return { listeners, send: (action: unknown) => listeners.forEach((listener) => listener(action)) };
  }

  const press = (key: string, target: EventTarget = window) => target.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));

  it('kill the leader, heal and help from their keys, but not while typing in a field', async () => {
    const { wrapper, socket } = await mountDashboard();
    socket.serverEmit('snapshot', snapshot(FIVE));
    await flushPromises();
    press('k');
    press('H');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'kill', nodeId: 'n1' }, { type: 'heal' }]);
    press('h', wrapper.get('input').element);
    await flushPromises();
    expect(socket.commands).toHaveLength(2);
    press('?');
    await flushPromises();
    expect(wrapper.find('[data-testid="help"]').exists()).toBe(true);
  });

  it('performs the menu actions by name, as the keys do, and ignores unknown names', async () => {
    const shell = fakeShell();
    const { wrapper, socket } = await mountDashboard();
    expect(shell.listeners).toHaveLength(1);
    socket.serverEmit('snapshot', snapshot(FIVE));
    await flushPromises();
    shell.send('kill-leader');
    shell.send('heal-all');
    shell.send('format-disk');
    shell.send({ action: 'heal-all' });
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'kill', nodeId: 'n1' }, { type: 'heal' }]);
    expect(wrapper.get('.shortcut-feedback').text()).toBe('Healed every fault');
    shell.send('toggle-help');
    await flushPromises();
    expect(wrapper.find('[data-testid="help"]').exists()).toBe(true);
    wrapper.unmount();
    expect(shell.listeners).toHaveLength(0);
  });

  it('says why a menu action cannot apply before the cluster is known', async () => {
    const shell = fakeShell();
    const { wrapper, socket } = await mountDashboard();
    shell.send('heal-all');
    await flushPromises();
    expect(socket.commands).toEqual([]);
    expect(wrapper.get('.shortcut-feedback').text()).toBe('Not connected to a cluster yet');
  });
});
