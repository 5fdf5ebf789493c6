/**
 * The dashboard's view of time: how long a leader change takes to reach a /control client once
 * the hub recorded it (it is not held back by snapshot coalescing), and how long a command takes
 * to be acknowledged and to show in a snapshot.
 */
import { summarize, type Summary } from '../shared/analysis/stats.js';
import { poll, progress, sleep, wallNow } from './lib.js';
import { serveAndWatch } from './served.js';

export interface HubLatencyResult {
  rounds: number;
  /** The baseline: a command the hub refuses at once (unknown node), sent → acknowledged, ms. */
  refusedCommandMs: Summary;
  /** From the hub recording the new leader's majority (event.at) to a client receiving the event, ms. */
  leaderEventDeliveryMs: Summary;
  /** From the hub recording it to a client receiving the first snapshot that shows the new leader, ms (negative: the snapshot came first). */
  leaderSnapshotDelayMs: Summary;
  /** From sending a command to its acknowledgement, and to the first snapshot that reflects it, ms. */
  commandAckMs: Summary;
  commandSnapshotMs: Summary;
}

export async function benchHubLatency(rounds: number): Promise<HubLatencyResult> {
  const watched = await serveAndWatch(['--nodes', '5', '--seed', '11']);
  const refused: number[] = [];
  const eventDelivery: number[] = [];
  const snapshotDelay: number[] = [];
  const ack: number[] = [];
  const toSnapshot: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const askedAt = performance.now();
      await watched.send({ type: 'pause', nodeId: 'no-such-node' });
      refused.push(performance.now() - askedAt);

      const old = watched.latest()!.leader!;
      const killedAt = wallNow();
      await watched.send({ type: 'kill', nodeId: old.id });
      const newLeader = (leaderId: string | null | undefined): boolean => leaderId !== null && leaderId !== undefined && leaderId !== old.id;
      const quorum = await poll(() => watched.events.find(({ event, receivedAt }) => receivedAt >= killedAt && event.type === 'quorum' && newLeader(event.leaderId)) ?? null, 2, 10_000);
      if (quorum !== null) {
        eventDelivery.push(quorum.receivedAt - quorum.event.at);
        const shown = await poll(() => watched.snapshots.find(({ snapshot, receivedAt }) => receivedAt >= killedAt && newLeader(snapshot.leader?.id)) ?? null, 2, 5_000);
        if (shown !== null) snapshotDelay.push(shown.receivedAt - quorum.event.at);
      }
      await watched.send({ type: 'restart', nodeId: old.id });
      await sleep(400);

      const follower = watched.latest()!.nodes.find((node) => node.status === 'up' && node.role !== 'leader')!;
      const sentAt = wallNow();
      await watched.send({ type: 'pause', nodeId: follower.id });
      ack.push(wallNow() - sentAt);
      const paused = await poll(() => watched.snapshots.find(({ snapshot, receivedAt }) => receivedAt >= sentAt && snapshot.nodes.some((node) => node.id === follower.id && node.status === 'paused')) ?? null, 2, 5_000);
      if (paused !== null) toSnapshot.push(paused.receivedAt - sentAt);
      await watched.send({ type: 'resume', nodeId: follower.id });
      await sleep(300);
      if (round % 10 === 0) progress(`hub latency: ${round}/${rounds} rounds`);
    }
  } finally {
    await watched.stop();
  }
  return {
    rounds,
    refusedCommandMs: summarize(refused),
    leaderEventDeliveryMs: summarize(eventDelivery),
    leaderSnapshotDelayMs: summarize(snapshotDelay),
    commandAckMs: summarize(ack),
    commandSnapshotMs: summarize(toSnapshot),
  };
}
