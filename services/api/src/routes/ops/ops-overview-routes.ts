// The operators' pages:
//   GET /ops          overview: alerts, live pushes, queues, throughput, provider health
//   GET /ops/outbox   what the sandbox would have sent
import { isChannel } from '@policy-push/core';
import { listSandboxMessages } from '@policy-push/db';
import type { AppInstance } from '../../app-instance';
import { errorPage } from './ops-layout';
import { dashboardPage, outboxPage } from './ops-pages';
import { replyWithPage } from '../../plugins/page-headers';
import { opsContext } from './ops-page-context';
import { loadDashboard } from './ops-service';

const ID = /^[1-9][0-9]{0,14}$/;
const PAGE_SIZE = 50;

export function registerOverviewRoutes(app: AppInstance): void {
  const { db } = app.deps.db;
  const { user, csrf } = opsContext(app);
  const hide = { schema: { hide: true } };

  app.get('/ops', hide, async (req, reply) => {
    const dashboard = await loadDashboard(app, new Date());
    return replyWithPage(reply, dashboardPage(dashboard, user(req), csrf(req)));
  });

  app.get('/ops/outbox', hide, async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const channel = q.channel || undefined;
    if ((channel && !isChannel(channel)) || (q.cursor && !ID.test(q.cursor))) {
      return replyWithPage(
        reply,
        errorPage(400, 'invalid_filter', '筛选条件无效。', 'The filter is not valid.', user(req), csrf(req)),
        400,
      );
    }
    const rows = await listSandboxMessages(db, { limit: PAGE_SIZE, channel, before: q.cursor ? Number(q.cursor) : undefined });
    const more = rows.length > PAGE_SIZE;
    const kept = rows.slice(0, PAGE_SIZE);
    return replyWithPage(reply, outboxPage(channel, kept, more ? String(kept.at(-1)!.id) : null, user(req), csrf(req)));
  });
}
