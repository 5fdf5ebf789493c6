/**
 * Leaders chosen by criteria in the dashboard: the scenario editor's priority, capabilities and
 * leadership steps and its priority assertion, the capabilities' one-line text, and the
 * settings that set priorities, capabilities and the rules on the embedded cluster.
 */
import { enableAutoUnmount, flushPromises, mount, type DOMWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterEvent, ClusterSnapshot, NodeView } from '../../shared/protocol/types.js';
import { parseScenario, type Scenario } from '../../shared/scenario/format.js';
import { blankDraft, blankStep, toDraft, toScenarioJson } from '../../renderer/src/components/scenario/scenario-draft.js';
import { capabilitiesFromText, capabilitiesText } from '../../renderer/src/format.js';
import { RunCursor, snapshotAt } from '../../renderer/src/stores/cursor.js';
import { DEFAULT_ELECTION_CONFIG } from '../../shared/core/election.js';
import { node, showTab, snapshot, sockets } from './fake-hub.js';

vi.mock('socket.io-client', () => import('./fake-hub.js').then(({ fakeIo }) => ({ io: fakeIo })));

const { default: App } = await import('../../renderer/src/App.vue');

const LEADERSHIP_SCENARIO: Scenario = {
  name: 'criteria',
  durationMs: 30_000,
  steps: [
    { at: 0, do: { type: 'priority', node: 'n3', priority: 0 }, undoAfter: 5_000 },
    { at: 0, do: { type: 'capabilities', node: 'n2', capabilities: { loadavg: 0.4, zone: 'a', ssd: true, build: '42', note: 'a, b' } } },
    { at: 100, do: { type: 'leadership', takeoverAfterMs: 1_500 } },
    { at: 200, do: { type: 'leadership', preferredLeader: { capability: 'loadavg', prefer: 'lowest', margin: 0.5, stableMs: 4_000 } } },
    { at: 300, do: { type: 'leadership', takeoverAfterMs: null, preferredLeader: null } },
  ],
  assertions: [{ type: 'priority-leader-within', withinMs: 2_500 }],
};

describe('the scenario editor, on who should lead', () => {
  it('every new step and the priority assertion survive the round trip through the form', () => {
    expect(parseScenario(toScenarioJson(toDraft(LEADERSHIP_SCENARIO)))).toEqual(LEADERSHIP_SCENARIO);
  });

  it('builds each step from its fields', () => {
    const draft = blankDraft();
    const priority = Object.assign(blankStep(), { type: 'priority', node: 'n2', priority: 7, undoAfter: 2_000 } as const);
    const capabilities = Object.assign(blankStep(), { type: 'capabilities', node: 'leader', capabilities: 'loadavg=1.5, zone="b"' } as const);
    const rule = Object.assign(blankStep(), { type: 'leadership', takeover: 'ms', takeoverAfterMs: 800, rule: 'on', ruleCapability: 'freememMb', rulePrefer: 'highest', ruleMargin: '', ruleStableMs: '' } as const);
    draft.steps = [priority, capabilities, rule];
    draft.assertions[0]!.type = 'priority-leader-within';
    draft.assertions[0]!.withinMs = 3_000;
    expect(parseScenario(toScenarioJson(draft))).toMatchObject({
      steps: [
        { at: 1_000, do: { type: 'priority', node: 'n2', priority: 7 }, undoAfter: 2_000 },
        { at: 1_000, do: { type: 'capabilities', node: 'leader', capabilities: { loadavg: 1.5, zone: 'b' } } },
        // The rule's left-out margin and stable period take the format's defaults.
        { at: 1_000, do: { type: 'leadership', takeoverAfterMs: 800, preferredLeader: { capability: 'freememMb', prefer: 'highest', margin: 0, stableMs: 10_000 } } },
      ],
      assertions: [{ type: 'priority-leader-within', withinMs: 3_000 }],
    });
  });

  it('a bad field is refused by the format\'s validator, naming it', () => {
    const draft = blankDraft();
    const step = draft.steps[0]!;
    step.type = 'priority';
    step.priority = 1_001;
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.priority must be between 0 and 1000');
    step.priority = '';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.priority');
    step.type = 'capabilities';
    step.capabilities = 'loadavg=0.4, zone';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.capabilities: "zone" is not key=value');
    step.capabilities = '9lives=1';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.capabilities key "9lives"');
    step.type = 'leadership';
    step.takeover = 'keep';
    step.rule = 'keep';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do changes "takeoverAfterMs"');
    step.rule = 'on';
    step.ruleCapability = '';
    expect(() => parseScenario(toScenarioJson(draft))).toThrow('scenario.steps[0].do.preferredLeader.capability');
  });
});

