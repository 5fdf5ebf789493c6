/** The dashboard's chaos controls against a fake hub: what they send, and why they are disabled. */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { ActiveFault, ClusterSnapshot } from '../../shared/protocol/types.js';
import { node, showTab, snapshot, sockets } from './fake-hub.js';

vi.mock('socket.io-client', () => import('./fake-hub.js').then(({ fakeIo }) => ({ io: fakeIo })));

const { default: App } = await import('../../renderer/src/App.vue');

const NODES = [node('n1', { role: 'leader', leaderId: 'n1' }), node('n2'), node('n3', { status: 'paused' }), node('n4'), node('n5')];

async function dashboard(overrides: Partial<ClusterSnapshot> = {}, nodes = NODES) {
  const wrapper = mount(App, { attachTo: document.body });
  await flushPromises();
  const socket = sockets.at(-1)!;
  socket.serverEmit('connect');
  socket.serverEmit('snapshot', snapshot(nodes, overrides));
  await flushPromises();
  const click = async (name: string) => {
    await wrapper.get(`button[aria-label="${name}"]`).trigger('click');
    await flushPromises();
  };
  const button = (text: string) => wrapper.findAll('button').find((b) => b.text() === text)!;
  return { wrapper, socket, click, button };
}

beforeEach(() => {
  setActivePinia(createPinia());
  sockets.length = 0;
  document.body.innerHTML = '';
  window.history.replaceState(null, '', '/');
});

describe('node controls', () => {
  it('pause and resume follow the node state', async () => {
    const { wrapper, socket, click } = await dashboard();
    await showTab(wrapper, 'Cards');
    expect(wrapper.find('button[aria-label="Resume n2"]').exists()).toBe(false);
    await click('Pause n2');
    await click('Resume n3');
    expect(socket.commands).toEqual([
      { type: 'pause', nodeId: 'n2' },
      { type: 'resume', nodeId: 'n3' },
    ]);
  });

  it('leadership goes to a running follower; the leader, a paused node and Bully say why not', async () => {
    const { wrapper, socket, click } = await dashboard();
    await showTab(wrapper, 'Cards');
    expect(wrapper.get('button[aria-label="Lead: transfer leadership to n1"]').attributes('title')).toBe('n1 already leads');
    expect(wrapper.get('button[aria-label="Lead: transfer leadership to n3"]').attributes('title')).toBe('n3 is paused');
    await click('Lead: transfer leadership to n4');
    expect(socket.commands).toEqual([{ type: 'transfer', nodeId: 'n4' }]);

    // A second dashboard on a Bully cluster: the first goes, so that only one app shares the store,
    // and the new snapshot is waited for (on a loaded machine it can land after a few frames).
    wrapper.unmount();
    const bully = await dashboard({ algorithm: 'bully' });
    await showTab(bully.wrapper, 'Cards');
    await vi.waitFor(() => {
      const lead = bully.wrapper.get('button[aria-label="Lead: transfer leadership to n4"]');
      expect(lead.attributes('disabled')).toBeDefined();
      expect(lead.attributes('title')).toContain('highest-ranked running node');
    });
  });
});

