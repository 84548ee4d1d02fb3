// `tsx bench/clients-bench.ts [--messages 5000] [--rounds 3] [--concurrency 32]`: the provider
// clients alone, no database. Each channel adapter sends the same pre-rendered messages to the
// testkit's fakes (zero latency, in a process of their own so that their CPU is not counted),
// `concurrency` in flight as the dispatcher sends them (DISPATCH_CONCURRENCY). For each case:
// messages/s and this process's CPU (process.cpuUsage, user + system) per message, and both as
// ratios to raw undici Pool POSTs to the same fake — the ceiling of an HTTP client here. Email has
// no HTTP fake: its ratios are to raw undici against the fake WeChat, and raw nodemailer
// (SMTPConnection, one connection per worker, a prebuilt message) is its own ceiling.
// Rounds interleave the cases, and the median of the rounds is reported. `--only SMTP` keeps
// those cases and the ceiling, e.g. under `node --cpu-prof --import tsx`.
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import { Pool } from 'undici';
import {
  type ChannelAdapter,
  createSmtpEmailAdapter,
  createTwilioSmsAdapter,
  createWechatAdapter,
  type OutboundMessage,
  renderOutbound,
  type WechatTokenSource,
} from '../packages/channels/src';
import { deliveryContext } from '../packages/channels/src/delivery-context.fixture';
import { startProviderFakes } from '@policy-push/testkit';
import { median } from './load-generator';
import { mapLimit } from '../services/dispatcher/src/map-limit';
import { startService } from './processes';

const SELF = 'bench/clients-bench.ts';
const TEMPLATE = {
  templateId: 'tpl-policy-notice',
  fields: [
    { key: 'thing1', type: 'thing' },
    { key: 'thing2', type: 'thing' },
    { key: 'time3', type: 'time' },
    { key: 'character_string4', type: 'character_string' },
  ],
};

/** The fakes' child process: starts them, prints their settings as one JSON line, runs until killed. */
async function serveFakes(): Promise<void> {
  const fakes = await startProviderFakes();
  process.stdout.write(`${JSON.stringify(fakes.env)}\n`);
  // Sent messages pile up in the fakes' logs; forget them so that a long run stays small.
  setInterval(() => {
    fakes.twilio.messages.length = 0;
    fakes.twilio.created.clear();
    fakes.wechat.sent.length = 0;
    fakes.smtp.messages.length = 0;
  }, 1000).unref();
  process.once('SIGTERM', () => void fakes.close().then(() => process.exit(0)));
}

interface Case {
  name: string;
  /** Reference: its rate and CPU are the denominators of the ratios. */
  ceiling?: boolean;
  /** Sends message i; answers whether the provider took it. */
  send(i: number): Promise<boolean>;
  /** Around each measured run (the SMTP server drops connections idle for a minute). */
  before?(): Promise<void>;
  after?(): Promise<void>;
  close(): Promise<void>;
}

interface Sample {
  rate: number;
  cpuMs: number;
  failed: number;
}

async function measure(c: Case, n: number, concurrency: number, offset: number): Promise<Sample> {
  const ids = Array.from({ length: n }, (_, i) => offset + i);
  await c.before?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const ok = await mapLimit(ids, concurrency, (i) => c.send(i));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await c.after?.();
  return { rate: n / seconds, cpuMs: (cpu.user + cpu.system) / 1000 / n, failed: ok.filter((x) => !x).length };
}

const accepted = (r: { outcome: string }) => r.outcome === 'accepted';

