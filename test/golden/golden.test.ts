/**
 * Runs every script in testdata/<algorithm>/*.txt (README.md), one test per file, and compares
 * each block's output with the one written under its commands. UPDATE_GOLDEN=1 rewrites the
 * expected outputs instead (review the diff before committing it).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';
import { Interpreter } from './interpreter.js';
import { EMPTY_OUTPUT, parseScript, rewriteScript } from './script.js';

const TESTDATA = fileURLToPath(new URL('testdata', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const UPDATE = process.env.UPDATE_GOLDEN === '1';

const scripts = readdirSync(TESTDATA, { recursive: true, encoding: 'utf8' })
  .filter((path) => path.endsWith('.txt'))
  .sort()
  .map((path) => join(TESTDATA, path));

for (const path of scripts) {
  const name = relative(ROOT, path);
  it(name, () => {
    const text = readFileSync(path, 'utf8');
    const blocks = parseScript(text, name);
    const interpreter = new Interpreter();
    const outputs: string[] = [];
    for (const block of blocks) {
      const lines: string[] = [];
      for (const [offset, command] of block.commands.entries()) {
        try {
          lines.push(...interpreter.run(command));
        } catch (error) {
          throw new Error(`${name}:${block.line + offset}: ${command}: ${(error as Error).message}`, { cause: error });
        }
      }
      const actual = lines.length === 0 ? EMPTY_OUTPUT : lines.join('\n');
      outputs.push(actual);
      // Later blocks build on this one's state: the first difference is the one worth reading.
      if (!UPDATE) expect(actual, `${name}:${block.line}: output of "${block.commands.join('; ')}" differs`).toBe(block.expected);
    }
    if (UPDATE) writeFileSync(path, rewriteScript(text, blocks, outputs));
  });
}
