/**
 * The cluster file: every member of a real cluster of `conclave agent` processes, the same file
 * on every machine (docs/operators.md). JSON or YAML; defined once here with zod, which gives the
 * TypeScript type, the runtime check with field-named errors, and the JSON Schema published as
 * docs/cluster-file.schema.json.
 */
import { z } from 'zod';
import { ALGORITHMS, DEFAULT_ELECTION_CONFIG, type ElectionConfig } from '../core/election.js';
import { parseElectionConfig, TIMING_LIMIT_MS } from '../core/config.js';
import { CLOCK_DRIFT_MAX_LIMIT, DEFAULT_CLOCK_DRIFT_MAX } from '../core/lease.js';
import { DEFAULT_PRIORITY, MAX_PRIORITY, type Capabilities, type LeadershipConfig, type PreferredLeaderRule } from '../core/leadership.js';
import {
  CAPABILITY_KEY_PATTERN,
  DEFAULT_RULE_STABLE_MS,
  MAX_CAPABILITIES,
  MAX_CAPABILITY_NUMBER,
  MAX_CAPABILITY_TEXT,
  MAX_LEADERSHIP_MS,
  MAX_STATIC_CAPABILITIES,
  PREFER_DIRECTIONS,
} from './leadership.js';
import { ValidationError } from './validate.js';

export const MAX_MEMBERS = 101;
export const DEFAULT_FAULT_LEASE_MS = 10_000;
export const MEMBER_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** "host:port", "[v6]:port"; the port must be given. */
export const HOST_PORT_PATTERN = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

const hostPort = z
  .string()
  .regex(HOST_PORT_PATTERN, 'must be host:port, like 10.0.0.5:7400 or [::1]:7400')
  .refine((value) => {
    const port = Number(HOST_PORT_PATTERN.exec(value)?.[2]);
    return port >= 1 && port <= 65535;
  }, 'the port must be 1 to 65535');

const milliseconds = z.number().int().min(1).max(TIMING_LIMIT_MS);

const capabilityKey = z.string().regex(CAPABILITY_KEY_PATTERN, 'must be a name of letters, digits, dots, dashes or underscores starting with a letter (at most 32)');

/** Facts a member advertises, at most `max` (shared/protocol/leadership.ts has the same bounds for commands). */
export function capabilitiesSchema(max = MAX_CAPABILITIES) {
  return z
    .record(
      capabilityKey,
      z.union([z.string().min(1).max(MAX_CAPABILITY_TEXT), z.number().min(-MAX_CAPABILITY_NUMBER).max(MAX_CAPABILITY_NUMBER), z.boolean()]),
    )
    .refine((capabilities) => Object.keys(capabilities).length <= max, `at most ${max} capabilities`);
}

export const preferredLeaderSchema = z
  .object({
    capability: capabilityKey.describe('The numeric capability the rule reads, e.g. loadavg (measured by every agent).'),
    prefer: z.enum(PREFER_DIRECTIONS).describe('Which end of the values leads.'),
    margin: z.number().min(0).max(MAX_CAPABILITY_NUMBER).default(0).describe('How much better than the leader\'s a value must be to take over (hysteresis).'),
    stableMs: z.number().int().min(0).max(MAX_LEADERSHIP_MS).default(DEFAULT_RULE_STABLE_MS).describe('How long it must stay better by the margin, continuously.'),
  })
  .strict();

export const memberSchema = z
  .object({
    id: z
      .string()
      .regex(MEMBER_ID_PATTERN, 'must be 1 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit')
      .describe('The member\'s id, unique in the cluster; members are ranked in the order listed (Bully).'),
    /** Where peers and consoles reach this agent. */
    address: hostPort.describe('host:port where peers and consoles reach this agent.'),
    /** Voters elect and may lead; the others follow (etcd's learners). */
    voting: z.boolean().default(true).describe('Voters elect and may lead; the others follow and never count towards a quorum.'),
    /** Where the agent serves GET /leader and /status; default: the address's host, port + 1000. */
    http: hostPort.optional().describe('host:port of GET /leader and /status; default: the address\'s host, port + 1000.'),
    /** Where its supervisor (conclave agent --supervise) takes kill/restart/pause; default: port + 2000. */
    supervisor: hostPort.optional().describe('host:port where the supervisor (conclave agent --supervise) takes consoles; default: port + 2000.'),
    /** 0 never leads; higher priorities stand first and take over from lower ones (MongoDB's member priority). */
    priority: z
      .number()
      .int()
      .min(0)
      .max(MAX_PRIORITY)
      .default(DEFAULT_PRIORITY)
      .describe('0 to 1000 (default 1): 0 never leads (it still votes); a higher priority stands for election first and takes leadership over from a lower one.'),
    /** Static facts the member advertises, besides what the agent measures (loadavg, freememMb, uptimeS, version). */
    capabilities: capabilitiesSchema(MAX_STATIC_CAPABILITIES)
      .default({})
      .describe(`Static facts the member advertises (zone, disk...): at most ${MAX_STATIC_CAPABILITIES}, besides what its agent measures itself: loadavg, freememMb, uptimeS, version.`),
  })
  .strict();

