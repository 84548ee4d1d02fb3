// The delivery log, a delivery and an enterprise (issue 14) in real headless Chromium (Debian's
// /usr/bin/chromium through playwright-core), as admin and as ops, at 1280 and 390 px: search by
// a recipient's phone, open what it found, and check that no page scrolls sideways and that on a
// phone every table is cards whose cells name their column. Screenshots go to .ci/out/.
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fanOutNextChunk, refreshReach } from '@policy-push/db';
import { freePort } from '@policy-push/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, policyBody, seedWorld, type TestApp } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../../.ci/out/', import.meta.url));
const WIDTHS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

describe.skipIf(!existsSync(CHROMIUM))('the delivery log and enterprises in Chromium', () => {
  let h: TestApp;
  let base: string;
  let browser: Browser;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  const keys: Record<'admin' | 'ops', string> = { admin: '', ops: '' };

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await buildTestApp({ PORT: String(port), PUBLIC_BASE_URL: base });
    await h.app.listen({ host: '127.0.0.1', port });
    world = await seedWorld(h, [
      { phone: '+8613812345678', email: 'xiaoming@example.com', channels: ['sms', 'email'] },
      { phone: '+8613912345678', channels: ['sms'] },
    ]);
    await call(h, 'PATCH', `/v1/contacts/${world.enterprises[0].contact.id}`, { name: '王小明' }, 200);
    await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id), 202);
    while (await fanOutNextChunk(h.t.db, 1000));
    await refreshReach(h.t.db);
    keys.admin = h.auth.authorization.replace('Bearer ', '');
    keys.ops = (await keyHeaders(h, { role: 'ops' })).authorization.replace('Bearer ', '');
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
    mkdirSync(OUT, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  /** No sideways scrolling; at phone width, tables are cards: no header row shown, every cell labelled. */
  async function check(page: Page, name: string) {
    const r = await page.evaluate<{ scrollWidth: number; innerWidth: number; headers: number; unlabelled: number; cells: number }>(`(() => {
      const cells = [...document.querySelectorAll('table td')];
      return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        headers: [...document.querySelectorAll('table thead')].filter((t) => t.getBoundingClientRect().height > 2).length,
        unlabelled: cells.filter((td) => !td.getAttribute('data-label') || getComputedStyle(td, '::before').content === 'none').length,
        cells: cells.length,
      };
    })()`);
    expect(r.scrollWidth, `${name} at ${r.innerWidth}px`).toBeLessThanOrEqual(r.innerWidth);
    if (r.innerWidth < 640 && r.cells) expect([r.headers, r.unlabelled], `${name} at ${r.innerWidth}px`).toEqual([0, 0]);
    await page.screenshot({ path: `${OUT}ops-log-${name}-${r.innerWidth}.png`, fullPage: true });
  }

  for (const role of ['admin', 'ops'] as const) {
    for (const viewport of WIDTHS) {
      it(`as ${role} at ${viewport.width} px: finds a recipient, opens the delivery and its enterprise`, { timeout: 60_000 }, async () => {
        const context = await browser.newContext({ viewport, locale: 'zh-CN' });
        const page = await context.newPage();
        await page.goto(`${base}/ops/login`);
        await page.fill('#key', keys[role]);
        await page.click('button[type="submit"]');
        await page.waitForURL(`${base}/ops`);
        await check(page, `${role}-overview`);

        await page.goto(`${base}/ops/deliveries`);
        await page.fill('input[name="recipient"]', '138 1234 5678');
        await page.click('form[role="search"] button[type="submit"]');
        await page.waitForURL(/recipient=/);
        const rows = page.locator('table[data-table="deliveries"] tbody tr');
        expect(await rows.count()).toBeGreaterThan(0);
        const text = await page.locator('main').innerText();
        if (role === 'ops') expect(text).not.toMatch(/13812345678|xiaoming@/);
        await check(page, `${role}-log`);

        await rows.first().locator('a[data-delivery]').click();
        await page.waitForURL(/\/ops\/deliveries\/\d+$/);
        const facts = await page.locator('dl.facts').first().innerText();
        expect(facts).toContain(world.enterprises[0].enterprise.name);
        expect(facts).toContain(role === 'admin' ? '王小明' : '王**');
        await check(page, `${role}-delivery`);

        await page.locator('a[data-enterprise]').first().click();
        await page.waitForURL(/\/ops\/enterprises\/\d+$/);
        const contacts = await page.locator('table[data-table="contacts"]').innerText();
        if (role === 'admin') expect(contacts).toContain('+8613812345678');
        else expect(contacts).not.toMatch(/13812345678|xiaoming@|王小明/);
        await check(page, `${role}-enterprise`);

        // The CSV link downloads the filter.
        await page.goto(`${base}/ops/deliveries?recipient=13812345678`);
        const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[data-export]')]);
        expect(download.suggestedFilename()).toMatch(/^deliveries-.*\.csv$/);
        await context.close();
      });
    }
  }
});
