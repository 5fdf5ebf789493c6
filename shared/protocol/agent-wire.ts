/**
 * The wire between `conclave agent` processes, their supervisors, and the consoles that attach to
 * them (docs/agent-protocol.md). Frames are a 4-byte big-endian length and that many bytes of
 * UTF-8 JSON; every frame is checked against these schemas before it is acted on, and the
 * sender of a peer message is the member the connection authenticated as.
 *
 * A connection opens with a challenge-response that proves both ends know the key of the client's
 * role (the cluster token for peers, the console token for consoles) without sending it: the
 * server sends a nonce, the client says who it is and whom it means to reach, the server proves
 * itself with an HMAC-SHA256 over all of it, and only then does the client prove itself.
 */
import { z } from 'zod';
import { ALGORITHMS, ROLES, TERM_MAX } from '../core/election.js';
import { MAX_PRIORITY } from '../core/leadership.js';
import { CLOCK_DRIFT_MAX_LIMIT } from '../core/lease.js';
import { MEMBER_ID_PATTERN, capabilitiesSchema, preferredLeaderSchema } from './cluster-file.js';
import { TARGET_CONTROLS } from './types.js';

/** Both ends must speak the same version: each refuses another in the handshake, naming both. */
export const WIRE_VERSION = 3;
/** Frames above this are refused and the connection closed. */
export const FRAME_BYTES_MAX = 64 * 1024;
/** Messages per `sent` frame, so that a frame stays well below FRAME_BYTES_MAX even with 64-character ids. */
export const SENT_FRAME_MESSAGES_MAX = 200;
/** The handshake must complete within this long. */
export const HANDSHAKE_TIMEOUT_MS = 5_000;
/** Sockets still in their handshake (not authenticated) that a port holds at once; beyond, the oldest is closed. */
export const HANDSHAKES_MAX = 64;
/** Of those, from one (non-loopback) address; beyond, a new one is closed at once. */
export const HANDSHAKES_PER_ADDRESS_MAX = 8;

const id = z.string().regex(MEMBER_ID_PATTERN);
const nonce = z.string().regex(/^[A-Za-z0-9+/=]{16,128}$/);
const proof = z.string().regex(/^[0-9a-f]{64}$/);
/** Terms, election numbers and ballots: no node goes past TERM_MAX, so a higher one is a bug or an attack. */
const term = z.number().int().min(0).max(TERM_MAX);
const finite = z.number().finite();
const time = z.number().finite().min(0);
const priority = z.number().int().min(0).max(MAX_PRIORITY);
/** The rules that move leadership (null: the default delay, no rule). */
const leadershipSchema = z.object({ takeoverAfterMs: z.number().int().min(1).nullable(), preferredLeader: preferredLeaderSchema.nullable() }).strict();

/** Nesting and values an agent's free-form answers (inspect's machine) may have: a console passes them on to dashboards, whose encoders recurse. */
export const JSON_DEPTH_MAX = 8;
export const JSON_VALUES_MAX = 5_000;

/** Why `value` is not JSON within the bounds, or null: counted without recursion, so no depth can overflow a stack here. */
export function jsonShapeProblem(value: unknown, depthMax = JSON_DEPTH_MAX, valuesMax = JSON_VALUES_MAX): string | null {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 0 }];
  let values = 0;
  while (stack.length > 0) {
    const { value: next, depth } = stack.pop()!;
    if (++values > valuesMax) return `more than ${valuesMax} values`;
    if (next === null || typeof next === 'string' || typeof next === 'boolean' || (typeof next === 'number' && Number.isFinite(next))) continue;
    if (typeof next !== 'object') return `a ${typeof next} is not JSON`;
    if (depth >= depthMax) return `nested deeper than ${depthMax} levels`;
    for (const child of Array.isArray(next) ? next : Object.values(next)) stack.push({ value: child, depth: depth + 1 });
  }
  return null;
}

/** A JSON value within the bounds. */
const boundedJson = (depthMax = JSON_DEPTH_MAX, valuesMax = JSON_VALUES_MAX) =>
  z.unknown().superRefine((value, context) => {
    const problem = jsonShapeProblem(value, depthMax, valuesMax);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem });
  });

