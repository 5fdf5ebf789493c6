/** The layering lint rule inside electron/ (test/layers.js): it must reject what points up or sideways. */
import { ESLint } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const eslint = new ESLint({ cwd: root, overrideConfigFile: 'test/eslint.config.js' });

async function layerProblems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((message) => message.ruleId === 'layers/no-upward-import').map((message) => message.message);
}

describe('the layers inside electron/', () => {
  it.each([
    ['electron/runtime/example.ts', "import { startHub } from '../hub/hub.js';\nexport { startHub };\n", /runtime \(layer 1\) must not import hub \(layer 3, above it\)/],
    ['electron/targets/model/example.ts', "import { ModelTarget } from '../model-target.js';\nexport { ModelTarget };\n", /model \(layer 1\) must not import model-target\.ts \(layer 2, above it\)/],
    ['electron/targets/etcd/example.ts', "export { AttachedCluster } from '../agents/attached.js';\n", /etcd must not import agents: they are siblings on layer 3/],
    ['electron/base/example.ts', "export * from '../cli/flags.js';\n", /base \(layer 0\) must not import cli/],
    ['electron/runtime/lazy.ts', "export const load = () => import('../serve.js');\n", /runtime \(layer 1\) must not import serve\.ts/],
    ['electron/gadgets/example.ts', "export * from '../base/flags.js';\n", /gadgets has no layer in test\/layers\.js/],
  ])('rejects %s importing upwards or sideways', async (filePath, code, problem) => {
    expect(await layerProblems(filePath, code)).toEqual([expect.stringMatching(problem)]);
  });

  it.each([
    ['electron/hub/example.ts', "import type { Target } from '../targets/target.js';\nexport type { Target };\n"],
    ['electron/targets/etcd/example.ts', "export { ModelTarget } from '../model-target.js';\nexport { freePorts } from '../../base/free-ports.js';\n"],
    ['electron/cli/cli.ts', "export const load = () => import('../serve.js');\n"],
    ['shared/example.ts', "export const x = 1;\n"],
  ])('lets %s import downwards (the CLI dispatcher loads the commands below it lazily)', async (filePath, code) => {
    expect(await layerProblems(filePath, code)).toEqual([]);
  });
});
