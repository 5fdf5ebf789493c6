/**
 * The golden scripts' language (README.md) run against the pure election core: no Agent, no
 * timers. The clock and the network move only when a command says so, and every node is driven
 * as electron/runtime/agent.ts drives it: after each tick, step, hint or call, its ready() is
 * drained, the durable state written and confirmed with persisted() before its messages go on
 * the wire. Output lines say what each input did: status changes, durable writes, messages sent,
 * notices, and when a leader lease starts or ends.
 */
import { createElectionNode } from '../../shared/algorithms.js';
import { parseElectionConfig } from '../../shared/core/config.js';
import { ALGORITHMS, sameNodeStatus, type ActionResult, type AlgorithmName, type DurableState, type ElectionConfig, type ElectionNode, type Message, type NodeStatus } from '../../shared/core/election.js';
import { DEFAULT_LEADERSHIP, type LeadershipConfig } from '../../shared/core/leadership.js';
import { createRandom, type Random } from '../../shared/core/random.js';

/** Timer firings one `time` or `run` may take: a node whose timer never moves on is a bug, not a long script. */
const FIRINGS_MAX = 10_000;
/** Delivery rounds one `stabilize` (or a `run` between timers) may take before the messages are taken to loop forever. */
const DELIVERY_ROUNDS_MAX = 100;

interface Host {
  readonly id: string;
  machine: ElectionNode | null;
  /** What its disk holds: written before any message that depends on it leaves. */
  durable: DurableState | null;
  boots: number;
  /** When it must be ticked next, from its last ready(). */
  wakeAt: number;
  /** Whether it held a leader lease when last drained, to report when one starts or ends. */
  leased: boolean;
}

/** Where a command's lines go. In quiet mode (`run`) an input is shown only when it changed something, and its messages are counted, not listed. */
class Output {
  readonly lines: string[] = [];
  private header: string | null = null;
  private readonly counts = new Map<string, number>();

  constructor(private readonly quiet: boolean) {}

  /** A new input (a message delivered, a timer, a command); its effects follow, indented. */
  input(header: string): void {
    this.header = header;
    if (!this.quiet) this.flushHeader();
  }

  /** A change of state: always shown. */
  change(line: string): void {
    this.flushHeader();
    this.lines.push(`  ${line}`);
  }

  /** A message sent: listed unless quiet. */
  sent(line: string): void {
    if (!this.quiet) this.lines.push(`  ${line}`);
  }

  /** A message delivered or lost, counted by kind for the quiet summary. */
  count(what: string): void {
    this.counts.set(what, (this.counts.get(what) ?? 0) + 1);
  }

  note(line: string): void {
    this.lines.push(line);
  }

  summary(): void {
    if (!this.quiet || this.counts.size === 0) return;
    const parts = [...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([what, count]) => `${count} ${what}`);
    this.lines.push(`messages: ${parts.join(', ')}`);
  }

  private flushHeader(): void {
    if (this.header === null) return;
    this.lines.push(this.header);
    this.header = null;
  }
}

/** Times are shown to the hundredth of a millisecond: ranked timeouts are fractional. */
function formatTime(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : String(Number(ms.toFixed(2)));
}

function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (typeof value === 'number') return formatTime(value);
  return String(value);
}

function formatMessage(message: Message): string {
  const { kind, from, to, term, ...fields } = message as Message & Record<string, unknown>;
  const extra = Object.entries(fields).map(([key, value]) => ` ${key}=${formatValue(value)}`);
  return `${from}->${to} ${kind} term=${term}${extra.join('')}`;
}

function formatStatus(status: NodeStatus): string {
  return `${status.role} term=${status.term} vote=${formatValue(status.votedFor)} leader=${formatValue(status.leaderId)}`;
}

function formatDurable(state: DurableState | null): string {
  if (state === null) return 'nothing';
  return Object.entries(state)
    .map(([key, value]) => `${key}=${formatValue(value)}`)
    .join(' ');
}

const link = (from: string, to: string): string => `${from}->${to}`;

