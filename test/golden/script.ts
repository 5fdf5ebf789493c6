/**
 * The golden scripts' file format (cockroachdb/datadriven's): blocks of command lines, a `----`
 * line, then the expected output up to the next blank line. Lines starting with `#` between
 * blocks are comments. Parsing keeps where each block's output sits so that an update rewrites
 * only the outputs and leaves commands and comments as they were.
 */

export const SEPARATOR = '----';
/** What an empty output is written as: a blank line would end the block. */
export const EMPTY_OUTPUT = 'ok';

export interface Block {
  commands: string[];
  /** 1-based line number of the first command, for messages that name the file and line. */
  line: number;
  expected: string;
  /** 0-based index of the first line of expected output, and of the line after the last. */
  outputStart: number;
  outputEnd: number;
}

export function parseScript(text: string, file: string): Block[] {
  const lines = text.split('\n');
  const blocks: Block[] = [];
  let index = 0;
  while (index < lines.length) {
    const current = lines[index]!;
    if (current.trim() === '' || current.startsWith('#')) {
      index += 1;
      continue;
    }
    const first = index;
    const commands: string[] = [];
    while (index < lines.length && lines[index] !== SEPARATOR) {
      if (lines[index]!.trim() === '') throw new Error(`${file}:${first + 1}: a block's commands must end with a "${SEPARATOR}" line`);
      commands.push(lines[index]!);
      index += 1;
    }
    if (index === lines.length) throw new Error(`${file}:${first + 1}: no "${SEPARATOR}" line after ${JSON.stringify(commands[0])}`);
    index += 1;
    const outputStart = index;
    while (index < lines.length && lines[index]!.trim() !== '') index += 1;
    blocks.push({ commands, line: first + 1, expected: lines.slice(outputStart, index).join('\n'), outputStart, outputEnd: index });
  }
  return blocks;
}

/** The script with every block's expected output replaced by `outputs` (one per block). */
export function rewriteScript(text: string, blocks: readonly Block[], outputs: readonly string[]): string {
  const lines = text.split('\n');
  for (let i = blocks.length - 1; i >= 0; i--) {
    const block = blocks[i]!;
    lines.splice(block.outputStart, block.outputEnd - block.outputStart, ...outputs[i]!.split('\n'));
  }
  return lines.join('\n');
}
