/**
 * Who can talk to whom right now, for the liveness checkers: an undirected graph of running
 * nodes joined where messages get through both ways, and cliques in it (Bron–Kerbosch with
 * pivoting; clusters are at most 101 nodes).
 */
export type Graph = Map<string, Set<string>>;

export function buildGraph(nodes: readonly string[], open: (from: string, to: string) => boolean): Graph {
  const graph: Graph = new Map(nodes.map((id) => [id, new Set<string>()]));
  for (const a of nodes) {
    for (const b of nodes) {
      if (a < b && open(a, b) && open(b, a)) {
        graph.get(a)!.add(b);
        graph.get(b)!.add(a);
      }
    }
  }
  return graph;
}

/** The size of the largest clique within `candidates` that contains every node of `required`. */
export function largestClique(graph: Graph, candidates: Iterable<string>, required: readonly string[] = []): number {
  let best = 0;
  let pool = new Set(candidates);
  for (const id of required) {
    if (!pool.has(id)) return 0;
    const neighbours = graph.get(id)!;
    pool = new Set([...pool].filter((other) => other === id || neighbours.has(other)));
  }
  for (const id of required) pool.delete(id);
  const expand = (size: number, candidatesLeft: Set<string>, excluded: Set<string>): void => {
    if (candidatesLeft.size === 0 && excluded.size === 0) {
      best = Math.max(best, size);
      return;
    }
    if (size + candidatesLeft.size <= best) return;
    const pivot = [...candidatesLeft, ...excluded].reduce((a, b) => (graph.get(a)!.size >= graph.get(b)!.size ? a : b));
    const pivotNeighbours = graph.get(pivot)!;
    for (const id of [...candidatesLeft]) {
      if (pivotNeighbours.has(id)) continue;
      const neighbours = graph.get(id)!;
      expand(
        size + 1,
        new Set([...candidatesLeft].filter((other) => neighbours.has(other))),
        new Set([...excluded].filter((other) => neighbours.has(other))),
      );
      candidatesLeft.delete(id);
      excluded.add(id);
    }
  };
  expand(required.length, pool, new Set());
  return best;
}

/** Every running node can reach every other both ways. */
export function fullyConnected(graph: Graph): boolean {
  const size = graph.size;
  for (const neighbours of graph.values()) if (neighbours.size !== size - 1) return false;
  return true;
}