describe('capabilities as one line of text', () => {
  it('reads numbers, booleans and strings, quoted or not, and writes them back alike', () => {
    const text = 'loadavg=0.4, zone = a , ssd=true, build="42", note="a, b", empty=""';
    const capabilities = capabilitiesFromText(text, 'caps');
    expect(capabilities).toEqual({ loadavg: 0.4, zone: 'a', ssd: true, build: '42', note: 'a, b', empty: '' });
    expect(capabilitiesText(capabilities)).toBe('loadavg=0.4, zone=a, ssd=true, build="42", note="a, b", empty=""');
    expect(capabilitiesFromText(capabilitiesText(capabilities), 'caps')).toEqual(capabilities);
    expect(capabilitiesFromText('  ', 'caps')).toEqual({});
  });

  it('says which piece it cannot read', () => {
    expect(() => capabilitiesFromText('zone=a, ssd', 'caps')).toThrow('caps: "ssd" is not key=value');
    expect(() => capabilitiesFromText('=1', 'caps')).toThrow('caps: "=1" is not key=value');
    expect(() => capabilitiesFromText('zone=a, zone=b', 'caps')).toThrow('caps: "zone" is given twice');
    expect(() => capabilitiesFromText('zone="a', 'caps')).toThrow('caps.zone: "a is not a well-quoted string');
  });
});

const NODES: NodeView[] = [
  node('n1', { role: 'leader', leaderId: 'n1', priority: 1 }),
  node('n2', { priority: 1, capabilities: { zone: 'a', loadavg: 0.4 } }),
  node('n3', { priority: 1 }),
  node('n4', { priority: 0 }),
  node('n5', { priority: 3 }),
];
const LEADERSHIP = { takeoverAfterMs: 900, preferredLeader: null };

async function dashboard(overrides: Partial<ClusterSnapshot> = {}, nodes = NODES) {
  HTMLDialogElement.prototype.showModal ??= function (this: HTMLDialogElement) {
    this.open = true;
  };
  const wrapper = mount(App, { attachTo: document.body });
  await flushPromises();
  const socket = sockets.at(-1)!;
  socket.serverEmit('connect');
  socket.serverEmit('snapshot', snapshot(nodes, { leadership: LEADERSHIP, ...overrides }));
  await flushPromises();
  const named = (name: string) => wrapper.get(`[aria-label="${name}"]`);
  const openSettings = async () => {
    await wrapper.findAll('button').find((button) => button.text() === 'Settings')!.trigger('click');
    await flushPromises();
    return wrapper.get('[data-testid="leadership-settings"]');
  };
  return { wrapper, socket, named, openSettings };
}

enableAutoUnmount(afterEach);
beforeEach(() => {
  setActivePinia(createPinia());
  sockets.length = 0;
  document.body.innerHTML = '';
  window.history.replaceState(null, '', '/');
});

const rowOf = (settings: Pick<DOMWrapper<Element>, 'get'>, id: string) => settings.get(`[data-testid="leadership-${id}"]`);