export const membershipSchema = z
  .object({
    algorithm: z.enum(ALGORITHMS),
    config: z
      .object({
        heartbeatMs: z.number().int().min(1),
        electionTimeoutMinMs: z.number().int().min(1),
        electionTimeoutMaxMs: z.number().int().min(1),
        preVote: z.boolean(),
        checkQuorum: z.boolean(),
        rankedTimeouts: z.boolean(),
      })
      .strict(),
    /** `priority` and `leadership` are left out at their defaults (cluster-file.ts, membershipOf). */
    members: z.array(z.object({ id, address: z.string().max(300), voting: z.boolean(), priority: priority.optional() }).strict()).min(1).max(101),
    leadership: leadershipSchema.optional(),
    /** Left out at the default drift bound. */
    lease: z.object({ clockDriftMax: z.number().min(0).max(CLOCK_DRIFT_MAX_LIMIT) }).strict().optional(),
  })
  .strict();

/** An election message as it crosses the wire: the envelope plus the algorithm's own few fields. */
export const electionMessageSchema = z
  .object({ kind: z.string().min(1).max(32), from: id, to: id, term })
  .catchall(z.union([z.boolean(), finite]))
  .refine((message) => Object.keys(message).length <= 8, 'too many fields');

export type Role = 'peer' | 'console';

// ---- Handshake ----

/** Any version is read, so that a client can say which one the server speaks when it is not its own. */
export const challengeFrame = z.object({ t: z.literal('challenge'), v: z.number().int().min(1), nonce, id: z.string().max(64) }).strict();

/** The client's introduction, without any proof yet: it proves itself only once the server has. */
export const helloFrame = z
  .object({
    t: z.literal('hello'),
    v: z.literal(WIRE_VERSION),
    role: z.enum(['peer', 'console']),
    /** A peer: its member id. A console: a name for logs (e.g. "console@laptop"). */
    id: z.string().min(1).max(64),
    /** The server the client means to reach (a peer: the member it dials): a server of another id refuses, so a hello cannot be relayed to another member. */
    to: z.string().min(1).max(64),
    nonce,
    /** A nonce the client's process drew when it started: a restarted process has another, a duplicated member id shows two. */
    instance: nonce,
    /** Peers: the membership they were started with, and its fingerprint. */
    membership: membershipSchema.optional(),
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/).optional(),
  })
  .strict();

/** The server proves first, over the challenge, the hello and its own instance, with the key of the hello's role. */
export const serverProofFrame = z.object({ t: z.literal('server-proof'), instance: nonce, proof }).strict();

/** Then the client, over everything so far. */
export const clientProofFrame = z.object({ t: z.literal('client-proof'), proof }).strict();

/** The first sealed frame from the server: what it tells the client it admitted (a member tells peers its membership). */
export const welcomeFrame = z.object({ t: z.literal('welcome'), membership: membershipSchema.optional(), fingerprint: z.string().optional() }).strict();

/** A refusal: unsealed before the client proved itself (a version, a server id, a proof), sealed after (the server's own reasons). */
export const refusedFrame = z.object({ t: z.literal('refused'), reason: z.string().max(500) }).strict();

// ---- Between peers ----

export const peerFrame = z.discriminatedUnion('t', [
  z.object({ t: z.literal('msg'), m: electionMessageSchema }).strict(),
  /** The sender is stopping on purpose (SIGTERM): not a crash. */
  z.object({ t: z.literal('bye') }).strict(),
  /** A keepalive, on a connection that carried nothing for a heartbeat interval: the sender is there. */
  z.object({ t: z.literal('ka') }).strict(),
]);

// ---- Console to agent or supervisor ----

export const linkFaultSchema = z
  .object({
    cut: z.boolean(),
    dropProbability: z.number().min(0).max(1),
    latencyMs: z.number().min(0).max(10_000).nullable(),
    jitterMs: z.number().min(0).max(10_000).nullable(),
    duplicateProbability: z.number().min(0).max(1),
  })
  .strict();

/**
 * The fault rules a console sets: directed links blocked one by one, and, for a partition into
 * groups, the groups (every link between two groups is blocked: O(n) on the wire where the links
 * would be O(n²)); plus the link faults.
 */
