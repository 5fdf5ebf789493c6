/**
 * A malicious or broken agent must not hurt the console (issue 16): `conclave serve --attach` as
 * users run it, against scripted agents that answer `inspect` with a structure nested deep enough
 * to overflow an encoder's stack, and report messages of kinds named after Object's own
 * properties. The hub answers each with an error or leaves it out, and goes on serving everyone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RawJson } from '../../electron/wire/frames.js';
import { FAKE_TOKEN, FakeCluster } from '../support/fake-agent.js';
import { BUILT_CLI, startBuilt, stopProcess, type RunningServer } from '../support/processes.js';
import { connectControl, connected, waitFor, type ControlClient } from './harness.js';

let fakes: FakeCluster;
let served: RunningServer;
let client: ControlClient;

/** [[[...]]], `depth` arrays deep, as JSON text: two bytes per level, so 30,000 levels fit in one 64 KiB frame. */
function nested(depth: number): string {
  return `${'['.repeat(depth)}${']'.repeat(depth)}`;
}

beforeAll(async () => {
  fakes = await FakeCluster.start(['a1', 'a2', 'a3']);
  const now = Date.now();
  fakes.member('a1').inspectAnswer = new RawJson(`{"machine":{"deep":${nested(30_000)}},"durable":null,"clock":{"now":${now},"wallNow":${now},"startedAt":${now}}}`);
  served = await startBuilt(BUILT_CLI, ['serve', '--port', '0', '--attach', fakes.address('a2')], { ...process.env, CONCLAVE_CONSOLE_TOKEN: FAKE_TOKEN });
  client = connectControl(served.url).socket;
  await connected(client);
});

afterAll(async () => {
  client?.disconnect();
  if (served !== undefined) await stopProcess(served.process);
  await fakes?.stop();
});

describe('a hostile agent', () => {
  it('an answer nested 30,000 deep is refused by the schema (the agent is hung up on) and reported to that client; the hub serves on', async () => {
    const ack = await client.timeout(5_000).emitWithAck('inspect', 'a1');
    expect(ack).toMatchObject({ ok: true, node: { internals: { error: expect.stringMatching(/sent a frame that is not in the protocol: nested deeper than \d+ levels\)$/) } } });
    expect(served.process.exitCode).toBeNull();
    expect(await client.timeout(5_000).emitWithAck('inspect', 'a2')).toMatchObject({ ok: true, node: { internals: { machine: { role: 'follower' } } } });
  });

  it('message kinds named constructor, __proto__ or toString are not counted: /metrics keeps answering', async () => {
    const report = (): void => {
      const sentT = Date.now();
      const messages = ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'Heartbeat'].map((kind) => ({ from: 'a2', to: 'a3', kind, sentT, deliverT: sentT, dropped: null, duplicate: false }));
      fakes.push(fakes.member('a2'), { t: 'sent', messages, missed: 0 });
    };
    // Traffic is counted per interval: report until one holds the Heartbeat.
    const metrics = await waitFor(
      'the Heartbeat counted on /metrics',
      async () => {
        report();
        const response = await fetch(new URL('/metrics', served.url));
        expect(response.status).toBe(200);
        const text = await response.text();
        return /^conclave_messages_sent_total\{kind="Heartbeat"\} [1-9]/m.test(text) && text;
      },
      10_000,
    );
    expect(metrics).not.toMatch(/kind="(constructor|__proto__|toString|hasOwnProperty)"/);
    expect(served.process.exitCode).toBeNull();
  });
});
