/**
 * The layers inside electron/, lowest first (docs/architecture.md): a module may import its own
 * folder and the layers below it, never one above and never a sibling folder of its own layer.
 * Inside electron/targets/ the same holds one level down: the contract at the bottom, the model, the
 * scenario runner and the listener relay on it, the base, then one folder per adapter (which never import each
 * other), and the opener and the switch on top. The lint rule in eslint.config.js enforces it.
 */
export const ELECTRON_LAYERS = [
  ['base'],
  ['runtime', 'wire', 'clients', 'shell'],
  ['agent', 'targets'],
  ['sim', 'hub'],
  ['scenario'],
  ['serve.ts', 'preload.ts'],
  ['cli'],
  ['main.ts', 'start.ts'],
];

export const TARGETS_LAYERS = [
  ['target.ts'],
  ['model', 'scenario-runner.ts', 'relay.ts'],
  ['model-target.ts'],
  ['embedded', 'agents', 'etcd'],
  ['open.ts', 'switch.ts'],
];

/**
 * Where a path inside electron/ sits: its unit (a folder, or a file at a level's top) and the
 * unit's layer, one entry per level ([['targets', 2], ['etcd', 3]]); null outside electron/.
 */
export function placeOf(path) {
  const match = /(?:^|\/)electron\/(.+)$/.exec(path.replaceAll('\\', '/'));
  if (match === null) return null;
  const parts = match[1].replace(/\.js$/, '.ts').split('/');
  const levels = [];
  const top = parts[0];
  levels.push([top, ELECTRON_LAYERS.findIndex((units) => units.includes(top))]);
  if (top === 'targets' && parts.length > 1) {
    const inner = parts[1];
    levels.push([inner, TARGETS_LAYERS.findIndex((units) => units.includes(inner))]);
  }
  return levels;
}

/** Why importing `to` from `from` breaks the layers, or null. */
export function layerViolation(from, to) {
  const a = placeOf(from);
  const b = placeOf(to);
  if (a === null || b === null) return null;
  for (let level = 0; level < Math.min(a.length, b.length); level++) {
    const [unitA, layerA] = a[level];
    const [unitB, layerB] = b[level];
    if (unitA === unitB) continue;
    if (layerA === -1) return `${unitA} has no layer in test/layers.js: give it one`;
    if (layerB === -1) return `${unitB} has no layer in test/layers.js: give it one`;
    if (layerB > layerA) return `${unitA} (layer ${layerA}) must not import ${unitB} (layer ${layerB}, above it)`;
    if (layerB === layerA) return `${unitA} must not import ${unitB}: they are siblings on layer ${layerA}`;
    return null;
  }
  return null;
}

/**
 * The ESLint rule: every import, export-from and import() of a relative path is checked. The CLI
 * dispatcher's lazy import()s need no exception: cli/ sits above every command it loads.
 */
export const layersPlugin = {
  rules: {
    'no-upward-import': {
      meta: { type: 'problem', schema: [], docs: { description: 'Imports inside electron/ only point down its layers (test/layers.js).' } },
      create(context) {
        const file = context.filename;
        if (placeOf(file) === null) return {};
        const check = (node, source) => {
          if (typeof source?.value !== 'string' || !source.value.startsWith('.')) return;
          const dir = file.replaceAll('\\', '/').replace(/\/[^/]*$/, '');
          const target = normalize(`${dir}/${source.value}`);
          const problem = layerViolation(file, target);
          if (problem !== null) context.report({ node, message: `${problem} (test/layers.js, docs/architecture.md)` });
        };
        return {
          ImportDeclaration: (node) => check(node, node.source),
          ExportNamedDeclaration: (node) => check(node, node.source),
          ExportAllDeclaration: (node) => check(node, node.source),
          ImportExpression: (node) => check(node, node.source),
        };
      },
    },
  },
};

/** A path with its `.` and `..` segments resolved (POSIX separators). */
function normalize(path) {
  const out = [];
  for (const segment of path.split('/')) {
    if (segment === '..') out.pop();
    else if (segment !== '.') out.push(segment);
  }
  return out.join('/');
}
