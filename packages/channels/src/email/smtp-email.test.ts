import net from 'node:net';
import { type ProviderSettings, signToken } from '@policy-push/core';
import { type ReceivedMail, type SmtpTestServer, startSmtpTestServer } from '@policy-push/testkit';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ChannelAdapter, OutboundMessage } from '../channel';
import { deliveryContext } from '../delivery-context.fixture';
import { renderOutbound } from '../render';
import { createSmtpEmailAdapter } from './smtp-email';

const FROM = '广州市政策推送 <noreply@push.example.gov.cn>';
const TO = 'owner@enterprise.example.com';
// A token as the dispatcher signs it: longer than a line, so the header is folded.
const UNSUBSCRIBE_URL = `https://push.example.org/u/${signToken('s'.repeat(32), 'unsubscribe', '4242', new Date('2030-01-01'))}`;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  // Adapters first: the server's close waits for their pooled connections.
  for (const close of closers.splice(0).reverse()) await close();
});

async function server(opts?: Parameters<typeof startSmtpTestServer>[0]): Promise<SmtpTestServer> {
  const s = await startSmtpTestServer(opts);
  closers.push(() => s.close());
  return s;
}

function adapter(url: string, settings: Partial<NonNullable<ProviderSettings['smtp']>> = {}, timeoutMs = 2_000): ChannelAdapter {
  const a = createSmtpEmailAdapter({ settings: { url, from: FROM, maxConnections: 2, perSecond: 1_000, ...settings }, timeoutMs });
  closers.push(() => a.close!());
  return a;
}

function email(to = TO): Extract<OutboundMessage, { channel: 'email' }> {
  const m = renderOutbound(
    deliveryContext('email', to, { links: { policy: 'https://push.example.org/l/p1', unsubscribe: UNSUBSCRIBE_URL } }),
  );
  if (m.channel !== 'email') throw new Error('not an email');
  return m;
}

