// At most `maxConnections` SMTP sessions (nodemailer's SMTPConnection), each sending one message
// at a time and kept open for the next, as nodemailer's pool does — without its queue, its timers
// and its per-message streams. The outbox is the retry: a message that fails is reported, never
// requeued here (a requeued message would outlive its delivery's lease and hide the attempt).
import SMTPConnection from 'nodemailer/lib/smtp-connection';

// Some servers end a session after about 100 messages; nodemailer's pool reconnects after 100 too.
const MAX_MESSAGES_PER_CONNECTION = 100;

export interface SmtpPoolOptions {
  /** Host, port, TLS and the timeouts, as SMTPConnection takes them. */
  connection: SMTPConnection.Options;
  auth?: { user: string; pass: string };
  maxConnections: number;
}

interface Session {
  conn: SMTPConnection;
  sent: number;
  busy: boolean;
  dead: boolean;
}

export interface SmtpPool {
  /** Sends `raw` (the message as sent after DATA) to the envelope. Rejects with nodemailer's errors (code, responseCode, command). */
  send(envelope: { from: string; to: string[] }, raw: Buffer): Promise<SMTPConnection.SentMessageInfo>;
  /** Closes idle sessions now and busy ones once their message is done. */
  close(): void;
}

export function createSmtpPool(opts: SmtpPoolOptions): SmtpPool {
  const idle: Session[] = [];
  const waiting: (() => void)[] = [];
  let open = 0;
  let closed = false;

  const wakeOne = () => waiting.shift()?.();

  // The one place a session leaves the pool: when it fails, ends, is used up or the pool closes.
  function drop(s: Session): void {
    if (s.dead) return;
    s.dead = true;
    open--;
    const i = idle.indexOf(s);
    if (i >= 0) idle.splice(i, 1);
    s.conn.close();
    wakeOne();
  }

  function release(s: Session): void {
    s.busy = false;
    if (s.dead) return;
    if (closed || s.sent >= MAX_MESSAGES_PER_CONNECTION) {
      s.dead = true;
      open--;
      s.conn.quit();
      wakeOne();
      return;
    }
    idle.push(s);
    wakeOne();
  }

  function connect(): Promise<Session> {
    const conn = new SMTPConnection(opts.connection);
    const s: Session = { conn, sent: 0, busy: true, dead: false };
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown) => {
        if (settled) return;
        settled = true;
        drop(s);
        reject(err);
      };
      // Always listened to: an unheard 'error' would end the process. While a message is being
      // sent, its callback gets the same error and decides what it means for the message.
      conn.on('error', (err) => {
        if (!settled) fail(err);
        else if (!s.busy) drop(s);
      });
      // The server ended the session (often after it sat idle): it leaves the pool.
      conn.once('end', () => {
        if (!settled) fail(Object.assign(new Error('Connection closed before the greeting'), { code: 'ECONNECTION' }));
        else if (!s.busy) drop(s);
      });
      conn.connect((err) => {
        if (err) return fail(err);
        if (settled) return;
        if (!opts.auth || !conn.allowsAuth) {
          settled = true;
          return resolve(s);
        }
        conn.login(opts.auth, (loginErr) => {
          if (loginErr) return fail(loginErr);
          if (settled) return;
          settled = true;
          resolve(s);
        });
      });
    });
  }

  async function acquire(): Promise<Session> {
    for (;;) {
      if (closed) throw Object.assign(new Error('The SMTP pool is closed'), { code: 'ECONNECTION' });
      const s = idle.pop();
      if (s) {
        s.busy = true;
        return s;
      }
      if (open < opts.maxConnections) {
        open++;
        return connect(); // a failed connect frees its place (drop)
      }
      await new Promise<void>((resolve) => waiting.push(resolve));
    }
  }

  return {
    async send(envelope, raw) {
      const s = await acquire();
      return new Promise((resolve, reject) => {
        s.conn.send(envelope, raw, (err, info) => {
          s.sent++;
          if (!err) {
            release(s);
            return resolve(info);
          }
          // The server refused this message (at MAIL FROM, RCPT TO or DATA) but the session is
          // fine: reset it and keep it. Anything else (a socket error, a timeout, 421) ends it.
          const refused = (err.code === 'EENVELOPE' || err.code === 'EMESSAGE') && err.responseCode !== 421 && !s.dead;
          if (refused) s.conn.reset((resetErr) => (resetErr ? drop(s) : release(s)));
          else drop(s);
          reject(err);
        });
      });
    },
    close() {
      closed = true;
      for (const s of idle.splice(0)) {
        s.dead = true;
        open--;
        s.conn.quit();
      }
      for (const wake of waiting.splice(0)) wake();
    },
  };
}
