import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type SmtpTestServer, startSmtpTestServer } from './smtp-test-server';

// The server is checked with a bare SMTP conversation over TCP, so what it answers is exactly what
// any client (nodemailer in the channels package) would read.

const servers: SmtpTestServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function start(opts?: Parameters<typeof startSmtpTestServer>[0]) {
  const s = await startSmtpTestServer(opts);
  servers.push(s);
  return s;
}

/** A line-at-a-time SMTP client: `reply()` resolves with the next complete reply (multi-line joined). */
async function connect(port: number) {
  const socket = net.connect(port, '127.0.0.1');
  let buffer = '';
  const replies: string[] = [];
  const waiting: ((reply: string) => void)[] = [];
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    // A reply ends with a line whose 4th character is a space: `250 OK` (not `250-…`).
    for (
      let m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3} [^\r\n]*)\r\n/.exec(buffer);
      m;
      m = /^((?:\d{3}-[^\r\n]*\r\n)*\d{3} [^\r\n]*)\r\n/.exec(buffer)
    ) {
      buffer = buffer.slice(m[0].length);
      const next = waiting.shift();
      if (next) next(m[1]);
      else replies.push(m[1]);
    }
  });
  const reply = () => new Promise<string>((resolve) => (replies.length ? resolve(replies.shift()!) : waiting.push(resolve)));
  const send = async (line: string) => {
    socket.write(`${line}\r\n`);
    return reply();
  };
  await reply(); // greeting
  return { send, reply, end: () => socket.destroy() };
}

const MESSAGE = [
  'From: =?UTF-8?B?5pS/562W5o6o6YCB?= <noreply@push.example.gov.cn>',
  'To: owner@enterprise.example.com',
  'Subject: =?UTF-8?B?5rWL6K+V?=',
  'Message-ID: <delivery-7@push.example.gov.cn>',
  'List-Unsubscribe: <https://push.example.org/u/TOKEN>,',
  ' <mailto:unsubscribe@push.example.gov.cn?subject=unsubscribe%207>',
  'List-Unsubscribe-Post: List-Unsubscribe=One-Click',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'hello',
  '.',
].join('\r\n');

async function transaction(port: number, to = 'owner@enterprise.example.com') {
  const c = await connect(port);
  try {
    expect(await c.send('EHLO client.test')).toMatch(/^250/);
    expect(await c.send('MAIL FROM:<noreply@push.example.gov.cn>')).toMatch(/^250/);
    const rcpt = await c.send(`RCPT TO:<${to}>`);
    if (!rcpt.startsWith('250')) return { at: 'rcpt', reply: rcpt };
    expect(await c.send('DATA')).toMatch(/^354/);
    return { at: 'data', reply: await c.send(MESSAGE) };
  } finally {
    c.end();
  }
}

describe('smtp test server', () => {
  it('listens on 127.0.0.1, offers no STARTTLS, and parses what it accepts (raw header lines kept)', async () => {
    const s = await start();
    expect(s.url).toBe(`smtp://127.0.0.1:${s.port}`);
    const c = await connect(s.port);
    const ehlo = await c.send('EHLO client.test');
    c.end();
    expect(ehlo).not.toMatch(/STARTTLS/);
    expect(ehlo).toMatch(/ENHANCEDSTATUSCODES/);

    expect(await transaction(s.port)).toEqual({ at: 'data', reply: expect.stringMatching(/^250 /) });
    expect(s.messages).toHaveLength(1);
    const [mail] = s.messages;
    expect(mail.envelope).toEqual({ from: 'noreply@push.example.gov.cn', to: ['owner@enterprise.example.com'] });
    expect(mail.subject).toBe('测试');
    expect(mail.messageId).toBe('<delivery-7@push.example.gov.cn>');
    expect(mail.text?.trim()).toBe('hello');
    expect(mail.headerLines.find((h) => h.key === 'list-unsubscribe-post')?.line).toBe('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
    expect(mail.raw).toContain('List-Unsubscribe: <https://push.example.org/u/TOKEN>,\r\n <mailto:');
  });

  it('rejectNext answers 450 or 550 at DATA, for the next n messages only', async () => {
    const s = await start();
    s.rejectNext(450, 2);
    s.rejectNext(550);
    expect(await transaction(s.port)).toEqual({ at: 'data', reply: expect.stringMatching(/^450 4\.\d\.\d /) });
    expect(await transaction(s.port)).toEqual({ at: 'data', reply: expect.stringMatching(/^450 /) });
    expect(await transaction(s.port)).toEqual({ at: 'data', reply: expect.stringMatching(/^550 5\.\d\.\d /) });
    expect(await transaction(s.port)).toEqual({ at: 'data', reply: expect.stringMatching(/^250 /) });
    expect(s.messages).toHaveLength(1);
  });

  it('rejectNext can answer at RCPT TO instead', async () => {
    const s = await start();
    s.rejectNext(550, 1, 'rcpt');
    expect(await transaction(s.port)).toEqual({ at: 'rcpt', reply: expect.stringMatching(/^550 5\.1\.1 /) });
    expect(await transaction(s.port)).toEqual({ at: 'data', reply: expect.stringMatching(/^250 /) });
  });

  it('rejectRecipient refuses one address every time, case-insensitively, and no other', async () => {
    const s = await start();
    s.rejectRecipient('Gone@Enterprise.example.com', 550);
    s.rejectRecipient('busy@enterprise.example.com', 450);
    for (let i = 0; i < 2; i++) {
      expect(await transaction(s.port, 'gone@enterprise.example.com')).toEqual({
        at: 'rcpt',
        reply: expect.stringMatching(/^550 5\.1\.1 /),
      });
    }
    expect(await transaction(s.port, 'busy@enterprise.example.com')).toEqual({ at: 'rcpt', reply: expect.stringMatching(/^450 /) });
    expect(await transaction(s.port)).toEqual({ at: 'data', reply: expect.stringMatching(/^250 /) });
  });

  it('with auth set, refuses mail before login and bad credentials with 535', async () => {
    const s = await start({ auth: { user: 'mailer', pass: 'secret' } });
    const c = await connect(s.port);
    try {
      expect(await c.send('EHLO client.test')).toMatch(/^250 AUTH .*PLAIN/m);
      expect(await c.send('MAIL FROM:<noreply@push.example.gov.cn>')).toMatch(/^530 /);
      const plain = (user: string, pass: string) => Buffer.from(`\0${user}\0${pass}`).toString('base64');
      expect(await c.send(`AUTH PLAIN ${plain('mailer', 'wrong')}`)).toMatch(/^535 /);
      expect(await c.send(`AUTH PLAIN ${plain('mailer', 'secret')}`)).toMatch(/^235 /);
      expect(await c.send('MAIL FROM:<noreply@push.example.gov.cn>')).toMatch(/^250 /);
    } finally {
      c.end();
    }
  });

  it('counts connections', async () => {
    const s = await start();
    await transaction(s.port);
    await transaction(s.port);
    expect(s.stats.connections).toBe(2);
    expect(s.stats.maxOpen).toBeGreaterThanOrEqual(1);
  });
});
