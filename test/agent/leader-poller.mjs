// Polls one member's GET /leader every POLL_MS and prints one line per answer: "<sent> <received> <status>",
// times in epoch ms with sub-millisecond precision (performance.timeOrigin + performance.now(), one clock for
// every process of the machine). Run by netns.test.ts inside a member's namespace; stops on SIGTERM.
// Usage: node leader-poller.mjs HOST:PORT POLL_MS
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { setTimeout } from 'node:timers';

const [address, pollText] = process.argv.slice(2);
const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
const pollMs = Number(pollText);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const now = () => performance.timeOrigin + performance.now();
let stopping = false;
process.on('SIGTERM', () => (stopping = true));

function poll() {
  if (stopping) return process.exit(0);
  const sent = now();
  const request = http.get({ host, port, path: '/leader', agent, timeout: 1_000 }, (response) => {
    response.resume();
    response.on('end', () => {
      process.stdout.write(`${sent.toFixed(3)} ${now().toFixed(3)} ${response.statusCode}\n`);
      setTimeout(poll, pollMs);
    });
  });
  request.on('timeout', () => request.destroy(new Error('timeout')));
  request.on('error', () => {
    process.stdout.write(`${sent.toFixed(3)} ${now().toFixed(3)} 0\n`);
    setTimeout(poll, pollMs);
  });
}
poll();