describe('settings: who leads', () => {
  it('a priority out of range is said beside it and not sent; a good one is sent as the protocol\'s command', async () => {
    const { socket, named, openSettings } = await dashboard();
    const settings = await openSettings();
    expect((named('Priority of n5').element as HTMLInputElement).value).toBe('3');
    expect(named('Set the priority of n5').attributes('title')).toBe('n5 has priority 3 already');
    await named('Priority of n3').setValue('1001');
    expect(settings.text()).toContain('The priority of n3 must be a whole number from 0 (never leads) to 1000 (got 1001)');
    expect(named('Priority of n3').attributes('aria-invalid')).toBe('true');
    expect(named('Set the priority of n3').attributes('disabled')).toBeDefined();
    await named('Priority of n3').setValue('2.5');
    expect(settings.text()).toContain('(got 2.5)');
    await named('Priority of n3').trigger('keydown', { key: 'Enter' });
    expect(socket.commands).toEqual([]);
    await named('Priority of n3').setValue('7');
    expect(settings.find('[role="alert"]').exists()).toBe(false);
    await named('Set the priority of n3').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'priority', nodeId: 'n3', priority: 7 }]);
    socket.answer = () => ({ ok: false, error: 'n9 is not a member' });
    await named('Priority of n4').setValue('2');
    await named('Priority of n4').trigger('keydown', { key: 'Enter' });
    await flushPromises();
    expect(rowOf(settings, 'n4').element.nextElementSibling?.textContent).toContain('n9 is not a member');
  });

  it('capabilities are typed as key=value; what is wrong is said beside them', async () => {
    const { socket, named, openSettings } = await dashboard();
    const settings = await openSettings();
    expect((named('Capabilities of n2').element as HTMLInputElement).value).toBe('zone=a, loadavg=0.4');
    await named('Capabilities of n3').setValue('zone=b, ssd');
    expect(settings.get('#leadership-error-n3').text()).toBe('Capabilities of n3: "ssd" is not key=value (like loadavg=0.4, zone=a, ssd=true)');
    expect(named('Capabilities of n3').attributes('aria-describedby')).toBe('leadership-error-n3');
    await named('Capabilities of n3').setValue('zone=b, 2fast=true');
    expect(settings.get('#leadership-error-n3').text()).toContain('Capabilities of n3 key "2fast" must be a name of letters');
    await named('Capabilities of n3').setValue('zone=b, ssd=true, loadavg=1.25');
    await named('Set the capabilities of n3').trigger('click');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'capabilities', nodeId: 'n3', capabilities: { zone: 'b', ssd: true, loadavg: 1.25 } }]);
  });

  it('the takeover delay and the preferred-leader rule, off by default, are checked and sent together', async () => {
    const { wrapper, socket, openSettings } = await dashboard();
    const settings = await openSettings();
    const rules = settings.get('form.leadership-rules');
    const apply = () => rules.findAll('button').find((button) => button.text() === 'Apply the rules')!;
    const field = (label: string) => rules.findAll('label').find((candidate) => candidate.text().startsWith(label))!.get('input');
    expect((field('Preferred-leader rule').element as HTMLInputElement).checked).toBe(false);
    expect((field('Takeover delay').element as HTMLInputElement).value).toBe('');
    await field('Takeover delay').setValue('0');
    expect(rules.text()).toContain('The takeover delay must be a whole number of ms from 1 to 3600000, or blank for the default');
    expect(apply().attributes('disabled')).toBeDefined();
    await field('Takeover delay').setValue('2000');
    await field('Preferred-leader rule').setValue(true);
    await field('Margin').setValue('');
    expect(rules.text()).toContain('The margin must be a number');
    await field('Margin').setValue('0.5');
    await field('Capability').setValue('free mem');
    expect(rules.text()).toContain('The rule\'s capability must be a name of letters');
    await field('Capability').setValue('freememMb');
    await rules.get('select').setValue('highest');
    await rules.trigger('submit');
    await flushPromises();
    expect(socket.commands).toEqual([{ type: 'leadership', takeoverAfterMs: 2_000, preferredLeader: { capability: 'freememMb', prefer: 'highest', margin: 0.5, stableMs: 10_000 } }]);
    expect(wrapper.get('[data-testid="leadership-status"]').text()).toBe('The leadership rules are in force');
  });

  it('where the cluster has no priorities (etcd) or cannot be reached, the controls are disabled with the reason', async () => {
    const etcd = NODES.map(({ priority: _priority, capabilities: _capabilities, ...rest }) => rest);
    const { named, openSettings, wrapper } = await dashboard(
      { target: { kind: 'etcd', label: 'etcd', unavailable: { priority: 'etcd has no priorities', capabilities: 'etcd has no capabilities', leadership: 'etcd has no rules' }, faultLeaseMs: null }, leadership: undefined },
      etcd,
    );
    await openSettings();
    expect([named('Priority of n3').attributes('disabled'), named('Set the priority of n3').attributes('title')]).toEqual(['', 'etcd has no priorities']);
    expect(named('Set the capabilities of n3').attributes('title')).toBe('etcd has no capabilities');
    expect(wrapper.get('form.leadership-rules fieldset').attributes('title')).toBe('etcd has no rules');
    expect(wrapper.get('[data-testid="node-table"]').text()).not.toContain('Priority');
  });
});

