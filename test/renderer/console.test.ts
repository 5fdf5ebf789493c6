/**
 * The console's new panels and menus against a fake hub: the topology's node menu (mouse and
 * keys), the node table, honest state (offline, another run, two leaders), grouped alarms and
 * faults, the settings and cluster dialogs, and what real clusters cannot do.
 */
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ActiveFault, ClusterEvent, ClusterSnapshot, NodeView } from '../../shared/protocol/types.js';
import { node, showTab, snapshot, sockets } from './fake-hub.js';

vi.mock('socket.io-client', () => import('./fake-hub.js').then(({ fakeIo }) => ({ io: fakeIo })));

const { default: App } = await import('../../renderer/src/App.vue');
const { useReplayStore } = await import('../../renderer/src/stores/replay.js');
enableAutoUnmount(afterEach);

const NODES = [node('n1', { role: 'leader', leaderId: 'n1' }), node('n2'), node('n3', { status: 'down', role: null, leaderId: null }), node('n4'), node('n5')];

async function dashboard(overrides: Partial<ClusterSnapshot> = {}, nodes: NodeView[] = NODES) {
  const wrapper = mount(App, { attachTo: document.body });
  await flushPromises();
  const socket = sockets.at(-1)!;
  socket.serverEmit('connect');
  socket.serverEmit('snapshot', snapshot(nodes, overrides));
  await flushPromises();
  return { wrapper, socket };
}

const topologyNode = (wrapper: VueWrapper, id: string) => wrapper.get(`[data-node="${id}"]`);
const menuItem = (wrapper: VueWrapper, name: string) => wrapper.get(`[role="menuitem"][aria-label="${name}"]`);

beforeEach(() => {
  setActivePinia(createPinia());
  sockets.length = 0;
  document.body.innerHTML = '';
  sessionStorage.clear();
  window.history.replaceState(null, '', '/');
});

describe('the node menu on the topology', () => {
  it('opens on a click with every action, each disabled one saying why, and sends the chosen one', async () => {
    const { wrapper, socket } = await dashboard();
    await topologyNode(wrapper, 'n3').trigger('click');
    await flushPromises();
    const menu = wrapper.get('[role="menu"]');
    expect(menu.attributes('aria-label')).toBe('Actions for n3');
    expect(menu.findAll('[role="menuitem"]').map((item) => item.attributes('aria-label'))).toEqual([
      'Kill n3',
      'Restart n3',
      'Pause n3',
      'Lead: transfer leadership to n3',
      'Details of n3',
    ]);
    expect(menuItem(wrapper, 'Kill n3').attributes('aria-disabled')).toBe('true');
    expect(menu.text()).toContain('n3 is already down');
    await menuItem(wrapper, 'Kill n3').trigger('click');
    expect(socket.commands).toEqual([]);
    await menuItem(wrapper, 'Restart n3').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'restart', nodeId: 'n3' }]);
    expect(wrapper.find('[role="menu"]').exists()).toBe(false);
  });

  it('opens on right-click and on Enter; a refusal stays in the menu, where the user acted', async () => {
    const { wrapper, socket } = await dashboard();
    socket.answer = () => ({ ok: false, error: 'n2 cannot be paused now' });
    await topologyNode(wrapper, 'n2').trigger('contextmenu');
    expect(wrapper.get('[role="menu"]').attributes('aria-label')).toBe('Actions for n2');
    await wrapper.get('[role="menu"]').trigger('keydown', { key: 'Escape' });
    expect(wrapper.find('[role="menu"]').exists()).toBe(false);
    await topologyNode(wrapper, 'n2').trigger('keydown', { key: 'Enter' });
    await menuItem(wrapper, 'Pause n2').trigger('click');
    await flushPromises();
    expect(wrapper.get('[role="menu"] [role="alert"]').text()).toBe('n2 cannot be paused now');
  });

  it('is one tab stop for all nodes; arrow keys move it', async () => {
    const { wrapper } = await dashboard();
    const tabStops = () => wrapper.findAll('[data-node]').map((element) => element.attributes('tabindex'));
    expect(tabStops()).toEqual(['0', '-1', '-1', '-1', '-1']);
    await topologyNode(wrapper, 'n1').trigger('keydown', { key: 'ArrowRight' });
    await flushPromises();
    expect(tabStops()).toEqual(['-1', '0', '-1', '-1', '-1']);
    await topologyNode(wrapper, 'n2').trigger('keydown', { key: 'End' });
    await flushPromises();
    expect(tabStops()).toEqual(['-1', '-1', '-1', '-1', '0']);
  });

  it('details open with the same actions', async () => {
    const { wrapper, socket } = await dashboard();
    await topologyNode(wrapper, 'n2').trigger('click');
    await menuItem(wrapper, 'Details of n2').trigger('click');
    await flushPromises();
    const detail = wrapper.get('[data-testid="node-detail"]');
    expect(detail.find('header').exists()).toBe(false);
    await detail.get('button[aria-label="Kill n2"]').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'kill', nodeId: 'n2' }]);
  });
});

