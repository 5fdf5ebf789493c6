/** Free TCP ports on 127.0.0.1 for what Conclave starts there itself: agent processes and playgrounds. */
import { createServer, type Server } from 'node:net';
import { allOrNone } from './all-or-none.js';

/** Free TCP ports on 127.0.0.1, held open together so that none is handed out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const close = (server: Server): Promise<unknown> => new Promise((resolve) => server.close(resolve));
  const servers = await allOrNone(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
    close,
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map(close));
  return ports;
}