export class Interpreter {
  private algorithm: AlgorithmName = 'raft';
  private members: string[] = [];
  private config: ElectionConfig = parseElectionConfig({});
  private leadership: LeadershipConfig = DEFAULT_LEADERSHIP;
  private random: Random = createRandom(1);
  private readonly hosts = new Map<string, Host>();
  private now = 0;
  /** Messages on the wire, oldest first. */
  private wire: Message[] = [];
  /** Directed links that lose every message. */
  private readonly cuts = new Set<string>();

  /** Runs one command line; returns its output lines. Throws on a command it cannot run. */
  run(line: string): string[] {
    const [command, ...args] = line.trim().split(/\s+/);
    if (command !== 'cluster' && this.members.length === 0) throw new Error(`"${command}" before any "cluster"`);
    const out = new Output(command === 'run');
    switch (command) {
      case 'cluster':
        this.cluster(args, out);
        break;
      case 'time':
        this.advance(args, out, false);
        break;
      case 'run':
        this.advance(args, out, true);
        break;
      case 'deliver':
        this.deliver(out, args.length === 0 ? () => true : this.linkFilter(args));
        break;
      case 'stabilize':
        this.stabilize(out);
        break;
      case 'drop':
        this.drop(out, args.length === 0 ? () => true : this.linkFilter(args));
        break;
      case 'crash':
        this.crash(this.node(args[0]), out);
        break;
      case 'restart':
        this.restart(this.node(args[0]), out);
        break;
      case 'partition':
        this.partition(args, out);
        break;
      case 'heal':
        this.cuts.clear();
        break;
      case 'hint':
        this.hint(this.node(args[0]), this.node(args[1]), out);
        break;
      case 'transfer':
        this.transfer(this.node(args[0]), this.node(args[1]), out);
        break;
      case 'priority':
        this.priority(this.node(args[0]), Number(args[1]), out);
        break;
      case 'status':
        this.status(args.length === 0 ? this.members : args.map((id) => this.node(id)), out);
        break;
      case 'timers':
        this.timers(out);
        break;
      default:
        throw new Error(`unknown command "${command}"`);
    }
    out.summary();
    return out.lines;
  }

  /** `cluster <algorithm> <id>... [key=value]...`: the config's keys (parseElectionConfig's checks) and seed. */
  private cluster(args: string[], out: Output): void {
    const [algorithm, ...rest] = args;
    if (!(ALGORITHMS as readonly string[]).includes(algorithm ?? '')) throw new Error(`unknown algorithm "${algorithm}" (${ALGORITHMS.join(', ')})`);
    this.algorithm = algorithm as AlgorithmName;
    const settings: Record<string, number | boolean> = {};
    this.members = [];
    for (const arg of rest) {
      const [key, value] = arg.split('=');
      if (value === undefined) this.members.push(arg);
      else settings[key!] = value === 'true' ? true : value === 'false' ? false : Number(value);
    }
    const { seed = 1, ...config } = settings;
    if (!Number.isSafeInteger(seed)) throw new Error(`seed must be an integer, got "${seed}"`);
    this.config = parseElectionConfig(config);
    this.random = createRandom(Number(seed));
    this.leadership = DEFAULT_LEADERSHIP;
    this.hosts.clear();
    this.wire = [];
    this.cuts.clear();
    this.now = 0;
    for (const id of this.members) {
      const host: Host = { id, machine: null, durable: null, boots: 0, wakeAt: Infinity, leased: false };
      this.hosts.set(id, host);
      this.boot(host, out);
    }
  }

  private boot(host: Host, out: Output): void {
    host.boots += 1;
    // As the cluster and the agent fork theirs: a stream per node, a fresh one per boot.
    const random = this.random.fork(`node:${host.id}`).fork(`boot-${host.boots}`);
    host.machine = createElectionNode(this.algorithm, {
      id: host.id,
      members: this.members,
      config: this.config,
      leadership: this.leadership,
      random,
      durable: host.durable === null ? null : { ...host.durable },
      now: this.now,
    });
    out.input(`${host.id} boots from ${formatDurable(host.durable)}`);
    out.change(`${host.id} is ${formatStatus(host.machine.status())}`);
    this.drain(host, out);
  }