describe('the node table', () => {
  it('shows every node as etcdctl endpoint status would, with where real nodes run and who does not vote', async () => {
    const real = [
      node('n1', { role: 'leader', leaderId: 'n1', host: '10.0.0.5:7400', pid: 4121 }),
      node('n2', { host: '10.0.0.6:7400', pid: 977 }),
      node('n3', { host: '10.0.0.7:7400', pid: null, voting: false }),
    ];
    const { wrapper } = await dashboard({}, real);
    const rows = wrapper.findAll('[data-testid="node-table"] tbody tr');
    expect(rows.map((row) => row.findAll('th, td').map((cell) => cell.text()).slice(0, 7))).toEqual([
      ['n1', '10.0.0.5:7400 pid 4121', 'up', '★ leader', '3', 'n1', 'itself'],
      ['n2', '10.0.0.6:7400 pid 977', 'up', 'follower', '3', 'n1', 'n1'],
      ['n3', '10.0.0.7:7400', 'up', 'follower non-voting', '3', 'n1', 'n1'],
    ]);
    await rows[1]!.get('button[aria-label="Actions for n2"]').trigger('click');
    await flushPromises();
    expect(wrapper.get('[role="menu"]').attributes('aria-label')).toBe('Actions for n2');
    // A member that does not vote cannot be handed leadership.
    await topologyNode(wrapper, 'n3').trigger('click');
    expect(wrapper.get('[role="menu"]').text()).toContain('n3 does not vote: it follows but never leads');
  });
});