describe('priorities and capabilities on every view of a node', () => {
  it('in the node table, the cards, the topology and the details, in words', async () => {
    const { wrapper } = await dashboard();
    const row = (id: string) => wrapper.get(`[data-testid="node-table"] [data-testid="node-${id}"]`);
    expect(row('n5').get('[data-testid="priority"]').text()).toBe('P3');
    expect(row('n4').get('[data-testid="priority"]').text()).toBe('P0 never leads');
    expect(row('n2').get('[data-testid="capabilities"]').text()).toBe('zone=a, loadavg=0.4');
    expect(wrapper.get('[data-node="n4"]').attributes('aria-label')).toBe('n4: follower, term 3, priority 0, never leads');
    expect(wrapper.get('[data-node="n2"]').attributes('aria-label')).toBe('n2: follower, term 3, priority 1, advertises zone=a, loadavg=0.4');
    expect(wrapper.get('.node-sublabels').text()).toContain('follower · 3 · P3');
    await showTab(wrapper, 'Cards');
    const card = wrapper.get('article[data-testid="node-n5"]');
    expect(card.attributes('aria-label')).toBe('n5, follower, term 3, priority 3');
    expect(card.get('[data-testid="priority"]').text()).toBe('P3');
    expect(wrapper.get('article[data-testid="node-n2"] [data-testid="capabilities"]').text()).toBe('zone=a, loadavg=0.4');
  });

  it('the history and the timeline show priority changes, the rules and handovers with the reason given', async () => {
    const { wrapper, socket } = await dashboard();
    const at = Date.UTC(2026, 10, 26, 9, 30, 5);
    const events: ClusterEvent[] = [
      { type: 'priority', nodeId: 'n3', priority: 5, previous: 1, seq: 1, t: 5_000, at },
      { type: 'capabilities', nodeId: 'n3', capabilities: { zone: 'b' }, seq: 2, t: 5_010, at },
      { type: 'leadership', takeoverAfterMs: 2_000, preferredLeader: { capability: 'loadavg', prefer: 'lowest', margin: 0.5, stableMs: 10_000 }, seq: 3, t: 5_020, at },
      { type: 'transfer', from: 'n1', to: 'n3', reason: 'priority takeover: n3 (priority 5) over n1 (priority 1)', seq: 4, t: 6_000, at },
    ];
    await showTab(wrapper, 'Leader changes');
    expect(wrapper.find('[data-testid="leadership-events"]').exists()).toBe(false);
    for (const event of events) socket.serverEmit('event', event);
    // Events are applied together at most once a frame.
    await vi.waitFor(() => expect(wrapper.findAll('[data-testid="leadership-events"] li')).toHaveLength(4), { timeout: 5_000 });
    expect(wrapper.findAll('[data-testid="leadership-events"] li').map((item) => item.get('span:last-child').text())).toEqual([
      'n1 hands leadership to n3: priority takeover: n3 (priority 5) over n1 (priority 1)',
      'takeover after 2.0 s; preferred leader lowest loadavg (margin 0.5, stable for 10 s)',
      'n3 advertises zone=b',
      'n3: priority 1 → 5',
    ]);
    // On the timeline, marks in text ("P" a change, "⇄" a handover) with the words in their titles.
    const marks = wrapper.get('[data-testid="timeline-criteria"]').findAll('text');
    expect(marks.map((mark) => mark.element.firstChild?.textContent?.trim())).toEqual(['P', 'P', '⇄']);
    expect(marks[2]!.get('title').text()).toBe('n1 hands leadership to n3: priority takeover: n3 (priority 5) over n1 (priority 1)');
  });
});

describe('a past moment (rewound or replayed)', () => {
  it('shows each node\'s priority and capabilities as the events had set them then', () => {
    const stamped = (t: number, body: Record<string, unknown>, seq: number) => ({ ...body, seq, t, at: 1_000_000 + t }) as ClusterEvent;
    const events = [
      stamped(1, { type: 'status', nodeId: 'n1', role: 'leader', term: 1, votedFor: 'n1', leaderId: 'n1' }, 1),
      stamped(2, { type: 'status', nodeId: 'n2', role: 'follower', term: 1, votedFor: 'n1', leaderId: 'n1' }, 2),
      stamped(100, { type: 'priority', nodeId: 'n2', priority: 5, previous: 1 }, 3),
      stamped(100, { type: 'capabilities', nodeId: 'n2', capabilities: { zone: 'b' } }, 4),
      stamped(200, { type: 'priority', nodeId: 'n2', priority: 0, previous: 5 }, 5),
    ];
    const members = ['n1', 'n2'];
    const run = { runId: 'r', target: { kind: 'embedded' as const, label: 'test', unavailable: {}, faultLeaseMs: null }, algorithm: 'raft' as const, config: DEFAULT_ELECTION_CONFIG, members, hasPriorities: true };
    const cursor = new RunCursor(members, 'raft', () => events);
    const at = (t: number, identity = run) => {
      cursor.seek(t);
      return snapshotAt(cursor.analysis, identity, t, cursor.criteria).nodes.map(({ id, priority, capabilities: facts }) => ({ id, priority, facts }));
    };
    expect(at(150)).toEqual([{ id: 'n1', priority: 1, facts: undefined }, { id: 'n2', priority: 5, facts: { zone: 'b' } }]);
    expect(at(250)[1]).toEqual({ id: 'n2', priority: 0, facts: { zone: 'b' } });
    // Back in time: the cursor starts over and forgets what came later.
    expect(at(50)[1]).toEqual({ id: 'n2', priority: 1, facts: undefined });
    expect(at(50, { ...run, hasPriorities: false })[1]).toEqual({ id: 'n2', priority: undefined, facts: undefined });
  });
});