  /** Feeds `host` one input and drains what it did, as the Agent does. */
  private act(host: Host, header: string, out: Output, input: (machine: ElectionNode) => void): void {
    const machine = host.machine!;
    const previous = machine.status();
    out.input(header);
    input(machine);
    if (!sameNodeStatus(previous, machine.status())) out.change(`${host.id} is ${formatStatus(machine.status())}`);
    this.drain(host, out);
  }

  private drain(host: Host, out: Output): void {
    const machine = host.machine!;
    const ready = machine.ready();
    if (ready.persist !== null) {
      host.durable = { ...ready.persist };
      out.change(`${host.id} persists ${formatDurable(ready.persist)}`);
      machine.persisted(ready.persist);
    }
    for (const message of ready.messages) {
      this.wire.push(message);
      out.sent(formatMessage(message));
    }
    for (const notice of ready.notices) out.change(`${host.id} notice: ${notice.kind} to ${notice.to} (${notice.reason})`);
    host.wakeAt = ready.wakeAt;
    const lease = machine.leaseExpiresAt(this.now);
    if ((lease !== null) !== host.leased) out.change(lease === null ? `${host.id} lease ended` : `${host.id} holds the lease until ${formatTime(lease)}`);
    host.leased = lease !== null;
  }

  /**
   * `time +N` / `run +N`: fires every timer that comes due within N ms, in time order (member
   * order at one instant). `run` also delivers every message as soon as it is sent.
   */
  private advance(args: string[], out: Output, deliver: boolean): void {
    const match = /^\+(\d+(?:\.\d+)?)$/.exec(args[0] ?? '');
    if (match === null) throw new Error(`expected "+<ms>", got "${args[0] ?? ''}"`);
    const target = this.now + Number(match[1]);
    if (deliver) this.stabilize(out);
    for (let firings = 0; ; firings++) {
      if (firings === FIRINGS_MAX) throw new Error(`more than ${FIRINGS_MAX} timer firings before ${formatTime(target)}`);
      const running = [...this.hosts.values()].filter((host) => host.machine !== null);
      const next = Math.min(...running.map((host) => host.wakeAt));
      if (next > target) break;
      this.now = Math.max(this.now, next);
      for (const host of running) {
        if (host.wakeAt > this.now) continue;
        this.act(host, `@${formatTime(this.now)} ${host.id} timer`, out, (machine) => machine.tick(this.now));
      }
      if (deliver) this.stabilize(out);
    }
    this.now = target;
  }

  /** One round: every message now on the wire that `selected` picks, in the order sent. */
  private deliver(out: Output, selected: (message: Message) => boolean): void {
    const round = this.wire.filter(selected);
    this.wire = this.wire.filter((message) => !selected(message));
    for (const message of round) {
      const host = this.hosts.get(message.to)!;
      if (this.cuts.has(link(message.from, message.to))) {
        out.count(`${message.kind} lost`);
        out.input(`${formatMessage(message)} lost (cut)`);
      } else if (host.machine === null) {
        out.count(`${message.kind} lost`);
        out.input(`${formatMessage(message)} lost (${host.id} is down)`);
      } else {
        out.count(message.kind);
        this.act(host, formatMessage(message), out, (machine) => machine.step(message, this.now));
      }
    }
  }

  /** Delivers until the wire is empty (the replies, the replies to those, ...). */
  private stabilize(out: Output): void {
    for (let rounds = 0; this.wire.length > 0; rounds++) {
      if (rounds === DELIVERY_ROUNDS_MAX) throw new Error(`messages still flowing after ${DELIVERY_ROUNDS_MAX} delivery rounds`);
      this.deliver(out, () => true);
    }
  }

  private drop(out: Output, selected: (message: Message) => boolean): void {
    for (const message of this.wire.filter(selected)) out.note(`dropped ${formatMessage(message)}`);
    this.wire = this.wire.filter((message) => !selected(message));
  }