export const clusterFileSchema = z
  .object({
    /** A name for people; not part of the fingerprint. */
    name: z.string().min(1).max(64).optional().describe('A name for people; not part of the membership fingerprint.'),
    algorithm: z.enum(ALGORITHMS).describe('The election algorithm every member runs.'),
    timing: z
      .object({
        heartbeatMs: milliseconds,
        electionTimeoutMinMs: milliseconds,
        electionTimeoutMaxMs: milliseconds,
        preVote: z.boolean(),
        checkQuorum: z.boolean(),
        rankedTimeouts: z.boolean(),
      })
      .partial()
      .strict()
      .optional()
      .describe('Timeouts in milliseconds and the Raft switches; each defaults to the app\'s default.'),
    leadership: z
      .object({
        takeoverAfterMs: z
          .number()
          .int()
          .min(1)
          .max(MAX_LEADERSHIP_MS)
          .optional()
          .describe('How long a member of higher priority than the leader must be reachable before it takes over; default 3 maximal election timeouts.'),
        preferredLeader: preferredLeaderSchema.optional().describe('Prefer the member with the lowest (or highest) value of a capability among the top priority present; off when left out.'),
      })
      .strict()
      .optional()
      .describe('When leadership moves on its own (Raft and Paxos): priority takeover, and the preferred-leader rule.'),
    lease: z
      .object({
        clockDriftMax: z
          .number()
          .min(0)
          .max(CLOCK_DRIFT_MAX_LIMIT)
          .describe(`How much faster or slower than real time any member's clock may run, as a fraction (default ${DEFAULT_CLOCK_DRIFT_MAX}: 1%); leases are shortened by it, so that no two members answer 200 on /leader at once even then.`),
      })
      .strict()
      .optional()
      .describe('The leader lease behind GET /leader and --on-elected (docs/lease.md).'),
    /** How long a fault a console set lasts without being renewed. */
    faultLeaseMs: z
      .number()
      .int()
      .min(1_000)
      .max(600_000)
      .default(DEFAULT_FAULT_LEASE_MS)
      .describe('How long a fault, kill or pause a console set lasts unless the console renews it.'),
    members: z.array(memberSchema).min(1).max(MAX_MEMBERS).describe('Every member, the same list on every machine.'),
  })
  .strict()
  .superRefine((file, context) => {
    const seen = new Map<string, number>();
    for (const [index, member] of file.members.entries()) {
      for (const [field, value] of [
        ['id', member.id],
        ['address', member.address],
      ] as const) {
        const key = `${field}:${value}`;
        const first = seen.get(key);
        if (first !== undefined) context.addIssue({ code: 'custom', path: ['members', index, field], message: `"${value}" is also members[${first}].${field}` });
        else seen.set(key, index);
      }
    }
    if (!file.members.some((member) => member.voting)) context.addIssue({ code: 'custom', path: ['members'], message: 'at least one member must vote' });
  });

export type ClusterFileInput = z.input<typeof clusterFileSchema>;
export type MemberEntry = z.output<typeof memberSchema>;

/** A checked cluster file with every default filled in. */
export interface ClusterDefinition {
  name: string | null;
  algorithm: (typeof ALGORITHMS)[number];
  config: ElectionConfig;
  /** The clock-drift bound leases allow for (shared/core/lease.ts). */
  clockDriftMax: number;
  faultLeaseMs: number;
  members: Array<Required<MemberEntry> & { capabilities: Capabilities }>;
  /** The members' priorities and the rules that move leadership. */
  leadership: LeadershipConfig;
}

/** Checks a parsed JSON/YAML document; the error names every field that is wrong. */
export function parseClusterFile(document: unknown, source = 'cluster file'): ClusterDefinition {
  const result = clusterFileSchema.safeParse(document);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `${issue.path.length === 0 ? '(top level)' : formatPath(issue.path)}: ${issue.message}`);
    throw new ValidationError(`${source}: ${problems.join('; ')}`);
  }
  const file = result.data;
  let config: ElectionConfig;
  try {
    config = parseElectionConfig({ ...DEFAULT_ELECTION_CONFIG, ...file.timing }, 'timing');
  } catch (error) {
    throw new ValidationError(`${source}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    name: file.name ?? null,
    algorithm: file.algorithm,
    config,
    clockDriftMax: file.lease?.clockDriftMax ?? DEFAULT_CLOCK_DRIFT_MAX,
    faultLeaseMs: file.faultLeaseMs,
    members: file.members.map((member) => ({
      ...member,
      http: member.http ?? offsetPort(member.address, 1_000),
      supervisor: member.supervisor ?? offsetPort(member.address, 2_000),
    })),
    leadership: {
      priorities: Object.fromEntries(file.members.map((member) => [member.id, member.priority])),
      takeoverAfterMs: file.leadership?.takeoverAfterMs ?? null,
      preferredLeader: file.leadership?.preferredLeader ?? null,
    },
  };
}

/** The same host with the port moved by `offset` (wrapping into the valid range would hide mistakes: it is refused). */
export function offsetPort(address: string, offset: number): string {
  const match = HOST_PORT_PATTERN.exec(address)!;
  const port = Number(match[2]) + offset;
  if (port > 65535) throw new ValidationError(`${address}: the default port ${port} (port + ${offset}) is out of range; give it explicitly`);
  return `${match[1]}:${port}`;
}

/** Splits "host:port" (brackets removed from an IPv6 host). */
export function splitHostPort(address: string): { host: string; port: number } {
  const match = HOST_PORT_PATTERN.exec(address);
  if (match === null) throw new ValidationError(`"${address.slice(0, 80)}" must be host:port`);
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port: Number(match[2]) };
}

/** A zod issue path as people write it: members[2].address. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`)).join('');
}

