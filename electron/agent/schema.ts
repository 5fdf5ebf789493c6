/**
 * The cluster file's JSON Schema, generated from its zod definition (shared/protocol/cluster-file.ts)
 * and published as docs/cluster-file.schema.json for editors and other tools. A test keeps the
 * published file equal to this.
 */
import { z } from 'zod';
import { clusterFileSchema } from '../../shared/protocol/cluster-file.js';

export function clusterFileJsonSchema(): string {
  const schema = z.toJSONSchema(
    clusterFileSchema.meta({
      title: 'Conclave cluster file',
      description:
        'Every member of a real cluster of `conclave agent` processes; the same file (JSON or YAML) on every machine. See docs/operators.md. Beyond this schema: ids and addresses are unique, at least one member votes, and the election timeout range must suit the heartbeat.',
    }),
    { io: 'input' },
  );
  return `${JSON.stringify(schema, null, 2)}\n`;
}
