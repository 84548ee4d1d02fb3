import type { Server } from 'node:net';

/** Connections opened so far, and the most open at once: whether a client pools and reuses them. */
export interface ConnectionStats {
  connections: number;
  open: number;
  maxOpen: number;
}

/** Counts the TCP connections `server` accepts, as the SMTP test server counts its sessions. */
export function countConnections(server: Server): ConnectionStats {
  const stats: ConnectionStats = { connections: 0, open: 0, maxOpen: 0 };
  server.on('connection', (socket) => {
    stats.connections++;
    stats.open++;
    stats.maxOpen = Math.max(stats.maxOpen, stats.open);
    socket.once('close', () => stats.open--);
  });
  return stats;
}
