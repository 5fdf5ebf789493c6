/** Network fault descriptions shared by the runtime, the protocol and the dashboard. */

/** Conditions on one directed link (or on every link). */
export interface LinkFault {
  /** Every message is dropped (a one-way cut when set on one direction only). */
  cut: boolean;
  /** Probability that a message is lost, 0..1. */
  dropProbability: number;
  /** One-way delay, replacing the fabric's base latency; null keeps the base. */
  latencyMs: number | null;
  /** Uniform jitter of ± this much around the latency; null keeps the base. */
  jitterMs: number | null;
  /** Probability that a message is delivered twice, 0..1. */
  duplicateProbability: number;
}

export const HEALTHY_LINK: LinkFault = { cut: false, dropProbability: 0, latencyMs: null, jitterMs: null, duplicateProbability: 0 };

export function isHealthy(fault: LinkFault): boolean {
  return !fault.cut && fault.dropProbability === 0 && fault.latencyMs === null && fault.jitterMs === null && fault.duplicateProbability === 0;
}

export const PARTITION_PRESETS = ['isolate-leader', 'halves', 'majorities-ring', 'bridge'] as const;
export type PartitionPreset = (typeof PARTITION_PRESETS)[number];

export const PARTITION_PRESET_LABELS: Record<PartitionPreset, string> = {
  'isolate-leader': 'Isolate the leader',
  halves: 'Random halves',
  'majorities-ring': 'Majorities ring',
  bridge: 'Bridge',
};

export function linkKey(from: string, to: string): string {
  return `${from}->${to}`;
}

/** Describes a link fault in words: "cut", "30% loss, 80±20 ms, 10% duplicated". */
export function describeLinkFault(fault: LinkFault): string {
  if (fault.cut) return 'cut';
  const parts: string[] = [];
  if (fault.dropProbability > 0) parts.push(`${Math.round(fault.dropProbability * 100)}% loss`);
  if (fault.latencyMs !== null || fault.jitterMs !== null) {
    parts.push(`${fault.latencyMs ?? 'base'}${fault.jitterMs !== null ? `±${fault.jitterMs}` : ''} ms`);
  }
  if (fault.duplicateProbability > 0) parts.push(`${Math.round(fault.duplicateProbability * 100)}% duplicated`);
  return parts.length === 0 ? 'healthy' : parts.join(', ');
}