describe('honest state', () => {
  it('offline: the last known state is marked, the clocks stop, and every command is disabled with the reason', async () => {
    const { wrapper, socket } = await dashboard();
    socket.connected = false;
    socket.serverEmit('disconnect', 'transport close');
    await flushPromises();
    expect(wrapper.get('[data-testid="connection"]').text()).toBe('offline');
    expect(wrapper.get('[data-testid="stale"]').text()).toMatch(/^offline · last known at \d\d:\d\d:\d\d\.\d{3}$/);
    for (const text of ['Heal all', 'Settings', 'Cluster…', 'Freeze']) {
      const button = wrapper.findAll('button').find((candidate) => candidate.text() === text)!;
      expect(button.attributes('disabled'), text).toBeDefined();
      expect(button.attributes('title'), text).toMatch(/^Offline: the hub cannot be reached \(last known at /);
    }
    const leadingFor = wrapper.get('[data-testid="leading-for"]').text();
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(wrapper.get('[data-testid="leading-for"]').text()).toBe(leadingFor);
    await topologyNode(wrapper, 'n2').trigger('click');
    expect(menuItem(wrapper, 'Kill n2').attributes('aria-disabled')).toBe('true');
    await showTab(wrapper, 'Metrics');
    expect(wrapper.get('[data-testid="metrics-stale"]').text()).toContain('Last known at');
  });

  it('a reconnect to another run says so, and offers to keep the old one as a recording', async () => {
    const { wrapper, socket } = await dashboard();
    const at = Date.UTC(2026, 10, 26, 9, 0, 0);
    socket.serverEmit('history', [{ type: 'status', nodeId: 'n1', role: 'leader', term: 3, votedFor: 'n1', leaderId: 'n1', seq: 1, t: 10, at }]);
    socket.serverEmit('snapshot', snapshot(NODES));
    await flushPromises();
    expect(wrapper.find('[data-testid="run-change"]').exists()).toBe(false);
    socket.serverEmit('disconnect', 'transport close');
    socket.serverEmit('connect');
    socket.serverEmit('history', []);
    socket.serverEmit('snapshot', snapshot(NODES, { runId: 'run-2' }));
    await flushPromises();
    const notice = wrapper.get('[data-testid="run-change"]');
    expect(notice.text()).toContain('The hub now serves a different run');
    await notice.findAll('button').find((button) => button.text() === 'Keep the previous run as a recording')!.trigger('click');
    await flushPromises();
    expect(useReplayStore().record?.events).toHaveLength(1);
    expect(wrapper.get('[data-testid="replay-bar"]').text()).toContain('the previous run');
    expect(wrapper.get('[data-testid="connection"]').text()).toBe('replay');
  });

  it('a new run this dashboard asked for is no news', async () => {
    const { wrapper, socket } = await dashboard();
    socket.serverEmit('history', [{ type: 'leader', nodeId: 'n1', term: 3, seq: 1, t: 10, at: 0 }]);
    socket.serverEmit('snapshot', snapshot(NODES));
    await flushPromises();
    await wrapper.findAll('button').find((button) => button.text() === 'Settings')!.trigger('click');
    await wrapper.get('.settings-form').trigger('submit');
    await wrapper.findAll('button').find((button) => button.text() === 'Restart cluster')!.trigger('click');
    await flushPromises();
    socket.serverEmit('history', []);
    socket.serverEmit('snapshot', snapshot(NODES, { runId: 'run-2' }));
    await flushPromises();
    expect(wrapper.find('[data-testid="run-change"]').exists()).toBe(false);
  });

  it('two leaders show in the headline as such: Bully under a partition, and a stale Raft leader', async () => {
    const split = [node('n1'), node('n2', { role: 'leader', leaderId: 'n2', term: 4 }), node('n3'), node('n4'), node('n5', { role: 'leader', leaderId: 'n5', term: 2 })];
    const bully = await dashboard({ algorithm: 'bully' }, split);
    const headline = bully.wrapper.get('[data-testid="headline"]');
    expect(headline.get('[data-testid="leaders-split"]').text()).toMatch(/^Two leaders:\s*n2\s*election 4\s*and n5\s*election 2$/);
    expect(headline.text()).toContain('Bully has no quorum: each side of a partition elects its own coordinator');
    bully.wrapper.unmount();

    const raft = await dashboard({}, split);
    expect(raft.wrapper.get('[data-testid="headline"]').text()).toContain('n5 has not yet learned of term 4: a stale leader');
  });
});

describe('rewinding the live run', () => {
  it('the moment slider shows the cluster as it was, disables commands, and Back to live returns', async () => {
    const { wrapper, socket } = await dashboard();
    const at = (t: number) => Date.UTC(2026, 10, 26, 9, 0, 0) + t;
    const history: ClusterEvent[] = [
      ...['n1', 'n2', 'n3', 'n4', 'n5'].map((id, index) => ({ type: 'status', nodeId: id, role: 'follower', term: 0, votedFor: null, leaderId: null, seq: index + 1, t: 1, at: at(1) }) as ClusterEvent),
      { type: 'status', nodeId: 'n2', role: 'leader', term: 1, votedFor: 'n2', leaderId: 'n2', seq: 6, t: 200, at: at(200) },
      { type: 'leader', nodeId: 'n2', term: 1, seq: 7, t: 200, at: at(200) },
      { type: 'kill', nodeId: 'n2', seq: 8, t: 3_000, at: at(3_000) },
      { type: 'status', nodeId: 'n1', role: 'leader', term: 2, votedFor: 'n1', leaderId: 'n1', seq: 9, t: 3_300, at: at(3_300) },
      { type: 'leader', nodeId: 'n1', term: 2, seq: 10, t: 3_300, at: at(3_300) },
    ];
    socket.serverEmit('history', history);
    socket.serverEmit('snapshot', snapshot(NODES, { t: 5_000 }));
    await flushPromises();
    const slider = wrapper.get('input[aria-label="Moment shown"]');
    await slider.setValue(1_000);
    await slider.trigger('input');
    await vi.waitFor(() => expect(wrapper.find('[data-testid="rewind-bar"]').exists()).toBe(true));
    expect(wrapper.get('[data-testid="headline"] [data-testid="leader-id"]').text()).toBe('n2');
    expect(wrapper.get('[data-testid="node-n2"] [data-testid="role"]').text()).toBe('leader');
    const heal = wrapper.findAll('button').find((button) => button.text() === 'Heal all')!;
    expect(heal.attributes('title')).toMatch(/^Showing the run as it was .* ago: go back to live first$/);
    await wrapper.findAll('button').find((button) => button.text() === 'Back to live')!.trigger('click');
    await flushPromises();
    expect(wrapper.find('[data-testid="rewind-bar"]').exists()).toBe(false);
    expect(wrapper.get('[data-testid="headline"] [data-testid="leader-id"]').text()).toBe('n1');
  });
});

describe('alarms and faults, grouped', () => {
  function staleLeaders(count: number, lastingMs: number): ClusterEvent[] {
    const events: ClusterEvent[] = [];
    let seq = 1;
    let t = 100;
    const push = (body: Record<string, unknown>) => events.push({ ...body, seq: seq++, t, at: t } as ClusterEvent);
    for (let term = 1; term <= count * 2; term += 2) {
      push({ type: 'status', nodeId: 'n1', role: 'leader', term, votedFor: 'n1', leaderId: 'n1' });
      t += 500;
      push({ type: 'status', nodeId: 'n2', role: 'leader', term: term + 1, votedFor: 'n2', leaderId: 'n2' });
      t += lastingMs;
      push({ type: 'status', nodeId: 'n1', role: 'follower', term: term + 1, votedFor: null, leaderId: 'n2' });
      t += 500;
      push({ type: 'status', nodeId: 'n2', role: 'follower', term: term + 1, votedFor: 'n2', leaderId: null });
    }
    return events;
  }

  it('stale leaders shorter than a heartbeat are counted, not listed; repeated alarms are one row with a count', async () => {
    const { wrapper, socket } = await dashboard();
    socket.serverEmit('history', [...staleLeaders(30, 0)]);
    socket.serverEmit('snapshot', snapshot(NODES));
    await flushPromises();
    await showTab(wrapper, 'Safety');
    expect(wrapper.findAll('[data-testid="alarm-group"]')).toHaveLength(0);
    expect(wrapper.get('[data-testid="brief-stale"]').text()).toContain('30 brief stale leaders');

    socket.serverEmit('history', [...staleLeaders(4, 300)]);
    socket.serverEmit('snapshot', snapshot(NODES));
    await flushPromises();
    const groups = wrapper.findAll('[data-testid="alarm-group"]');
    expect(groups).toHaveLength(1);
    expect(groups[0]!.get('[data-testid="alarm-count"]').text()).toBe('4');
    expect(groups[0]!.text()).toContain('last lasted 300 ms');
  });

  it('one command that cut every link into a node is one fault row with one Undo', async () => {
    const into: ActiveFault[] = ['n1', 'n2', 'n3', 'n5'].map((from) => ({ id: `link:${from}->n4`, kind: 'link', label: `${from} → n4: cut`, nodes: [from, 'n4'], sinceT: 2_000, sinceAt: 0 }));
    const { wrapper, socket } = await dashboard({ faults: into });
    const rows = wrapper.findAll('[data-testid="active-faults"] li');
    expect(rows.map((row) => row.get('.fault-label').text())).toEqual(['every node → n4: cut (4 links)']);
    await rows[0]!.get('button').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'link', to: 'n4' }]);
  });

  it('the partition editor starts over once the partition is undone', async () => {
    const partitioned: Partial<ClusterSnapshot> = { network: { partition: { label: '{n1, n2} | {n3, n4, n5}', groups: [['n1', 'n2'], ['n3', 'n4', 'n5']] }, blocked: [], links: [] } };
    const { wrapper, socket } = await dashboard(partitioned);
    socket.serverEmit('snapshot', snapshot(NODES, partitioned));
    await flushPromises();
    expect((wrapper.get('select[aria-label="Group of n3"]').element as HTMLSelectElement).value).toBe('B');
    socket.serverEmit('snapshot', snapshot(NODES));
    await flushPromises();
    expect((wrapper.get('select[aria-label="Group of n3"]').element as HTMLSelectElement).value).toBe('A');
  });
});

