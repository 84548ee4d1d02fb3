import { createServer } from 'node:net';

/**
 * A free port on 127.0.0.1. Webhook signatures cover the public URL, so an app under test must
 * know its address before it listens.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}
