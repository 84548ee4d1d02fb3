// The README's console screenshots (docs/screenshots/), taken in Debian's headless Chromium from
// the demo data: an app on a throw-away database (PGlite, or TEST_DATABASE_URL), the demo
// enterprises, two policies pushed through the sandbox, then each page as an ops key sees it
// (addresses masked; the demo's are fictional anyway). Run: pnpm tsx services/api/test/screenshots.ts
// Pages that this build does not have (a 404) are skipped, so it can be re-run as pages are added.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger, parseConfig } from '@policy-push/core';
import { refreshReach, rowsOf, signingSecret, sql } from '@policy-push/db';
import { createAdapters, startDispatcher } from '@policy-push/dispatcher';
import { createTestDb, freePort } from '@policy-push/testkit';
import { chromium, type Page } from 'playwright-core';
import { buildApp } from '../src/app';
import { seedDemoData } from '../src/demo/demo-data';
import { createApiKey } from '../src/services/api-keys';

const CHROMIUM = '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../../docs/screenshots/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await createTestDb();
  const config = parseConfig({
    LOG_LEVEL: 'silent',
    QUIET_HOURS: '00:00-00:00',
    PORT: String(port),
    PUBLIC_BASE_URL: base,
    DISPATCH_POLL_MS: '20',
    RATE_LIMIT_PER_KEY: '1000000',
  });
  const logger = createLogger({ level: 'silent' });
  const app = await buildApp({ config, db: t, logger, signingSecret: await signingSecret(t.db, config.signingSecret) });
  await app.listen({ host: '127.0.0.1', port });
  const adapters = createAdapters(config, t.db, logger, { receiptDelayMs: 5 });
  const dispatcher = await startDispatcher({
    config,
    db: t,
    logger,
    adapters: adapters.byChannel,
    testAdapters: adapters.sandbox,
    withJobs: false,
    signingSecret: app.deps.signingSecret,
  });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    await seedDemoData(t.db, 400);
    const admin = (await createApiKey(t.db, { name: 'demo admin', role: 'admin' })).key;
    const ops = (await createApiKey(t.db, { name: '值班运维 on-call ops', role: 'ops' })).key;
    const api = async (method: 'GET' | 'POST', url: string, payload?: unknown) => {
      const res = await app.inject({ method, url, headers: { authorization: `Bearer ${admin}` }, payload: payload as object });
      if (res.statusCode >= 300) throw new Error(`${method} ${url} → ${res.statusCode}: ${res.body}`);
      return res.json();
    };
    // The demo's most subscribed category, and a department.
    const [pick] = rowsOf<{ category_id: string; department_id: string }>(
      await t.db.execute(sql`select c.id::text as category_id, (select min(id)::text from departments) as department_id
        from subscriptions s cross join unnest(s.category_ids) as x(id) join categories c on c.id = x.id
        group by c.id order by count(*) desc limit 1`),
    );
    const policies = [];
    for (const [i, title] of ['广州市支持中小企业共渡难关十五条措施', '关于进一步降低企业用电成本的通知'].entries()) {
      const { policy } = await api('POST', '/v1/policies', {
        departmentId: pick.department_id,
        docNumber: `穗示〔2026〕${i + 1}号`,
        title,
        summary: '减免租金、延期缴纳社保、加大金融支持，帮助中小企业渡过难关。',
        url: `https://policy.example.gov.cn/2026/${i + 1}`,
        categoryIds: [pick.category_id],
      });
      policies.push(policy.id as string);
    }
    // Until both pushes are done (bounded: the screenshots are taken whatever the state).
    for (let i = 0; i < 600; i++) {
      const pushes = await Promise.all(policies.map((id) => api('GET', `/v1/policies/${id}/push`)));
      if (pushes.every((p) => p.status === 'done' || p.status === 'completed')) break;
      const [left] = rowsOf<{ n: number }>(
        await t.db.execute(sql`select count(*)::int as n from deliveries where status in ('pending', 'sending')`),
      );
      if (left.n === 0 && i > 20) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    // Some failures, for the log's error filter and retry.
    await t.db.execute(
      sql`update deliveries set status = 'failed', error_code = '40001' where id in (select id from deliveries where channel = 'sms' order by id limit 7)`,
    );
    while ((await refreshReach(t.db)).more);
    const [enterprise] = rowsOf<{ id: string; credit_code: string }>(
      await t.db.execute(
        sql`select e.id::text, e.credit_code from enterprises e join reach_enterprises r on r.enterprise_id = e.id group by e.id order by count(*) desc, e.id limit 1`,
      ),
    );

    mkdirSync(OUT, { recursive: true });
    const shoot = async (viewport: typeof DESKTOP, shots: [string, string][]) => {
      const context = await browser.newContext({ viewport, locale: 'zh-CN' });
      const page: Page = await context.newPage();
      await page.goto(`${base}/ops/login`);
      await page.fill('#key', ops);
      await page.click('button[type="submit"]');
      await page.waitForURL(`${base}/ops`);
      for (const [name, path] of shots) {
        const res = await page.goto(`${base}${path}`);
        if (!res || res.status() !== 200) {
          console.log(`skipped ${name}: ${path} answered ${res?.status()}`);
          continue;
        }
        const file = `${OUT}${name}-${viewport.width}.png`;
        await page.screenshot({ path: file, fullPage: name !== 'log' || viewport.width < 640 });
        console.log(`wrote ${file}`);
      }
      await context.close();
    };
    await shoot(DESKTOP, [
      ['policies', '/ops/policies'],
      ['policy', `/ops/policies/${policies[0]}`],
      ['log', `/ops/deliveries?policyId=${policies[0]}`],
      ['enterprise', `/ops/enterprises/${enterprise.id}`],
    ]);
    await shoot(PHONE, [['log', `/ops/deliveries?enterprise=${enterprise.credit_code}`]]);
  } finally {
    await browser.close();
    await dispatcher.stop();
    await adapters.close();
    await app.close();
    await t.drop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
