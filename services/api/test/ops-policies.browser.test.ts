// The policies pages in real headless Chromium (Debian's /usr/bin/chromium via playwright-core),
// as a publisher and as ops, at desktop and phone widths: the policies list, a click to the
// policy's page, and its reach numbers and chart changing without a reload while deliveries are
// reached (the page's same-origin script polling its JSON). The compose count updates as the
// rule builder changes. Screenshots go to .ci/out/ (gitignored).
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fanOutNextChunk, rowsOf, sql } from '@policy-push/db';
import { freePort } from '@policy-push/testkit';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, opsSignIn, policyBody, seedWorld, type TestApp } from './helpers';

const CHROMIUM = '/usr/bin/chromium';
const OUT = fileURLToPath(new URL('../../../.ci/out/', import.meta.url));
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

describe.skipIf(!existsSync(CHROMIUM))('the policies pages in Chromium', () => {
  let h: TestApp;
  let base: string;
  let browser: Browser;
  let world: Awaited<ReturnType<typeof seedWorld>>;
  let policyId: string;
  let keys: Record<'publisher' | 'ops', string>;

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    h = await buildTestApp({ PORT: String(port), PUBLIC_BASE_URL: base });
    await h.app.listen({ host: '127.0.0.1', port });
    // Five email contacts: each run below sees one more of them reached.
    world = await seedWorld(
      h,
      Array.from({ length: 5 }, (_, i) => ({ email: `person${i}@example.com` })),
    );
    policyId = (
      await call(h, 'POST', '/v1/policies', policyBody(world.department.id, world.category.id, { title: '浏览器里的政策列表' }), 202)
    ).policy.id;
    while (await fanOutNextChunk(h.t.db, 1000));
    const key = async (input: Parameters<typeof keyHeaders>[1]) => (await keyHeaders(h, input)).authorization.replace('Bearer ', '');
    keys = {
      publisher: await key({ role: 'publisher', departmentIds: [Number(world.department.id)] }),
      ops: await key({ role: 'ops' }),
    };
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

  async function fitsWidth(page: Page, name: string) {
    const { scrollWidth, innerWidth } = await page.evaluate<{ scrollWidth: number; innerWidth: number }>(
      '({ scrollWidth: document.documentElement.scrollWidth, innerWidth: window.innerWidth })',
    );
    expect(scrollWidth, `${name} at ${innerWidth}px`).toBeLessThanOrEqual(innerWidth);
    await page.screenshot({ path: `${OUT}ops-${name}-${innerWidth}.png`, fullPage: true });
  }

  /** One more of the policy's email deliveries accepted by the server: one more enterprise reached. */
  async function reachOneMore() {
    const [d] = rowsOf<{ id: string }>(
      await h.t.db.execute(
        sql`select id::text from deliveries where policy_id = ${Number(policyId)} and status = 'pending' order by id limit 1`,
      ),
    );
    await h.t.db.execute(sql`update deliveries set status = 'sent', sent_at = now() where id = ${Number(d.id)}`);
  }

  const cases = [
    ['publisher', DESKTOP],
    ['publisher', PHONE],
    ['ops', DESKTOP],
    ['ops', PHONE],
  ] as const;

  for (const [role, viewport] of cases) {
    it(`as ${role} at ${viewport.width}px: the list, the policy page, and reach filling live`, { timeout: 90_000 }, async () => {
      const { session } = await opsSignIn(h, keys[role]);
      const context = await browser.newContext({
        viewport,
        locale: 'zh-CN',
        ...(viewport === PHONE && { isMobile: true, hasTouch: true }),
      });
      await context.addCookies([{ name: session!.name, value: session!.value, url: `${base}/ops` }]);
      const page = await context.newPage();
      const blocked: string[] = [];
      page.on('console', (m) => m.type() === 'error' && blocked.push(m.text()));

      // The home of a publisher is the policies list; ops opens it from the nav.
      await page.goto(`${base}/ops/policies`);
      const link = page.locator(`a[data-policy-link="${policyId}"]`);
      await expect(link.count()).resolves.toBe(1);
      await expect(page.locator('header nav a[href="/ops/deliveries"]').count()).resolves.toBe(role === 'ops' ? 1 : 0);
      await fitsWidth(page, `policies-${role}`);
      await link.click();
      await page.waitForURL(`${base}/ops/policies/${policyId}`);
      await expect(page.locator('[data-actions]').count()).resolves.toBe(role === 'publisher' ? 1 : 0);
      await expect(page.locator('a[data-link="deliveries"]').count()).resolves.toBe(role === 'ops' ? 1 : 0);
      await fitsWidth(page, `policy-${role}`);

      // A mark in the page's window: it is gone if the page reloads.
      await page.evaluate('window.__stillHere = true');
      const reached = page.locator('[data-reach="reached"]');
      const before = Number(await reached.innerText());
      const line = await page.locator('[data-series="reached"]').getAttribute('points');
      await reachOneMore();
      await expect.poll(async () => Number(await reached.innerText()), { timeout: 20_000, interval: 200 }).toBe(before + 1);
      await expect.poll(() => page.locator('[data-series="reached"]').getAttribute('points'), { timeout: 20_000 }).not.toBe(line);
      await expect(page.locator('[data-reach="rate"]').innerText()).resolves.toBe(`${(((before + 1) / 5) * 100).toFixed(1)}%`);
      await expect(page.evaluate('window.__stillHere === true')).resolves.toBe(true);
      expect(blocked.filter((m) => /Content Security Policy|Refused/.test(m))).toEqual([]);
      await fitsWidth(page, `policy-live-${role}`);
      await context.close();
    });
  }

  it('updates the compose count as the rule builder changes', { timeout: 90_000 }, async () => {
    const { session } = await opsSignIn(h, keys.publisher);
    const context = await browser.newContext({ viewport: DESKTOP, locale: 'zh-CN' });
    await context.addCookies([{ name: session!.name, value: session!.value, url: `${base}/ops` }]);
    const page = await context.newPage();
    await page.goto(`${base}/ops/compose`);
    await page.check(`input[name="categoryIds"][value="${world.category.id}"]`);
    const enterprises = page.locator('[data-live-count="enterprises"]');
    await expect.poll(() => enterprises.innerText(), { timeout: 20_000 }).toBe('5');
    await page.locator('details:has(input[name="sizes"]) summary').click();
    await page.check('input[name="sizes"][value="large"]');
    await expect.poll(() => enterprises.innerText(), { timeout: 20_000 }).toBe('0');
    await fitsWidth(page, 'compose-rule');
    await context.close();
  });
});