describe('faults', () => {
  const FAULTS: ActiveFault[] = [
    { id: 'paused:n3', kind: 'paused', label: 'n3 paused', nodes: ['n3'], sinceT: 4_000, sinceAt: 0 },
    { id: 'link:n1->n2', kind: 'link', label: 'n1 → n2: cut', nodes: ['n1', 'n2'], sinceT: 4_500, sinceAt: 0 },
  ];

  it('lists every fault with its age and undoes one', async () => {
    const { wrapper, socket, click } = await dashboard({ faults: FAULTS });
    const rows = wrapper.findAll('[data-testid="active-faults"] li').map((row) => row.text());
    expect(rows[0]).toMatch(/n3 paused\s*for 1\.0 s/);
    expect(rows[1]).toMatch(/n1 → n2: cut\s*for 500 ms/);
    await click('Undo n1 → n2: cut');
    expect(socket.commands).toEqual([{ type: 'heal', faultId: 'link:n1->n2' }]);
  });

  it('heal all is one click away, and disabled with a reason when nothing is broken', async () => {
    const healthy = await dashboard({ faults: [] });
    expect(healthy.button('Heal all').attributes('disabled')).toBeDefined();
    expect(healthy.button('Heal all').attributes('title')).toContain('Nothing to heal');
    const broken = await dashboard({ faults: FAULTS });
    await broken.button('Heal all').trigger('click');
    await flushPromises();
    expect(broken.socket.commands).toEqual([{ type: 'heal' }]);
  });

  it('partition presets, disabled with a reason when they cannot apply', async () => {
    const { socket, button } = await dashboard();
    await button('Bridge').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'partition', preset: 'bridge' }]);
    const leaderless = await dashboard({}, NODES.map((n) => ({ ...n, role: n.role === 'leader' ? 'candidate' : n.role })));
    expect(leaderless.button('Isolate the leader').attributes('title')).toBe('there is no leader to isolate');
  });

  it('the partition editor sends the groups as assigned', async () => {
    const { wrapper, socket, button } = await dashboard();
    expect(button('Apply partition').attributes('disabled')).toBeDefined();
    await wrapper.get('select[aria-label="Group of n4"]').setValue('B');
    await wrapper.get('select[aria-label="Group of n5"]').setValue('B');
    await button('Apply partition').trigger('submit');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'partition', groups: [['n1', 'n2', 'n3'], ['n4', 'n5']] }]);
  });

  it('clicking a link in the topology offers one-way cuts of it', async () => {
    const { wrapper, socket, button } = await dashboard();
    await wrapper.get('[data-link="n2-n4"]').trigger('click');
    await button('Cut n4 → n2').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'link', from: 'n4', to: 'n2', cut: true }]);
  });

  it('the link editor sends loss, latency, jitter and duplication, and refuses out-of-range values', async () => {
    const { wrapper, socket } = await dashboard();
    const editor = wrapper.get('[data-testid="link-editor"]');
    await editor.get('select[aria-label="Link from"]').setValue('n1');
    await editor.get('input[type="number"]').setValue(150);
    const apply = editor.findAll('button').find((b) => b.text().startsWith('Apply to'))!;
    expect(apply.attributes('disabled')).toBeDefined();
    expect(apply.attributes('title')).toBe('The loss must be 0 to 100 %');
    const inputs = editor.findAll('input[type="number"]');
    await inputs[0]!.setValue(25);
    await inputs[1]!.setValue('80');
    await inputs[2]!.setValue('20');
    await inputs[3]!.setValue(10);
    expect(apply.text()).toBe('Apply to n1 → every node');
    await editor.trigger('submit');
    await flushPromises();
    expect(socket.commands).toEqual([
      { type: 'link', from: 'n1', cut: false, dropProbability: 0.25, duplicateProbability: 0.1, latencyMs: 80, jitterMs: 20 },
    ]);
  });

  it('shows links with faults on the topology, per direction', async () => {
    const { wrapper } = await dashboard({
      network: {
        partition: null,
        blocked: ['n1->n3', 'n3->n1'],
        links: [{ from: 'n2', to: 'n4', fault: { cut: true, dropProbability: 0, latencyMs: null, jitterMs: null, duplicateProbability: 0 } }],
      },
    });
    const state = (direction: string) => wrapper.get(`[data-direction="${direction}"]`).attributes('data-state');
    expect([state('n1->n3'), state('n3->n1')]).toEqual(['cut', 'cut']);
    expect([state('n2->n4'), state('n4->n2')]).toEqual(['cut', 'ok']);
    expect(state('n1->n2')).toBe('ok');
  });
});

describe('clock and settings', () => {
  it('freezes and unfreezes the cluster', async () => {
    const { wrapper, socket, button } = await dashboard({ clockSpeed: 0.25 });
    expect(wrapper.get('[data-testid="clock-speed"]').text()).toBe('0.25×');
    await button('Freeze').trigger('click');
    await flushPromises();
    socket.serverEmit('snapshot', snapshot(NODES, { clockSpeed: 0 }));
    await flushPromises();
    expect(wrapper.get('[data-testid="clock-speed"]').text()).toBe('frozen');
    await button('Unfreeze').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([
      { type: 'clock', speed: 0 },
      { type: 'clock', speed: 0.25 },
    ]);
  });

  it('applies settings only after a confirmation, by restarting the cluster', async () => {
    const { wrapper, socket, button } = await dashboard();
    HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
      this.open = true;
    };
    await button('Settings').trigger('click');
    const form = wrapper.get('form.settings-form');
    await form.get('select').setValue('paxos');
    await form.findAll('input[type="number"]')[0]!.setValue(7);
    await form.trigger('submit');
    expect(socket.commands).toEqual([]);
    expect(wrapper.text()).toContain('This restarts the cluster with these settings');
    await button('Restart cluster').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([
      {
        type: 'configure',
        algorithm: 'paxos',
        nodes: 7,
        config: { heartbeatMs: 50, electionTimeoutMinMs: 150, electionTimeoutMaxMs: 300, preVote: true, checkQuorum: true, rankedTimeouts: true },
      },
    ]);
  });

  it('refuses inconsistent timings before sending anything', async () => {
    const { wrapper, button } = await dashboard();
    await button('Settings').trigger('click');
    const inputs = wrapper.get('form.settings-form').findAll('input[type="number"]');
    await inputs[1]!.setValue(500);
    expect(wrapper.get('form.settings-form').text()).toContain('The election timeout must be greater than the heartbeat interval');
    expect(button('Apply…').attributes('disabled')).toBeDefined();
  });
});