  /** `a->b` picks the messages on that link, `a` those from a. */
  private linkFilter(args: string[]): (message: Message) => boolean {
    const links = args.map((arg) => {
      const [from, to] = arg.split('->');
      return { from: this.node(from), to: to === undefined ? null : this.node(to) };
    });
    return (message) => links.some(({ from, to }) => message.from === from && (to === null || message.to === to));
  }

  private crash(id: string, out: Output): void {
    const host = this.hosts.get(id)!;
    if (host.machine === null) throw new Error(`${id} is already down`);
    host.machine = null;
    host.wakeAt = Infinity;
    host.leased = false;
    out.note(`${id} is down; its disk holds ${formatDurable(host.durable)}`);
  }

  private restart(id: string, out: Output): void {
    const host = this.hosts.get(id)!;
    if (host.machine !== null) throw new Error(`${id} is running`);
    this.boot(host, out);
  }

  /** `partition a b | c`: cuts every link between the groups; the members not named form one more group. */
  private partition(args: string[], out: Output): void {
    const groups = args
      .join(' ')
      .split('|')
      .map((group) => group.trim().split(/\s+/).filter(Boolean).map((id) => this.node(id)));
    const named = new Set(groups.flat());
    const rest = this.members.filter((id) => !named.has(id));
    if (rest.length > 0) groups.push(rest);
    const groupOf = (id: string): number => groups.findIndex((group) => group.includes(id));
    for (const from of this.members) for (const to of this.members) if (groupOf(from) !== groupOf(to)) this.cuts.add(link(from, to));
    out.note(groups.map((group) => group.join(' ')).join(' | '));
  }

  private hint(id: string, peer: string, out: Output): void {
    this.act(this.running(id), `${id} hears ${peer}'s connection close`, out, (machine) => machine.hint({ kind: 'peer-down', peer }, this.now));
  }

  private transfer(id: string, target: string, out: Output): void {
    const outcome: { result?: ActionResult } = {};
    this.act(this.running(id), `${id} transfers leadership to ${target}`, out, (machine) => {
      outcome.result = machine.transferLeadership(target, this.now);
    });
    if (outcome.result?.ok === false) out.change(`refused: ${outcome.result.error}`);
  }

  /** `priority <id> <n>`: every running node learns the new table at once (setLeadership); a node that boots later boots with it. */
  private priority(id: string, priority: number, out: Output): void {
    if (!Number.isInteger(priority) || priority < 0) throw new Error(`a priority is an integer from 0, got "${priority}"`);
    this.leadership = { ...this.leadership, priorities: { ...this.leadership.priorities, [id]: priority } };
    const table = Object.entries(this.leadership.priorities)
      .map(([member, value]) => `${member}=${value}`)
      .join(' ');
    for (const host of this.hosts.values()) {
      if (host.machine === null) continue;
      this.act(host, `${host.id} learns priorities ${table}`, out, (machine) => machine.setLeadership(this.leadership, this.now));
    }
  }

  private status(ids: readonly string[], out: Output): void {
    out.note(`time ${formatTime(this.now)}`);
    for (const id of ids) {
      const host = this.hosts.get(id)!;
      if (host.machine === null) {
        out.note(`${id} down; disk: ${formatDurable(host.durable)}`);
        continue;
      }
      const lease = host.machine.leaseExpiresAt(this.now);
      out.note(`${id} ${formatStatus(host.machine.status())}${lease === null ? '' : ` lease until ${formatTime(lease)}`}`);
    }
  }

  /** When each node must be ticked next (its ready().wakeAt). */
  private timers(out: Output): void {
    for (const host of this.hosts.values()) {
      out.note(`${host.id} ${host.machine === null ? 'down' : Number.isFinite(host.wakeAt) ? `wakes at ${formatTime(host.wakeAt)}` : 'waits for no timer'}`);
    }
  }

  private node(id: string | undefined): string {
    if (id === undefined || !this.hosts.has(id)) throw new Error(`no node "${id ?? ''}" (${this.members.join(', ')})`);
    return id;
  }

  private running(id: string): Host {
    const host = this.hosts.get(id)!;
    if (host.machine === null) throw new Error(`${id} is down`);
    return host;
  }
}
