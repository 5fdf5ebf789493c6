/**
 * The partitions a command names: groups of nodes (those left out form one more group), or a
 * preset: isolate the leader, random halves, a bridge node that hears both sides, a majorities
 * ring (Jepsen's). Planned from the members (in rank order), the presets' randomness and the
 * leader; applying one is the network's concern (faults.ts).
 */
import type { Random } from '../../../shared/core/random.js';
import { linksBetween } from '../../../shared/network/link-rules.js';
import { PARTITION_PRESET_LABELS, linkKey, type PartitionPreset } from '../../../shared/protocol/faults.js';
import { refuse, unknownNode, type Refusal } from './refusals.js';

/** A partition to apply: its label, its groups when it is a split into groups, the links it blocks. */
export interface Partition {
  label: string;
  groups: string[][] | null;
  blocked: Set<string>;
}

export type PartitionPlan = { ok: true; partition: Partition } | Refusal;

function planned(partition: Partition): PartitionPlan {
  return { ok: true, partition };
}

export function partitionOfGroups(groups: string[][], members: readonly string[]): PartitionPlan {
  const seen = new Map<string, number>();
  for (const [index, group] of groups.entries()) {
    if (group.length === 0) return refuse(`group ${index + 1} of the partition is empty`);
    for (const id of group) {
      if (!members.includes(id)) return refuse(unknownNode(id, members));
      const other = seen.get(id);
      if (other !== undefined) return refuse(`${id} is in two groups (${other + 1} and ${index + 1}); a node belongs to one side`);
      seen.set(id, index);
    }
  }
  // Nodes left out form one more group together: { groups: [["n1"]] } isolates n1.
  const rest = members.filter((id) => !seen.has(id));
  const all = rest.length > 0 ? [...groups.map((group) => [...group]), rest] : groups.map((group) => [...group]);
  if (all.length < 2) return refuse('a partition needs at least two groups');
  const label = `Partition ${all.map((group) => `{${group.join(', ')}}`).join(' | ')}`;
  return planned({ label, groups: all, blocked: linksBetween(all) });
}

/** `leaderId`: the running leader of the highest term, the one `isolate-leader` cuts off. */
export function partitionOfPreset(preset: PartitionPreset, members: readonly string[], random: Random, leaderId: string | null): PartitionPlan {
  if (members.length < 2) return refuse('a single-node cluster cannot be partitioned');
  const shuffled = [...members];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  const byRank = (ids: string[]): string[] => ids.sort((a, b) => members.indexOf(a) - members.indexOf(b));
  const name = PARTITION_PRESET_LABELS[preset];
  switch (preset) {
    case 'isolate-leader': {
      if (leaderId === null) return refuse('there is no leader to isolate');
      const groups = [[leaderId], members.filter((id) => id !== leaderId)];
      return planned({ label: `${name} (${leaderId})`, groups, blocked: linksBetween(groups) });
    }
    case 'halves': {
      const half = Math.floor(shuffled.length / 2);
      const groups = [byRank(shuffled.slice(0, half)), byRank(shuffled.slice(half))];
      return planned({ label: `${name}: {${groups[0]!.join(', ')}} | {${groups[1]!.join(', ')}}`, groups, blocked: linksBetween(groups) });
    }
    case 'bridge': {
      if (members.length < 3) return refuse('a bridge needs at least three nodes');
      const half = Math.floor((shuffled.length - 1) / 2);
      const left = byRank(shuffled.slice(0, half));
      const bridge = shuffled[half]!;
      const right = byRank(shuffled.slice(half + 1));
      return planned({ label: `${name} via ${bridge}: {${left.join(', ')}} | {${right.join(', ')}}`, groups: null, blocked: linksBetween([left, right]) });
    }
    case 'majorities-ring': {
      if (members.length < 3) return refuse('a majorities ring needs at least three nodes');
      // Each node hears only from the nodes in a window of majority size around it on a shuffled
      // ring: every node sees a majority, no two see the same one (Jepsen's majorities-ring).
      const size = shuffled.length;
      const window = Math.floor(size / 2) + 1;
      const back = Math.floor((window - 1) / 2);
      const blocked = new Set<string>();
      for (let position = 0; position < size; position++) {
        const visible = new Set(Array.from({ length: window }, (_, k) => shuffled[(position - back + k + size) % size]!));
        for (const from of members) if (!visible.has(from)) blocked.add(linkKey(from, shuffled[position]!));
      }
      return planned({ label: `${name} (${shuffled.join(' → ')})`, groups: null, blocked });
    }
  }
}
