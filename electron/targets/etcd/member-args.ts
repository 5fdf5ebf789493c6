/** The command line of one member of a new etcd cluster on this machine: the playground's, and the tests' own clusters. */
export interface EtcdMemberArgs {
  name: string;
  dataDir: string;
  clientUrl: string;
  /** The client URL it tells others (etcd's member list): its clientUrl unless given. */
  advertiseClientUrl?: string;
  /** Where the member listens for its peers. */
  listenPeerUrl: string;
  /** Where its peers reach it (the playground's proxy in front of it). */
  advertisePeerUrl: string;
  /** Every member's `name=advertised peer URL`, comma-separated. */
  initialCluster: string;
  clusterToken: string;
  heartbeatMs: number;
  electionTimeoutMs: number;
  /** Left out: etcd's default. */
  preVote?: boolean;
  /** "stderr", or a file. */
  logOutput: string;
}

export function etcdArgs(member: EtcdMemberArgs): string[] {
  return [
    '--name', member.name,
    '--data-dir', member.dataDir,
    '--listen-client-urls', member.clientUrl,
    '--advertise-client-urls', member.advertiseClientUrl ?? member.clientUrl,
    '--listen-peer-urls', member.listenPeerUrl,
    '--initial-advertise-peer-urls', member.advertisePeerUrl,
    '--initial-cluster', member.initialCluster,
    '--initial-cluster-state', 'new',
    '--initial-cluster-token', member.clusterToken,
    '--heartbeat-interval', String(member.heartbeatMs),
    '--election-timeout', String(member.electionTimeoutMs),
    ...(member.preVote === undefined ? [] : [`--pre-vote=${member.preVote}`]),
    '--logger', 'zap',
    '--log-outputs', member.logOutput,
  ];
}