export const networkTableSchema = z
  .object({
    blocked: z.array(z.string().max(140)).max(101 * 100),
    groups: z.array(z.array(id).min(1).max(101)).max(101).optional(),
    links: z.array(z.object({ from: id.nullable(), to: id.nullable(), fault: linkFaultSchema }).strict()).max(101 * 100 + 1),
  })
  .strict();

export type WireNetworkTable = z.infer<typeof networkTableSchema>;

/** Whether a table sets no fault at all (setting it clears the faults). */
export function isEmptyTable(table: WireNetworkTable): boolean {
  return table.blocked.length === 0 && (table.groups ?? []).length === 0 && table.links.length === 0;
}

export const requestFrame = z
  .object({
    t: z.literal('req'),
    id: z.number().int().min(0),
    op: z.discriminatedUnion('op', [
      /** Clock offset: the agent answers with its own clock's reading. */
      z.object({ op: z.literal('ping'), sentAt: finite }).strict(),
      z.object({ op: z.literal('status') }).strict(),
      z.object({ op: z.literal('inspect') }).strict(),
      /** Replace the network fault rules this agent enforces, owned by this console, for leaseMs unless renewed. */
      z.object({ op: z.literal('faults'), table: networkTableSchema, version: z.string().min(1).max(80), leaseMs: z.number().int().min(1_000).max(600_000) }).strict(),
      z.object({ op: z.literal('renew'), version: z.string().min(1).max(80) }).strict(),
      z.object({ op: z.literal('transfer'), to: id }).strict(),
      /** Supervisors: act on the agent process. Kill and pause hold for leaseMs unless renewed. */
      z.object({ op: z.literal('child'), action: z.enum(['kill', 'start', 'pause', 'resume']), leaseMs: z.number().int().min(1_000).max(600_000) }).strict(),
      z.object({ op: z.literal('renew-child') }).strict(),
    ]),
  })
  .strict();

export type RequestOp = z.infer<typeof requestFrame>['op'];

// ---- Agent or supervisor to console ----

/**
 * Why a `renew` was refused, for the console to act on: `lapsed`, no table is in force (the agent
 * restarted, or the lease ran out): the console sets its table again; `replaced`, another
 * console set its own table since: the console lets it be and stops renewing.
 */
export const REFUSAL_CODES = ['lapsed', 'replaced'] as const;
export type RefusalCode = (typeof REFUSAL_CODES)[number];

export const nodeStatusSchema = z
  .object({ role: z.enum(ROLES), term, votedFor: id.nullable(), leaderId: id.nullable() })
  .strict();

/** An etcd-backed agent's election (`conclave agent --backend etcd`, docs/operators.md), as it sees it. */
export const etcdBackendStatusSchema = z
  .object({
    kind: z.literal('etcd'),
    /** The election's name: its keys are NAME/<lease id in hex>. */
    election: z.string().max(128),
    endpoints: z.array(z.string().max(300)).max(25),
    /** Whether this member campaigns (voting members) or only observes. */
    campaigning: z.boolean(),
    /** The TTL etcd granted this agent's lease (s); null while it holds none. */
    leaseTtlS: z.number().int().min(1).nullable(),
    /** This agent's key and its create revision (its place in line); null while it has none. */
    key: z.string().max(300).nullable(),
    revision: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable(),
    /** The leader's key as last read from etcd; null when there is none or the view is not current. */
    leaderKey: z.string().max(300).nullable(),
    /** Why this agent's view of the election is not current or it cannot campaign (etcd unreachable, a wrong password), in words; null when all is well. */
    problem: z.string().max(500).nullable(),
  })
  .strict();

export type EtcdBackendStatus = z.infer<typeof etcdBackendStatusSchema>;