function adapterCase(name: string, adapter: ChannelAdapter, messages: OutboundMessage[]): Case {
  return {
    name,
    send: async (i) => accepted(await adapter.send(messages[i % messages.length])),
    close: async () => adapter.close?.(),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '5000' },
      rounds: { type: 'string', default: '3' },
      concurrency: { type: 'string', default: '32' },
      'smtp-connections': { type: 'string', default: '5' },
      /** Only the cases whose name contains this (and the raw undici ceiling), e.g. for a --cpu-prof run. */
      only: { type: 'string' },
      'serve-fakes': { type: 'boolean', default: false },
    },
  });
  if (values['serve-fakes']) return serveFakes();
  const n = Number(values.messages);
  const rounds = Number(values.rounds);
  const concurrency = Number(values.concurrency);
  const smtpConnections = values['smtp-connections']!.split(',').map(Number);

  const fakesProcess = startService(SELF, {}, ['--serve-fakes']);
  let env: Record<string, string> | undefined;
  for (const deadline = Date.now() + 30_000; !env && Date.now() < deadline;) {
    const line = fakesProcess.output().split('\n')[0];
    if (fakesProcess.output().includes('\n')) env = JSON.parse(line);
    else await new Promise((r) => setTimeout(r, 50));
  }
  if (!env) throw new Error(`the fakes did not start: ${fakesProcess.output()}`);

  // Long: on a loaded machine a send that times out would be measured as a failure, not a cost.
  const timeoutMs = 30_000;
  const wechatSettings = {
    appId: env.WECHAT_APP_ID,
    appSecret: env.WECHAT_APP_SECRET,
    token: env.WECHAT_TOKEN,
    apiUrl: env.WECHAT_API_URL,
    dailyQuota: 1e9,
    perSecond: 1e6,
  };
  // The token fetched once (the adapter's per-send cost is what is measured, not the token cache).
  const tokenPool = new Pool(env.WECHAT_API_URL);
  const tokenReply = await tokenPool.request({
    path: '/cgi-bin/stable_token',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ grant_type: 'client_credential', appid: wechatSettings.appId, secret: wechatSettings.appSecret }),
  });
  const token = ((await tokenReply.body.json()) as { access_token: string }).access_token;
  await tokenPool.close();
  const tokens: WechatTokenSource = { get: async () => token, current: async () => token, refresh: async () => token };

  // Every send has its own delivery id (WeChat drops a repeated client_msg_id as a duplicate).
  const total = n * (rounds + 1);
  const wechatMessages = Array.from({ length: total }, (_, i) =>
    renderOutbound({
      ...deliveryContext('wechat', `oBenchFollower${String(i % 1000).padStart(6, '0')}`),
      department: { ...deliveryContext('wechat', 'x').department, wechatTemplate: TEMPLATE },
    }),
  );
  const smsMessages = Array.from({ length: 1000 }, (_, i) => renderOutbound(deliveryContext('sms', `+1202555${String(1000 + i)}`)));
  const emailMessages = Array.from({ length: 1000 }, (_, i) => renderOutbound(deliveryContext('email', `c${i}@enterprise.example.com`)));

  // Raw undici: the same JSON body as a template send, and the same form as a Twilio create.
  const wechatPool = new Pool(env.WECHAT_API_URL, { connections: concurrency });
  const wechatPath = `/cgi-bin/message/template/send?access_token=${encodeURIComponent(token)}`;
  const twilioPool = new Pool(env.TWILIO_API_URL, { connections: concurrency });
  const twilioPath = `/2010-04-01/Accounts/${env.TWILIO_ACCOUNT_SID}/Messages.json`;
  const basic = `Basic ${Buffer.from(`${env.TWILIO_ACCOUNT_SID}:${env.TWILIO_AUTH_TOKEN}`).toString('base64')}`;
  const wechatBody = (m: OutboundMessage) =>
    m.channel === 'wechat'
      ? JSON.stringify({
          touser: m.to,
          template_id: m.content.templateId,
          url: m.content.url,
          client_msg_id: m.deliveryId,
          data: m.content.data,
        })
      : '';

  // Raw nodemailer: one SMTPConnection per worker, a message built once, sent as is.
  const smtpPort = Number(new URL(env.SMTP_URL).port);
  const rawMime = [
    'From: Policy Push <push@example.org>',
    'To: c0@enterprise.example.com',
    'Subject: =?UTF-8?B?5YWz5LqO5pSv5oyB?=',
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'policy text',
    '',
  ].join('\r\n');
  const rawSmtpConnections = Math.max(...smtpConnections);
  const smtpWorkers: SMTPConnection[] = [];
  async function smtpConnection(): Promise<SMTPConnection> {
    const conn = new SMTPConnection({ host: '127.0.0.1', port: smtpPort, ignoreTLS: true });
    conn.connect();
    await once(conn, 'connect');
    return conn;
  }

  const cases: Case[] = [
    {
      name: 'raw undici Pool → fake WeChat',
      ceiling: true,
      async send(i) {
        const res = await wechatPool.request({
          path: wechatPath,
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: wechatBody(wechatMessages[i]),
        });
        const text = await res.body.text();
        return res.statusCode === 200 && text.includes('"errcode":0');
      },
      close: () => wechatPool.close(),
    },
    {
      name: 'raw undici Pool → fake Twilio',
      async send(i) {
        const m = smsMessages[i % smsMessages.length];
        const form = new URLSearchParams({ To: m.to, From: '+15005550006', Body: m.channel === 'sms' ? m.content.text : '' });
        const res = await twilioPool.request({
          path: twilioPath,
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
          body: form.toString(),
        });
        await res.body.text();
        return res.statusCode === 201;
      },
      close: () => twilioPool.close(),
    },
    adapterCase('WeChat adapter', createWechatAdapter({ settings: wechatSettings, timeoutMs, tokens }), wechatMessages),
    adapterCase(
      'Twilio SMS adapter',
      createTwilioSmsAdapter({
        settings: {
          accountSid: env.TWILIO_ACCOUNT_SID,
          authToken: env.TWILIO_AUTH_TOKEN,
          from: '+15005550006',
          apiUrl: env.TWILIO_API_URL,
          segmentsPerSecond: 1e6,
        },
        timeoutMs,
        statusCallbackUrl: 'http://127.0.0.1:9/webhooks/twilio/status',
      }),
      smsMessages,
    ),
    ...smtpConnections.map((maxConnections) =>
      adapterCase(
        `SMTP email adapter, ${maxConnections} connections`,
        createSmtpEmailAdapter({ settings: { url: env.SMTP_URL, from: env.MAIL_FROM, maxConnections, perSecond: 1e6 }, timeoutMs }),
        emailMessages,
      ),
    ),
    {
      name: `raw nodemailer SMTPConnection, ${rawSmtpConnections} connections, prebuilt message`,
      async before() {
        smtpWorkers.push(...(await Promise.all(Array.from({ length: rawSmtpConnections }, smtpConnection))));
      },
      async after() {
        for (const conn of smtpWorkers.splice(0)) conn.quit();
      },
      async send(i) {
        // mapLimit's workers take ids in turn; a connection must not carry two sessions at once.
        const conn = smtpWorkers.shift()!;
        try {
          const info = await new Promise<{ accepted: unknown[] }>((resolve, reject) =>
            conn.send({ from: 'push@example.org', to: [`c${i % 1000}@enterprise.example.com`] }, rawMime, (err, info) =>
              err ? reject(err) : resolve(info),
            ),
          );
          await new Promise<void>((resolve) => conn.reset(() => resolve()));
          return info.accepted.length === 1;
        } finally {
          smtpWorkers.push(conn);
        }
      },
      close: async () => {},
    },
  ];

  const selected = cases.filter((c) => c.ceiling || !values.only || c.name.includes(values.only));
  for (const c of cases) if (!selected.includes(c)) await c.close();
  cases.splice(0, cases.length, ...selected);
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.name, []]));
  // Warm-up round (JIT, connections), not counted; then the measured rounds, every case in turn.
  for (let round = 0; round <= rounds; round++) {
    for (const c of cases) {
      const count = round === 0 ? Math.min(n, 1000) : n;
      const s = await measure(c, count, c.name.startsWith('raw nodemailer') ? rawSmtpConnections : concurrency, round * n);
      if (round > 0) samples.get(c.name)!.push(s);
      console.error(`round ${round} ${c.name}: ${s.rate.toFixed(0)}/s ${s.cpuMs.toFixed(3)} ms${s.failed ? `, ${s.failed} failed` : ''}`);
    }
  }
  for (const c of cases) await c.close();
  await fakesProcess.stop();

  const med = (name: string) => {
    const s = samples.get(name)!;
    return { rate: median(s.map((x) => x.rate)), cpuMs: median(s.map((x) => x.cpuMs)), failed: s.reduce((sum, x) => sum + x.failed, 0) };
  };
  const ceiling = med(cases.find((c) => c.ceiling)!.name);
  const lines = [
    `${n} messages × ${rounds} rounds (median), ${concurrency} in flight, Node ${process.version}`,
    '',
    '| client | messages/s | CPU ms/message | rate ÷ raw undici | CPU ÷ raw undici | failed |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...cases.map((c) => {
      const m = med(c.name);
      return `| ${c.name} | ${m.rate.toFixed(0)} | ${m.cpuMs.toFixed(3)} | ${(m.rate / ceiling.rate).toFixed(3)} | ${(m.cpuMs / ceiling.cpuMs).toFixed(1)} | ${m.failed} |`;
    }),
  ];
  console.log(lines.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
