// A switchable HTTP proxy in front of the fake Twilio, on a port that stays the same: it passes
// requests through, refuses connections (the port closed), answers 500s, or takes requests and
// never answers (the client's timeout ends them). The fake itself is left as it is.
import { createServer, type IncomingMessage, request, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type ProxyMode = 'pass' | 'refuse' | 'error500' | 'hang';

export interface FaultProxy {
  url: string;
  setMode(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const to = new URL(target);
  let mode: ProxyMode = 'pass';
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => handle(req, res));
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));

  function handle(req: IncomingMessage, res: ServerResponse) {
    if (mode === 'hang') return; // read, never answered
    if (mode === 'error500') {
      req.resume();
      // Twilio's error shape (CHANNELS.md), status 500: the adapter must treat it as temporary.
      res.writeHead(500, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          code: 20500,
          message: 'Internal Server Error',
          more_info: 'https://www.twilio.com/docs/errors/20500',
          status: 500,
        }),
      );
      return;
    }
    const upstream = request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers },
      (up) => (res.writeHead(up.statusCode ?? 502, up.headers), up.pipe(res)),
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  }

  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const { port } = server.address() as AddressInfo;
  const dropAll = () => {
    for (const s of sockets) s.destroy();
  };

  return {
    url: `http://127.0.0.1:${port}`,
    async setMode(next) {
      if (next === mode) return;
      if (mode === 'refuse') await listen(port);
      // Requests held by 'hang' end now, as a dropped connection.
      if (mode === 'hang') dropAll();
      if (next === 'refuse') {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        dropAll();
        await closed;
      }
      mode = next;
    },
    async close() {
      dropAll();
      if (mode !== 'refuse') await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