/** What an agent tells consoles about itself. Times are its own clock's (ms, epoch-based, monotonic). */
export const agentStatusSchema = z
  .object({
    id,
    address: z.string().max(300),
    pid: z.number().int().min(1),
    version: z.string().max(40),
    /** The cluster file's members with their http and supervisor addresses (what a console attaches to). */
    members: z
      .array(z.object({ id, address: z.string().max(300), voting: z.boolean(), http: z.string().max(300), supervisor: z.string().max(300), priority: priority.optional() }).strict())
      .max(101),
    /** When leadership moves on its own, from the cluster file. */
    leadership: leadershipSchema.optional(),
    /** What this agent advertises: its cluster file's facts and what it measures (loadavg, freememMb, uptimeS, version). */
    capabilities: capabilitiesSchema().optional(),
    algorithm: z.enum(ALGORITHMS),
    config: membershipSchema.shape.config,
    faultLeaseMs: z.number().int().min(1_000),
    status: nodeStatusSchema,
    electionTimer: z.object({ startedAt: time, dueAt: time }).strict().nullable(),
    now: time,
    startedAt: time,
    /** Which peers this agent has a connection to, both ways, and how long ago it last heard from each (null: not connected). */
    peers: z.record(z.string(), z.object({ outbound: z.boolean(), inbound: z.boolean(), heardMsAgo: z.number().int().min(0).nullable().optional() }).strict()),
    faults: z.object({ table: networkTableSchema, version: z.string(), owner: z.string(), expiresInMs: z.number() }).strict().nullable(),
    supervised: z.boolean(),
    /** The leader lease (docs/lease.md): held, for how long still, or why not; null for an algorithm without one (Bully). */
    lease: z.object({ held: z.boolean(), expiresInMs: z.number().int().min(0).nullable(), reason: z.string().max(300).nullable() }).strict().nullable().optional(),
    /** The --on-elected command: null when none was given; `running` with its pid and the term it was started for. */
    leaderHook: z.object({ running: z.boolean(), pid: z.number().int().nullable(), term: term.nullable() }).strict().nullable().optional(),
    /** How this agent elects, when not with Conclave's own algorithm (the cluster file's): etcd-backed agents campaign in an etcd election. */
    backend: etcdBackendStatusSchema.optional(),
    /** Console controls this agent cannot carry out, each with the reason in words (an etcd-backed agent has no peer transport to fault). */
    unavailable: z.partialRecord(z.enum(TARGET_CONTROLS), z.string().max(300)).optional(),
  })
  .strict();

export type AgentStatus = z.infer<typeof agentStatusSchema>;

export const agentEventSchema = z.discriminatedUnion('type', [
  /** The agent (re)started: its status read from its durable state. */
  z.object({ type: z.literal('boot'), t: time, status: nodeStatusSchema }).strict(),
  z.object({ type: z.literal('status'), t: time, status: nodeStatusSchema, previous: nodeStatusSchema }).strict(),
  /** A state became durable; `status` is what it means (a vote, a promise). */
  z.object({ type: z.literal('persisted'), t: time, status: nodeStatusSchema }).strict(),
  /** A peer's connection closed without a goodbye: its process may have died. */
  z.object({ type: z.literal('peer-lost'), t: time, peer: id, reason: z.string().max(200) }).strict(),
  z.object({ type: z.literal('peer-joined'), t: time, peer: id }).strict(),
  z.object({ type: z.literal('lease-expired'), t: time, owner: z.string().max(64) }).strict(),
  z.object({ type: z.literal('write-error'), t: time, error: z.string().max(300) }).strict(),
  /** A peer said goodbye before its connection closed: it stopped on purpose (not a crash hint). */
  z.object({ type: z.literal('peer-left'), t: time, peer: id }).strict(),
  /** A connection claiming to be a peer was refused, or a peer refused ours: who, from where, and why in words. */
  z.object({ type: z.literal('peer-refused'), t: time, peer: z.string().max(64), address: z.string().max(300), reason: z.string().max(500) }).strict(),
  /** A console replaced the fault table this agent enforces (an empty table clears it). */
  z.object({ type: z.literal('faults-set'), t: time, owner: z.string().max(64), version: z.string().max(80), expiresInMs: z.number().nullable() }).strict(),
  /** This agent, leading, started handing leadership to `to` on its own (priority takeover, the preferred-leader rule), and why. */
  z.object({ type: z.literal('transfer'), t: time, to: id, reason: z.string().max(400) }).strict(),
  /** Messages from `peer` refused (`refused` of them since the last such event) because their term was implausibly far ahead of this agent's own, with no majority behind it. */
  z.object({ type: z.literal('term-refused'), t: time, peer: id, term, ownTerm: term, refused: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER) }).strict(),
  /** The --on-elected command started (this node leads `term`), was stopped, or exited on its own. */
  z.object({ type: z.literal('hook'), t: time, action: z.enum(['started', 'stopped', 'exited']), term, pid: z.number().int().nullable(), detail: z.string().max(200) }).strict(),
]);

