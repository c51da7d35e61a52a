import { createServer, type AddressInfo, type Socket } from 'node:net';

/**
 * A loopback port that accepts connections and never answers: a store (or any server) that hangs.
 * Unlike closedPort(), nothing fails fast here; only the client's own timeout or abort ends a call.
 */
export interface BlackHole {
  readonly port: number;
  /** connections accepted so far */
  connections(): number;
  close(): Promise<void>;
}

export async function startBlackHole(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
    socket.resume(); // read and drop whatever is sent; never write
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}
