/**
 * The dashboard's view of time: how long a leader change takes to reach a /control client once
 * the hub recorded it (it is not held back by snapshot coalescing), and how long a command takes
 * to be acknowledged and to show in a snapshot.
 */
import { summarize, type Summary } from '../shared/analysis/stats.js';
import { poll, progress, sleep } from './lib.js';
import { serveAndWatch } from './served.js';

export interface HubLatencyResult {
  rounds: number;
  /** From the hub recording the new leader's majority (event.at) to a client receiving the event, ms. */
  leaderEventDeliveryMs: Summary;
  /** From the hub recording it to a client receiving a snapshot that shows the new leader, ms. */
  leaderSnapshotDelayMs: Summary;
  /** From sending a command to its acknowledgement, and to the first snapshot that reflects it, ms. */
  commandAckMs: Summary;
  commandSnapshotMs: Summary;
}

export async function benchHubLatency(rounds: number): Promise<HubLatencyResult> {
  const watched = await serveAndWatch(['--nodes', '5', '--seed', '11']);
  const eventDelivery: number[] = [];
  const snapshotDelay: number[] = [];
  const ack: number[] = [];
  const toSnapshot: number[] = [];
  try {
    for (let round = 1; round <= rounds; round++) {
      const old = watched.latest()!.leader!;
      const eventsBefore = watched.events.length;
      await watched.send({ type: 'kill', nodeId: old.id });
      const quorum = await poll(
        () => watched.events.slice(eventsBefore).find(({ event }) => event.type === 'quorum' && event.leaderId !== null && event.leaderId !== old.id) ?? null,
        2,
        10_000,
      );
      if (quorum !== null) {
        eventDelivery.push(quorum.receivedAt - quorum.event.at);
        const shown = await poll(() => watched.snapshots.find(({ snapshot, receivedAt }) => receivedAt >= quorum.receivedAt - 1 && snapshot.leader !== null && snapshot.leader.id !== old.id) ?? null, 2, 5_000);
        if (shown !== null) snapshotDelay.push(shown.receivedAt - quorum.event.at);
      }
      await watched.send({ type: 'restart', nodeId: old.id });
      await sleep(400);
      const follower = watched.latest()!.nodes.find((node) => node.status === 'up' && node.role !== 'leader')!;
      const sentAt = Date.now();
      await watched.send({ type: 'pause', nodeId: follower.id });
      ack.push(Date.now() - sentAt);
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
    leaderEventDeliveryMs: summarize(eventDelivery),
    leaderSnapshotDelayMs: summarize(snapshotDelay),
    commandAckMs: summarize(ack),
    commandSnapshotMs: summarize(toSnapshot),
  };
}