describe('real clusters', () => {
  it('controls a target cannot act on are disabled with its reason; faults on real nodes say how they lapse', async () => {
    const { wrapper } = await dashboard({
      target: { kind: 'attached', label: '5 agents attached via 10.0.0.5:7400', unavailable: { clock: 'real nodes keep their own time', configure: 'an attached cluster is configured on its machines' }, faultLeaseMs: 10_000 },
      faults: [{ id: 'down:n3', kind: 'down', label: 'n3 down', nodes: ['n3'], sinceT: 0, sinceAt: 0 }],
    });
    const freeze = wrapper.findAll('button').find((button) => button.text() === 'Freeze')!;
    expect([freeze.attributes('disabled'), freeze.attributes('title')]).toEqual(['', 'real nodes keep their own time']);
    const settings = wrapper.findAll('button').find((button) => button.text() === 'Settings')!;
    expect(settings.attributes('title')).toBe('an attached cluster is configured on its machines');
    expect(wrapper.get('[data-testid="fault-lease"]').text()).toContain('they lapse 10.0 s after it goes away');
  });

  it('the Cluster dialog opens agent processes or attaches, and shows the hub\'s refusal where the user asked', async () => {
    const { wrapper, socket } = await dashboard();
    socket.answer = (command) => (command.type === 'open' ? { ok: false, error: 'agent processes is not available in this build' } : { ok: true });
    await wrapper.findAll('button').find((button) => button.text() === 'Cluster…')!.trigger('click');
    const dialog = wrapper.get('[data-testid="target-dialog"]');
    await dialog.get('input[value="processes"]').setValue(true);
    await dialog.get('form').trigger('submit');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'open', target: { kind: 'processes', nodes: 5, algorithm: 'raft', config: { heartbeatMs: 50, electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300 } } }]);
    expect(dialog.get('[data-testid="target-error"]').text()).toBe('agent processes is not available in this build');

    await dialog.get('input[value="attached"]').setValue(true);
    expect(dialog.get('[role="alert"]').text()).toBe('Name at least one agent as host:port');
    await dialog.get('textarea').setValue('10.0.0.5:7400, 10.0.0.6:7400');
    await dialog.get('input[type="password"]').setValue('cluster-secret');
    await dialog.get('form').trigger('submit');
    await flushPromises();
    expect(socket.commands.at(-1)).toEqual({ type: 'open', target: { kind: 'attached', addresses: ['10.0.0.5:7400', '10.0.0.6:7400'], token: 'cluster-secret' } });
  });
});

describe('settings', () => {
  it('accept up to 101 nodes; Bully shows no pre-vote or check-quorum rather than greyed boxes', async () => {
    const { wrapper, socket } = await dashboard({ algorithm: 'bully' });
    await wrapper.findAll('button').find((button) => button.text() === 'Settings')!.trigger('click');
    const form = wrapper.get('.settings-form');
    expect(form.text()).not.toContain('Pre-vote');
    expect(form.get('[data-testid="settings-not-applicable"]').text()).toBe('Bully has no pre-vote and check-quorum: these settings do not apply.');
    const nodes = form.findAll('input[type="number"]')[0]!;
    await nodes.setValue(102);
    expect(form.get('[role="alert"]').text()).toBe('The cluster has 1 to 101 nodes');
    await nodes.setValue(101);
    await form.trigger('submit');
    await wrapper.findAll('button').find((button) => button.text() === 'Restart cluster')!.trigger('click');
    await flushPromises();
    expect(socket.commands).toMatchObject([{ type: 'configure', algorithm: 'bully', nodes: 101 }]);
  });
});
