/**
 * GET /metrics: the dashboard's figures in Prometheus' text format, named after etcd's where
 * they mean the same (has_leader, leader_changes_seen_total), so an operator's Grafana can
 * chart them. Values are read from the run analysis at scrape time.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { RunAnalysis, RunMetrics } from '../../shared/analysis/run.js';
import type { ClosingNotice, ClusterSnapshot } from '../../shared/protocol/types.js';

/** Figures computed for one metric are reused by the others of the same scrape. */
const SCRAPE_REUSE_MS = 50;

/** How the hub's `/control` clients fare: connected, refused requests, disconnected by the hub. */
export interface ControlStats {
  clients: number;
  refusedRequests: number;
  drops: Record<ClosingNotice['reason'], number>;
}

export interface MetricsSource {
  analysis(): RunAnalysis;
  snapshot(): ClusterSnapshot;
  control(): ControlStats;
}

export function createMetricsRegistry(source: MetricsSource): Registry {
  const registry = new Registry();
  const registers = [registry];
  // Every metric's collect() reads the same figures: compute them once per scrape.
  let cached: { at: number; value: { snapshot: ClusterSnapshot; metrics: RunMetrics; analysis: RunAnalysis } } | null = null;
  const read = () => {
    const now = performance.now();
    if (cached === null || now - cached.at > SCRAPE_REUSE_MS) {
      const snapshot = source.snapshot();
      const analysis = source.analysis();
      cached = { at: now, value: { snapshot, metrics: analysis.metrics(snapshot.t), analysis } };
    }
    return cached.value;
  };
  /** A counter whose total is known at scrape time. */
  const total = (name: string, help: string, value: () => number): void => {
    new Counter({
      name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  };
  const gauge = (name: string, help: string, value: () => number): void => {
    new Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  };

  new Gauge({
    name: 'conclave_info',
    help: 'The embedded cluster: algorithm and size (value is always 1).',
    labelNames: ['algorithm', 'nodes'],
    registers,
    collect() {
      const { snapshot } = read();
      this.reset();
      this.set({ algorithm: snapshot.algorithm, nodes: String(snapshot.nodes.length) }, 1);
    },
  });
  gauge('conclave_has_leader', 'Whether a leader is followed by a majority (1) or not (0), as etcd_server_has_leader.', () => (read().metrics.hasLeader ? 1 : 0));
  gauge('conclave_leader_term', 'The term (election number, ballot) of the current leader; 0 without one.', () => read().snapshot.leader?.term ?? 0);
  total('conclave_leader_changes_seen_total', 'Leaders elected, as etcd_server_leader_changes_seen_total.', () => read().metrics.leaderChanges);
  total('conclave_elections_started_total', 'Nodes that became candidates.', () => read().metrics.electionsStarted);
  total('conclave_pre_votes_started_total', 'Nodes that became pre-candidates (Raft pre-vote).', () => read().metrics.preVotesStarted);
  total('conclave_failovers_total', 'Leader losses followed by a new leader with a majority.', () => read().metrics.failovers);
  gauge('conclave_last_failover_seconds', 'Duration of the last failover (leader lost to a new leader followed by a majority).', () => (read().metrics.lastFailoverMs ?? 0) / 1000);
  new Gauge({
    name: 'conclave_failover_seconds',
    help: 'Failover durations: quantiles over the run.',
    labelNames: ['quantile'],
    registers,
    collect() {
      const { failoverMs } = read().metrics;
      this.reset();
      if (failoverMs.count === 0) return;
      this.set({ quantile: '0.5' }, failoverMs.p50 / 1000);
      this.set({ quantile: '0.99' }, failoverMs.p99 / 1000);
    },
  });
  total('conclave_leaderless_seconds_total', 'Time without a leader followed by a majority.', () => read().metrics.leaderlessMs / 1000);
  gauge('conclave_availability_ratio', 'Fraction of the run with a leader followed by a majority.', () => read().metrics.availability);
  new Counter({
    name: 'conclave_messages_sent_total',
    help: 'Messages sent, by kind.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const [kind, count] of Object.entries(read().metrics.messagesTotal)) this.inc({ kind }, count);
    },
  });
  total('conclave_messages_dropped_total', 'Messages the network fabric dropped (partitions, cuts, loss).', () => read().metrics.droppedTotal);
  new Counter({
    name: 'conclave_safety_violations_total',
    help: 'Safety violations seen: two leaders in one term, a vote given twice in a term, a vote in an older term.',
    labelNames: ['kind'],
    registers,
    collect() {
      this.reset();
      for (const alarm of read().analysis.alarms) if (alarm.severity === 'violation') this.inc({ kind: alarm.kind });
    },
  });
  new Gauge({
    name: 'conclave_nodes',
    help: 'Nodes by run state.',
    labelNames: ['status'],
    registers,
    collect() {
      this.reset();
      const nodes = read().snapshot.nodes;
      for (const status of ['up', 'paused', 'down'] as const) this.set({ status }, nodes.filter((node) => node.status === status).length);
    },
  });
  new Gauge({
    name: 'conclave_node_term',
    help: "Each node's current term (persisted term while down).",
    labelNames: ['node'],
    registers,
    collect() {
      this.reset();
      for (const node of read().snapshot.nodes) this.set({ node: node.id }, node.term);
    },
  });
  gauge('conclave_control_clients', 'Clients connected to /control.', () => source.control().clients);
  total('conclave_control_requests_refused_total', 'Requests to /control refused for exceeding the rate limit.', () => source.control().refusedRequests);
  new Counter({
    name: 'conclave_control_disconnects_total',
    help: 'Clients the hub disconnected: flood (too many requests) or slow (not reading what it sends).',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      for (const [reason, count] of Object.entries(source.control().drops)) this.inc({ reason }, count);
    },
  });
  return registry;
}
