/**
 * Where each node sits on the topology: one ring up to 30 nodes, then two or three concentric
 * rings, filling the panel whatever its shape; node circles as large as their neighbours allow.
 */
export interface Placement {
  id: string;
  x: number;
  y: number;
  r: number;
  /** Angle from the centre (radians): labels go outwards along it. */
  angle: number;
}

/** Room left around the outer ring for labels and the timer arcs. */
const OUTER_MARGIN = 34;
const MIN_NODE_R = 6;
const MAX_NODE_R = 30;

function ringCount(count: number): number {
  if (count <= 30) return 1;
  return count <= 64 ? 2 : 3;
}

export function ringLayout(ids: readonly string[], width: number, height: number): Placement[] {
  const count = ids.length;
  const cx = width / 2;
  const cy = height / 2;
  if (count === 0) return [];
  if (count === 1) return [{ id: ids[0]!, x: cx, y: cy, r: MAX_NODE_R, angle: -Math.PI / 2 }];
  const rings = ringCount(count);
  const outer = Math.max(40, Math.min(width, height) / 2 - OUTER_MARGIN);
  // Rings shrink towards the centre; each holds nodes in proportion to its circumference.
  const radii = Array.from({ length: rings }, (_, index) => outer * (1 - index * (rings === 2 ? 0.34 : 0.28)));
  const total = radii.reduce((sum, radius) => sum + radius, 0);
  const sizes = radii.map((radius) => Math.floor((count * radius) / total));
  for (let left = count - sizes.reduce((sum, size) => sum + size, 0), index = 0; left > 0; left--, index = (index + 1) % rings) sizes[index]! += 1;
  const spacing = Math.min(...radii.map((radius, index) => (2 * Math.PI * radius) / Math.max(1, sizes[index]!)));
  const ringGap = rings === 1 ? Infinity : outer - radii[1]!;
  const r = Math.max(MIN_NODE_R, Math.min(MAX_NODE_R, spacing * 0.36, ringGap * 0.3, outer * 0.22));
  const placements: Placement[] = [];
  let next = 0;
  radii.forEach((radius, ring) => {
    const size = sizes[ring]!;
    // Inner rings are turned by half a step so that their nodes sit between the outer ones.
    const offset = ring % 2 === 1 ? Math.PI / size : 0;
    for (let index = 0; index < size; index++) {
      const angle = (2 * Math.PI * index) / size - Math.PI / 2 + offset;
      placements.push({ id: ids[next++]!, x: cx + radius * Math.cos(angle), y: cy + radius * Math.sin(angle), r, angle });
    }
  });
  return placements;
}