/**
 * What every member must agree on, canonically ordered: members (ids, addresses, voting
 * flags, priorities), the algorithm and its timing, and the rules that move leadership (members
 * that disagreed on who outranks whom would hand leadership back and forth). Peers with a
 * different one refuse each other. Defaults are left out (a default priority, no rules), so a
 * cluster that sets none keeps the fingerprint it had before priorities existed.
 */
export interface MembershipSummary {
  algorithm: string;
  config: ElectionConfig;
  members: Array<{ id: string; address: string; voting: boolean; priority?: number }>;
  leadership?: { takeoverAfterMs: number | null; preferredLeader: PreferredLeaderRule | null };
  /** Left out at the default. */
  lease?: { clockDriftMax: number };
}

export function membershipOf(definition: ClusterDefinition): MembershipSummary {
  const { takeoverAfterMs, preferredLeader } = definition.leadership;
  return {
    algorithm: definition.algorithm,
    config: definition.config,
    members: definition.members.map(({ id, address, voting, priority }) => ({ id, address, voting, ...(priority === DEFAULT_PRIORITY ? {} : { priority }) })),
    ...(takeoverAfterMs === null && preferredLeader === null ? {} : { leadership: { takeoverAfterMs, preferredLeader } }),
    ...(definition.clockDriftMax === DEFAULT_CLOCK_DRIFT_MAX ? {} : { lease: { clockDriftMax: definition.clockDriftMax } }),
  };
}

/** Which field of two memberships differs, in words, or null when they agree. */
export function membershipDifference(ours: MembershipSummary, theirs: MembershipSummary): string | null {
  if (ours.algorithm !== theirs.algorithm) return `algorithm: ours is ${ours.algorithm}, theirs is ${theirs.algorithm}`;
  for (const key of Object.keys(ours.config) as Array<keyof ElectionConfig>) {
    if (ours.config[key] !== theirs.config[key]) return `timing.${key}: ours is ${String(ours.config[key])}, theirs is ${String(theirs.config[key])}`;
  }
  if (ours.members.length !== theirs.members.length) return `members: we list ${ours.members.length}, they list ${theirs.members.length}`;
  for (const [index, member] of ours.members.entries()) {
    const other = theirs.members[index]!;
    for (const field of ['id', 'address', 'voting'] as const) {
      if (member[field] !== other[field]) return `members[${index}].${field}: ours is ${String(member[field])}, theirs is ${String(other[field])}`;
    }
    const [mine, yours] = [member.priority ?? DEFAULT_PRIORITY, other.priority ?? DEFAULT_PRIORITY];
    if (mine !== yours) return `members[${index}].priority: ours is ${mine}, theirs is ${yours}`;
  }
  const rules = (summary: MembershipSummary) => summary.leadership ?? { takeoverAfterMs: null, preferredLeader: null };
  const [mine, yours] = [rules(ours), rules(theirs)];
  if (mine.takeoverAfterMs !== yours.takeoverAfterMs) return `leadership.takeoverAfterMs: ours is ${String(mine.takeoverAfterMs ?? 'the default')}, theirs is ${String(yours.takeoverAfterMs ?? 'the default')}`;
  if (JSON.stringify(mine.preferredLeader) !== JSON.stringify(yours.preferredLeader)) {
    return `leadership.preferredLeader: ours is ${JSON.stringify(mine.preferredLeader)}, theirs is ${JSON.stringify(yours.preferredLeader)}`;
  }
  const [ourDrift, theirDrift] = [ours.lease?.clockDriftMax ?? DEFAULT_CLOCK_DRIFT_MAX, theirs.lease?.clockDriftMax ?? DEFAULT_CLOCK_DRIFT_MAX];
  if (ourDrift !== theirDrift) return `lease.clockDriftMax: ours is ${ourDrift}, theirs is ${theirDrift}`;
  return null;
}