export type AgentEvent = z.infer<typeof agentEventSchema>;

// ---- What an agent's answers carry (the `value` of an ok `res`) ----

/** ping: the console's own `sentAt` back, and the agent's clock reading when it answered. */
export const pingResultSchema = z.object({ sentAt: finite, agentNow: time }).strict();
/** faults: the lease in force (the agent may shorten the one asked for to the cluster's faultLeaseMs); null expiresInMs for an empty table. */
export const faultsResultSchema = z.object({ version: z.string().max(80), leaseMs: z.number().int().min(1_000), expiresInMs: z.number().nullable() }).strict();
/** renew: when the renewed table now lapses. */
export const renewResultSchema = z.object({ expiresInMs: z.number() }).strict();
/** inspect: the state machine's view of itself, what its disk holds, and the agent's clock. */
export const inspectResultSchema = z
  .object({
    machine: z.record(z.string().max(64), boundedJson(JSON_DEPTH_MAX - 1)).nullable(),
    durable: z.record(z.string(), z.union([z.string(), z.number(), z.null()])).nullable(),
    clock: z.object({ now: time, wallNow: time, startedAt: time }).strict(),
  })
  .strict();

/** A message an agent sent, as consoles animate it. */
export const sentMessageSchema = z
  .object({
    from: id,
    to: id,
    kind: z.string().max(32),
    /** A vote reply's answer, which decides how it is drawn (granted or denied). */
    granted: z.boolean().optional(),
    sentT: time,
    /** When it left this agent (after any delay a fault added); null when a fault dropped it. */
    deliverT: time.nullable(),
    dropped: z.enum(['partition', 'cut', 'loss']).nullable(),
    duplicate: z.boolean(),
    /**
     * Not dropped by a fault, yet it never left: the agent had no connection to the peer, or the
     * peer's connection was too far behind (deliverT is then null).
     */
    unsent: z.enum(['no-connection', 'backlog']).optional(),
  })
  .strict();

export const childStateSchema = z
  .object({
    state: z.enum(['up', 'paused', 'down']),
    pid: z.number().int().nullable(),
    /** Restarts the supervisor did on its own, after crashes nobody asked for. */
    restarts: z.number().int().min(0),
    /** How the last run ended, in words ("killed by the console", "exited with code 1"). */
    lastExit: z.string().max(200).nullable(),
    /** A console's kill or pause in force, and when it lapses unless renewed. */
    held: z.object({ action: z.enum(['kill', 'pause']), expiresInMs: z.number() }).strict().nullable(),
  })
  .strict();

export type ChildState = z.infer<typeof childStateSchema>;

export const pushFrame = z.discriminatedUnion('t', [
  /** The answer to a request: ok with an optional value, or an error in words (and, for some refusals, a code a console acts on). */
  z
    .object({ t: z.literal('res'), id: z.number().int().min(0), ok: z.boolean(), value: boundedJson(JSON_DEPTH_MAX + 2, FRAME_BYTES_MAX).optional(), error: z.string().max(500).optional(), code: z.enum(REFUSAL_CODES).optional() })
    .strict(),
  z.object({ t: z.literal('status'), status: agentStatusSchema }).strict(),
  z.object({ t: z.literal('event'), event: agentEventSchema }).strict(),
  /** Messages sent since the last batch, in frames of at most SENT_FRAME_MESSAGES_MAX; `missed` (on a batch's last frame) counts those left out because this console fell behind. */
  z.object({ t: z.literal('sent'), messages: z.array(sentMessageSchema).max(SENT_FRAME_MESSAGES_MAX), missed: z.number().int().min(0) }).strict(),
  /** Supervisors: the agent process's state. */
  z.object({ t: z.literal('child'), member: id, child: childStateSchema }).strict(),
]);

export type PushFrame = z.infer<typeof pushFrame>;