/** A raw header line as sent, unfolded (RFC 5322 §2.2.3), e.g. `List-Unsubscribe: <…>, <…>`. */
function rawHeader(mail: ReceivedMail, name: string): string[] {
  return mail.headerLines.filter((h) => h.key === name.toLowerCase()).map((h) => h.line.replace(/\r\n[ \t]+/g, ' '));
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('smtp email adapter', () => {
  it('sends one message with both parts, a stable Message-ID and the one-click unsubscribe headers', async () => {
    const s = await server();
    const a = adapter(s.url);
    const m = email();

    const result = await a.send(m);

    const messageId = `<delivery-${m.deliveryId}@push.example.gov.cn>`;
    expect(a).toMatchObject({ channel: 'email', provider: 'smtp' });
    expect(result).toEqual({ outcome: 'accepted', providerMessageId: messageId });
    expect(s.messages).toHaveLength(1);
    const [mail] = s.messages;
    expect(mail.envelope).toEqual({ from: 'noreply@push.example.gov.cn', to: [TO] });
    expect(mail.from?.value).toEqual([{ name: '广州市政策推送', address: 'noreply@push.example.gov.cn' }]);
    expect(mail.to).toMatchObject({ value: [{ address: TO }] });
    // UTF-8 subject: Chinese after decoding, RFC 2047 encoded words (plain ASCII) on the wire.
    expect(mail.subject).toBe(m.content.subject);
    expect(mail.subject).toMatch(/[\u4e00-\u9fff]/);
    expect(rawHeader(mail, 'Subject')[0]).toMatch(/^Subject: =\?UTF-8\?[BQ]\?/);
    expect(rawHeader(mail, 'Subject')[0]).toMatch(/^[\x20-\x7e]+$/);
    expect(mail.text?.trim()).toBe(m.content.text.trim());
    expect(mail.html).toContain(`href="${UNSUBSCRIBE_URL}"`);
    expect(mail.html).toContain('关于支持中小企业数字化转型的若干措施');
    expect(mail.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(mail.messageId).toBe(messageId);
    // mailparser folds List-* into headers.get('list'): the raw lines are what receivers read.
    expect(rawHeader(mail, 'List-Unsubscribe')).toEqual([
      `List-Unsubscribe: <${UNSUBSCRIBE_URL}>, <mailto:unsubscribe@push.example.gov.cn?subject=unsubscribe%20${m.deliveryId}>`,
    ]);
    expect(rawHeader(mail, 'List-Unsubscribe-Post')).toEqual(['List-Unsubscribe-Post: List-Unsubscribe=One-Click']);
  });

  it('gives a resend of the same delivery the same Message-ID', async () => {
    const s = await server();
    const a = adapter(s.url);
    const m = email();
    const first = await a.send(m);
    const second = await a.send(m);
    expect(second).toEqual(first);
    expect(s.messages.map((x) => x.messageId)).toEqual([
      `<delivery-${m.deliveryId}@push.example.gov.cn>`,
      `<delivery-${m.deliveryId}@push.example.gov.cn>`,
    ]);
  });

  it('sends many messages at once through a pool of at most maxConnections connections', async () => {
    const s = await server();
    const a = adapter(s.url, { maxConnections: 3 });
    const batch = Array.from({ length: 12 }, (_, i) => email(`c${i}@enterprise.example.com`));

    const results = await Promise.all(batch.map((m) => a.send(m)));

    expect(results.map((r) => r.outcome)).toEqual(Array(12).fill('accepted'));
    expect(new Set(results.map((r) => r.outcome === 'accepted' && r.providerMessageId)).size).toBe(12);
    expect(s.messages.map((x) => x.envelope.to[0]).sort()).toEqual(batch.map((m) => m.to).sort());
    // Connections were reused, not opened per message.
    expect(s.stats.connections).toBeLessThanOrEqual(3);
    expect(s.stats.maxOpen).toBeLessThanOrEqual(3);
  });

  it('keeps the session after a refused message, and leaves one the server ended for a new one', async () => {
    const s = await server();
    const a = adapter(s.url, { maxConnections: 1 }, 1_000);
    s.rejectRecipient('gone@enterprise.example.com', 550);
    expect(await a.send(email('gone@enterprise.example.com'))).toMatchObject({ outcome: 'permanent' });
    expect(await a.send(email())).toMatchObject({ outcome: 'accepted' });
    expect(s.stats.connections).toBe(1);
    // Idle past the socket timeout: the session ends; the next message gets a new one.
    await vi.waitFor(() => expect(s.stats.open).toBe(0), { timeout: 10_000, interval: 50 });
    expect(await a.send(email())).toMatchObject({ outcome: 'accepted' });
    expect(s.stats.connections).toBe(2);
    expect(s.messages).toHaveLength(2);
  });

  describe('failures', () => {
    it('450 at DATA → retryable, and the next send goes through', async () => {
      const s = await server();
      const a = adapter(s.url);
      s.rejectNext(450);
      expect(await a.send(email())).toMatchObject({ outcome: 'retryable', code: 'SMTP_450_4.2.1' });
      expect(await a.send(email())).toMatchObject({ outcome: 'accepted' });
      expect(s.messages).toHaveLength(1);
    });

    it('450 at RCPT TO (every recipient deferred, EENVELOPE) → retryable', async () => {
      const s = await server();
      s.rejectNext(450, 1, 'rcpt');
      const result = await adapter(s.url).send(email());
      expect(result).toMatchObject({ outcome: 'retryable', code: 'SMTP_450_4.2.1', raw: { code: 'EENVELOPE', command: 'RCPT TO' } });
    });

    it('550 at DATA → permanent, not a configuration error', async () => {
      const s = await server();
      s.rejectNext(550);
      const result = await adapter(s.url).send(email());
      expect(result).toMatchObject({ outcome: 'permanent', code: 'SMTP_550_5.1.1' });
      expect(result).not.toHaveProperty('configError');
      expect(s.messages).toHaveLength(0);
    });

    it('550 5.1.1 for the recipient (every recipient rejected, EENVELOPE) → permanent recipient problem, address masked', async () => {
      const s = await server();
      s.rejectRecipient('gone@enterprise.example.com', 550);
      const result = await adapter(s.url).send(email('gone@enterprise.example.com'));
      expect(result).toMatchObject({ outcome: 'permanent', code: 'SMTP_550_5.1.1', raw: { code: 'EENVELOPE', command: 'RCPT TO' } });
      expect(result).not.toHaveProperty('configError');
      if (result.outcome !== 'permanent') throw new Error('expected permanent');
      expect(result.message).toMatch(/^recipient refused/);
      expect(result.message).not.toContain('gone@enterprise.example.com');
    });

    it('a closed port → retryable', async () => {
      const result = await adapter(`smtp://127.0.0.1:${await closedPort()}`).send(email());
      expect(result).toMatchObject({ outcome: 'retryable', code: 'ESOCKET' });
    });

    it('a server that never greets → retryable once the timeout passes', async () => {
      const sockets = new Set<net.Socket>();
      const silent = net.createServer((socket) => sockets.add(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      closers.push(async () => {
        sockets.forEach((socket) => socket.destroy());
        await new Promise((resolve) => silent.close(resolve));
      });
      const { port } = silent.address() as net.AddressInfo;
      const result = await adapter(`smtp://127.0.0.1:${port}`, {}, 200).send(email());
      expect(result).toMatchObject({ outcome: 'retryable', code: 'ETIMEDOUT' });
    });

    it('wrong credentials on a server that requires login → permanent configError; right ones → accepted', async () => {
      const s = await server({ auth: { user: 'mailer', pass: 'right-password' } });
      const withAuth = (pass: string) => s.url.replace('smtp://', `smtp://mailer:${pass}@`);
      expect(await adapter(withAuth('wrong-password')).send(email())).toMatchObject({
        outcome: 'permanent',
        code: 'SMTP_535_5.7.8',
        configError: true,
      });
      expect(await adapter(withAuth('right-password')).send(email())).toMatchObject({ outcome: 'accepted' });
      expect(s.messages).toHaveLength(1);
    });

    it('no credentials where login is required (530 at MAIL FROM) → permanent configError', async () => {
      const s = await server({ auth: { user: 'mailer', pass: 'right-password' } });
      expect(await adapter(s.url).send(email())).toMatchObject({ outcome: 'permanent', configError: true, raw: { command: 'MAIL FROM' } });
    });
  });

  it('refuses a MAIL_FROM without an address', () => {
    expect(() =>
      createSmtpEmailAdapter({
        settings: { url: 'smtp://127.0.0.1:25', from: 'no address', maxConnections: 1, perSecond: 1 },
        timeoutMs: 100,
      }),
    ).toThrow(/MAIL_FROM/);
  });
});
