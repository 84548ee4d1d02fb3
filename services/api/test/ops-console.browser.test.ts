// The ops console in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core;
// no browser is downloaded): sign in, compose and publish a policy, watch its numbers reach what
// GET /v1/policies/{id}/push says, search the log, open a delivery, and check every page at desktop
// and phone widths for horizontal overflow. Screenshots go to .ci/out/ (gitignored).
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@policy-push/core';
import { policyReach, refreshReach } from '@policy-push/db';
import { createAdapters, type Dispatcher, startDispatcher } from '@policy-push/dispatcher';
import { freePort } from '@policy-push/testkit';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildTestApp, call, seedWorld, type TestApp } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../../.ci/out/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

describe.skipIf(!existsSync(CHROMIUM))('the ops console in Chromium', () => {
  let h: TestApp;
  let base: string;
  let adapters: ReturnType<typeof createAdapters>;
  let dispatcher: Dispatcher;
  let browser: Browser;
  let desktop: BrowserContext;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await buildTestApp({ PORT: String(port), PUBLIC_BASE_URL: base, DISPATCH_POLL_MS: '20' });
    await h.app.listen({ host: '127.0.0.1', port });
    const logger = createLogger({ level: 'silent' });
    adapters = createAdapters(h.app.deps.config, h.t.db, logger, { receiptDelayMs: 5 });
    dispatcher = await startDispatcher({
      config: h.app.deps.config,
      db: h.t,
      logger,
      adapters: adapters.byChannel,
      withJobs: false,
      signingSecret: h.app.deps.signingSecret,
      metrics: h.app.metrics,
    });
    browser = await chromium.launch({
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
    desktop = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
    mkdirSync(OUT, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await dispatcher?.stop();
    await adapters?.close();
    await h?.close();
  });

  /** Nothing wider than the window: the page never scrolls sideways. */
  async function fitsWidth(page: Page, name: string) {
    // A string, run in the page: this project's TypeScript has no DOM types.
    const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
      '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
    );
    expect(scrollWidth, `${name} at ${innerWidth}px`).toBeLessThanOrEqual(innerWidth);
    await page.screenshot({ path: `${OUT}ops-${name}-${innerWidth}.png`, fullPage: true });
  }

  const field = (page: Page, name: string) => page.locator(`[data-field="${name}"]`).innerText();

  it('signs in, composes, previews, publishes, and the page’s numbers match the API', { timeout: 120_000 }, async () => {
    const world = await seedWorld(h, [
      { email: 'alice@example.com' },
      { phone: '+12025550150', channels: ['sms'] },
      { wechatOpenid: 'openid-browser-0001', channels: ['wechat'] },
      { email: 'permanent@sandbox.invalid' }, // sandbox: refused for good
    ]);
    const page = await desktop.newPage();

    // Signing in: a wrong key is refused, the right one lands on the overview.
    await page.goto(`${base}/ops`);
    expect(new URL(page.url()).pathname).toBe('/ops/login');
    await fitsWidth(page, 'login');
    await page.fill('#key', 'pp_wrongwrongwrongwrongwrongwrong');
    await page.click('button[type=submit]');
    await expect(page.locator('[data-code="bad_key"]').count()).resolves.toBe(1);
    await page.fill('#key', h.auth.authorization.replace('Bearer ', ''));
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/ops`);
    await expect(page.locator('[data-health]').getAttribute('data-health')).resolves.toBe('ok');
    await fitsWidth(page, 'overview');

    // Compose and preview.
    await page.goto(`${base}/ops/compose`);
    await page.selectOption('#departmentId', world.department.id);
    await page.fill('#docNumber', `穗测〔2025〕${Date.now() % 100000}号`);
    await page.fill('#title', '关于进一步支持中小微企业纾困发展的若干措施（浏览器测试）');
    await page.fill('#summary', '对符合条件的中小微企业减免房租三个月，并延期缴纳社会保险费，申报截止日期为本年度十二月三十一日。');
    await page.fill('#url', 'https://policy.example.gov.cn/2025/browser');
    await page.check(`input[name="categoryIds"][value="${world.category.id}"]`);
    await fitsWidth(page, 'compose');
    await page.click('form[action="/ops/compose/preview"] button[type=submit]');
    await page.waitForURL(`${base}/ops/compose/preview`);
    await expect(page.locator('[data-count="enterprises"]').innerText()).resolves.toBe('4');
    await expect(page.locator('[data-count="sms"]').innerText()).resolves.toBe('1');
    // Within SMS_SEGMENT_BUDGET (3 by default): the text with both signed links, as it will be sent.
    await expect(page.locator('[data-sms-segments]').getAttribute('data-sms-segments')).resolves.toMatch(/^[123]$/);
    await expect(page.locator('[data-wechat-field]').count()).resolves.toBeGreaterThan(0);
    // The WeChat title field holds 20 characters: this title is longer, so the page shows the cut.
    await expect(page.locator('.cut').count()).resolves.toBeGreaterThan(0);
    await fitsWidth(page, 'preview');

    // Publish, then watch the push until it is done and every receipt is in.
    await page.click('#publish');
    await page.waitForURL(/\/ops\/policies\/\d+$/);
    const policyId = /(\d+)$/.exec(page.url())![1];
    const api = () => call(h, 'GET', `/v1/policies/${policyId}/push`, undefined, 200);
    await vi.waitFor(
      async () => {
        const progress = await api();
        expect(progress.done && progress.sent === 0).toBe(true);
      },
      { timeout: 30_000, interval: 100 },
    );
    await page.reload();
    const progress = await api();
    for (const name of ['matched', 'pending', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled', 'suppressed', 'held']) {
      expect(Number((await field(page, name)).replace(/,/g, '')), name).toBe(progress[name]);
    }
    expect(await field(page, 'status')).toBe(progress.status);
    expect(progress).toMatchObject({ matched: 4, delivered: 3, failed: 1 });
    // The reach funnel, once its counters are recounted (a background job in production).
    await refreshReach(h.t.db);
    await page.reload();
    const reach = await policyReach(h.t.db, Number(policyId));
    expect(reach.totals.targeted).toBe(4);
    for (const stage of ['targeted', 'sent', 'delivered', 'reached', 'engaged'] as const) {
      expect(Number(await page.locator(`[data-reach="${stage}"]`).innerText()), stage).toBe(reach.totals[stage]);
    }
    await fitsWidth(page, 'policy');

    // Search the log for the failed one and open it.
    await page.goto(`${base}/ops/deliveries`);
    await page.fill('input[name="policyId"]', policyId);
    await page.selectOption('select[name="status"]', 'failed');
    await page.click('form.filters button[type=submit]');
    await page.waitForURL(/status=failed/);
    const rows = page.locator('table[data-table="deliveries"] tbody tr');
    await expect(rows.count()).resolves.toBe(1);
    await fitsWidth(page, 'deliveries');
    await rows.locator('a[data-delivery]').click();
    await page.waitForURL(/\/ops\/deliveries\/\d+$/);
    const timeline = await page.locator('[data-timeline]').innerText();
    expect(timeline).toContain('permanent');
    expect(timeline).toContain('SANDBOX_PERMANENT');
    await fitsWidth(page, 'delivery');

    // The sandbox outbox holds what would have gone out, addresses masked.
    await page.goto(`${base}/ops/outbox`);
    await expect(page.locator('article[data-sandbox]').count()).resolves.toBe(4);
    expect(await page.content()).not.toContain('alice@example.com');
    await fitsWidth(page, 'outbox');
    await page.close();
  });

  it('fits a phone’s width on every page', { timeout: 120_000 }, async () => {
    const phone = await browser.newContext({ viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await phone.addCookies(await desktop.cookies());
    const page = await phone.newPage();
    const [delivery] = (await call(h, 'GET', '/v1/deliveries?limit=1', undefined, 200)).items;
    const pages: [string, string][] = [
      ['overview', '/ops'],
      ['compose', '/ops/compose'],
      ['policy', `/ops/policies/${delivery.policyId}`],
      ['deliveries', `/ops/deliveries?policyId=${delivery.policyId}`],
      ['delivery', `/ops/deliveries/${delivery.id}`],
      ['outbox', '/ops/outbox'],
    ];
    for (const [name, path] of pages) {
      await page.goto(`${base}${path}`);
      expect(new URL(page.url()).pathname, name).toBe(path.split('?')[0]);
      await fitsWidth(page, name);
    }
    // The preview is a POST: fill the form on the phone too.
    await page.goto(`${base}/ops/compose`);
    await page.fill('#docNumber', `PHONE-${Date.now()}`);
    await page.fill('#title', '手机宽度下的预览页面');
    await page.fill('#summary', '检查预览页在手机宽度下没有横向滚动。');
    await page.fill('#url', 'https://policy.example.gov.cn/2025/phone');
    await page.locator('input[name="categoryIds"]').first().check();
    await page.click('form[action="/ops/compose/preview"] button[type=submit]');
    await page.waitForURL(`${base}/ops/compose/preview`);
    await fitsWidth(page, 'preview');
    await phone.close();
  });
});
