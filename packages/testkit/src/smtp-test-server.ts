// A real SMTP server for tests (CHANNELS.md "Email"): the `smtp-server` package on 127.0.0.1:0,
// every accepted message parsed with mailparser's simpleParser. It answers 450/550 on demand,
// at RCPT TO or at DATA, so both the retryable and the permanent paths of a client are tested
// against real SMTP replies. Plain text only (no TLS, STARTTLS disabled): it never leaves the host.
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerSession } from 'smtp-server';

export type SmtpRejectCode = 450 | 550;

export interface ReceivedMail extends ParsedMail {
  /** The SMTP envelope, as the server saw it (MAIL FROM / RCPT TO). */
  envelope: { from: string; to: string[] };
  /** The message exactly as received, headers and body. */
  raw: string;
}

export interface SmtpTestServerOptions {
  /** When set, clients must log in with these credentials (AUTH PLAIN/LOGIN, in clear text: test only). */
  auth?: { user: string; pass: string };
}

export interface SmtpTestServer {
  /** `smtp://127.0.0.1:<port>`, without credentials. */
  url: string;
  port: number;
  /** Every accepted message, in arrival order; a message is here before its 250 reply is sent. */
  messages: ReceivedMail[];
  /** Connections opened so far, and the most open at once (to see a pool reuse its connections). */
  stats: { connections: number; open: number; maxOpen: number };
  /** Refuses the next `n` messages (default 1) with this code, at DATA (default) or at RCPT TO. */
  rejectNext(code: SmtpRejectCode, n?: number, at?: 'rcpt' | 'data'): void;
  /** Refuses this recipient at RCPT TO with this code until the server closes. */
  rejectRecipient(address: string, code: SmtpRejectCode): void;
  close(): Promise<void>;
}

// Reply texts of a typical MTA; the server adds the enhanced status code (450 → 4.2.1, 550 → 5.1.1).
const REPLY_TEXT: Record<SmtpRejectCode, { rcpt: string; data: string }> = {
  450: { rcpt: 'Mailbox temporarily unavailable, try again later', data: 'Requested action not taken, try again later' },
  550: { rcpt: 'Mailbox unavailable: no such user', data: 'Message refused' },
};

function smtpError(code: SmtpRejectCode, at: 'rcpt' | 'data'): Error {
  return Object.assign(new Error(REPLY_TEXT[code][at]), { responseCode: code });
}

export async function startSmtpTestServer(opts: SmtpTestServerOptions = {}): Promise<SmtpTestServer> {
  const messages: ReceivedMail[] = [];
  const stats = { connections: 0, open: 0, maxOpen: 0 };
  const pending: { code: SmtpRejectCode; at: 'rcpt' | 'data' }[] = [];
  const refusedRecipients = new Map<string, SmtpRejectCode>();

  // The next queued rejection for this stage, consumed; rejections queue in the order asked.
  const takeRejection = (at: 'rcpt' | 'data') => (pending[0]?.at === at ? pending.shift() : undefined);

  const server = new SMTPServer({
    name: 'smtp.test',
    secure: false,
    disabledCommands: opts.auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !opts.auth,
    allowInsecureAuth: Boolean(opts.auth),
    // Real MTAs answer with RFC 3463 enhanced codes (550 5.1.1); smtp-server hides them by default.
    hideENHANCEDSTATUSCODES: false,
    logger: false,
    // A test's close() should not wait out a client's idle pooled connection.
    closeTimeout: 100,
    onConnect(_session, callback) {
      stats.connections++;
      stats.open++;
      stats.maxOpen = Math.max(stats.maxOpen, stats.open);
      callback();
    },
    onClose() {
      stats.open--;
    },
    onAuth(auth, _session, callback) {
      if (opts.auth && auth.username === opts.auth.user && auth.password === opts.auth.pass) return callback(null, { user: auth.username });
      callback(Object.assign(new Error('Authentication credentials invalid'), { responseCode: 535 }));
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const refused = refusedRecipients.get(address.address.toLowerCase());
      if (refused) return callback(smtpError(refused, 'rcpt'));
      const rejection = takeRejection('rcpt');
      callback(rejection ? smtpError(rejection.code, 'rcpt') : undefined);
    },
    onData(stream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      let answered = false;
      const answer = (err?: Error) => {
        if (!answered) callback(err);
        answered = true;
      };
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', answer);
      stream.on('end', () => {
        const rejection = takeRejection('data');
        if (rejection) return answer(smtpError(rejection.code, 'data'));
        const raw = Buffer.concat(chunks).toString('utf8');
        const envelope = {
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
        };
        simpleParser(raw).then((parsed) => {
          messages.push(Object.assign(parsed, { envelope, raw }));
          answer();
        }, answer);
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A client that drops its connection mid-session makes the server emit 'error': not a test failure.
  server.on('error', () => {});
  const address = server.server.address();
  if (!address || typeof address === 'string') throw new Error('smtp test server: no TCP address');

  return {
    url: `smtp://127.0.0.1:${address.port}`,
    port: address.port,
    messages,
    stats,
    rejectNext(code, n = 1, at = 'data') {
      for (let i = 0; i < n; i++) pending.push({ code, at });
    },
    rejectRecipient(addr, code) {
      refusedRecipients.set(addr.toLowerCase(), code);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
