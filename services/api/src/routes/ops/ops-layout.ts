// The console's page shell and the small pieces every page uses: bilingual labels, tables that
// scroll inside themselves on a phone, SVG bars and charts. Rendered on the server, no script,
// nothing loaded from elsewhere. Every value put into a page goes through escapeHtml.
import { escapeHtml, type Channel, isChannel, SHANGHAI_TIME_ZONE } from '@policy-push/core';
import type { DeliveryStatus, WaitReason } from '@policy-push/db';
import { mayGet, type OpsUser } from './ops-session';

export const e = escapeHtml;

/** Chinese first, English beside it. */
export const t = (zh: string, en: string) => `${e(zh)} <span lang="en">${e(en)}</span>`;

export const CHANNEL_LABELS: Record<Channel, [string, string]> = {
  wechat: ['微信', 'WeChat'],
  sms: ['短信', 'SMS'],
  email: ['邮件', 'email'],
};
export const channelLabel = (c: string) => (isChannel(c) ? t(...CHANNEL_LABELS[c]) : e(c));

// Typed by the one list of statuses (and of wait reasons): a status added there must get a label here.
export const STATUS_LABELS: Record<string, [string, string]> = {
  pending: ['待发送', 'pending'],
  sending: ['发送中', 'sending'],
  sent: ['已发送', 'sent'],
  delivered: ['已送达', 'delivered'],
  undelivered: ['未送达', 'undelivered'],
  failed: ['失败', 'failed'],
  cancelled: ['已取消', 'cancelled'],
  suppressed: ['已屏蔽', 'suppressed'],
  held: ['待汇总', 'held'],
  digested: ['已汇总', 'digested'],
  merged: ['已合并', 'merged'],
} satisfies Record<DeliveryStatus, [string, string]>;
export const statusLabel = (s: string) => (STATUS_LABELS[s] ? t(...STATUS_LABELS[s]) : e(s));

const WAIT_LABELS: Record<WaitReason, [string, string]> = {
  digest_daily: ['等待每日汇总', 'daily digest'],
  digest_weekly: ['等待每周汇总', 'weekly digest'],
  recipient_cap: ['超出每日上限，并入每日汇总', 'over the daily cap: next daily digest'],
  quiet_hours: ['免打扰时段', 'quiet hours'],
  paused: ['渠道暂停', 'channel paused'],
  allowance: ['服务商额度已用完', 'provider allowance spent'],
  circuit_open: ['服务商熔断', 'provider circuit open'],
  retry: ['等待重试', 'retry'],
};
export const waitLabel = (r: WaitReason) => t(...WAIT_LABELS[r]);

export const COLORS: Record<string, string> = {
  wechat: '#07a35a',
  sms: '#1f6feb',
  email: '#8e44ad',
  delivered: '#2e7d32',
  sent: '#7cb342',
  failed: '#c0392b',
  undelivered: '#e67e22',
  pending: '#f0ad4e',
  sending: '#5bc0de',
  other: '#b0b0b0',
};

const timeFormat = new Intl.DateTimeFormat('sv-SE', {
  timeZone: SHANGHAI_TIME_ZONE,
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});
/** Beijing time, the zone of everything this service shows. */
export const when = (d: Date | null | undefined) => (d ? `<time datetime="${d.toISOString()}">${e(timeFormat.format(d))}</time>` : '—');

export const num = (n: number) => e(n.toLocaleString('en-US'));

export function ago(seconds: number): string {
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** 138****8000, l***@example.com, oAbc…: enough to recognise, not enough to use. */
export function maskAddress(address: string): string {
  if (/^\+?\d{7,}$/.test(address)) {
    const national = address.startsWith('+86') ? address.slice(3) : address.replace(/^\+/, '');
    return `${national.slice(0, 3)}****${national.slice(-4)}`;
  }
  const at = address.lastIndexOf('@');
  if (at > 0) return `${address[0]}***${address.slice(at)}`;
  return address.length > 6 ? `${address.slice(0, 4)}…` : '***';
}

const STYLE = [
  '*{box-sizing:border-box}',
  'body{font-family:system-ui,-apple-system,"PingFang SC","Microsoft YaHei",sans-serif;margin:0;color:#222;background:#f4f5f7;line-height:1.45}',
  'header{background:#1d2b3a;color:#fff;padding:.6rem .9rem;display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center}',
  'header a{color:#fff;text-decoration:none}header .brand{font-weight:bold;margin-right:auto}',
  'header nav{display:flex;flex-wrap:wrap;gap:.3rem .9rem}header nav a[aria-current]{text-decoration:underline}',
  'header form{margin:0}header .who{font-size:.8rem;color:#cfd8e3}',
  'header button{background:transparent;border:1px solid #8aa;color:#fff;padding:.15rem .5rem;margin:0;font-size:.8rem}',
  'main{max-width:72rem;margin:0 auto;padding:.9rem .75rem}',
  'section,.notice{background:#fff;border-radius:8px;padding:.9rem 1rem;margin:0 0 1rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}',
  'h1{font-size:1.3rem;margin:.2rem 0 .9rem}h2{font-size:1.05rem;margin:0 0 .6rem}h3{font-size:.95rem;margin:.6rem 0 .4rem}',
  '[lang=en]{color:#666;font-size:.88em}p{margin:.35rem 0}',
  '.scroll{overflow-x:auto;max-width:100%}table{border-collapse:collapse;width:100%;font-size:.9rem}',
  'th,td{text-align:left;padding:.3rem .45rem;border-bottom:1px solid #eee;vertical-align:top}th{background:#fafafa;white-space:nowrap}',
  'td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}',
  '.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(15rem,1fr));gap:1rem}',
  '.kpi{font-size:1.6rem;font-weight:bold}.muted{color:#777;font-size:.85rem}',
  'svg.bar{width:100%;height:14px;display:block;background:#eee;border-radius:3px}svg.chart{width:100%;height:140px;display:block}',
  '.legend span{display:inline-block;margin-right:.8rem;font-size:.8rem}.legend i{display:inline-block;width:.7rem;height:.7rem;margin-right:.25rem;vertical-align:middle}',
  '.alert{border-left:4px solid #c0392b}.ok{border-left:4px solid #2e7d32}.problem{border-left:4px solid #c0392b}',
  'form.filters{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}form.filters label{display:flex;flex-direction:column;font-size:.85rem}',
  'label{display:block;margin:.5rem 0 .2rem;font-size:.9rem}',
  'input[type=text],input[type=url],input[type=password],textarea,select{font:inherit;width:100%;max-width:100%;padding:.35rem .45rem;border:1px solid #bbb;border-radius:5px}',
  'form.filters input,form.filters select{width:auto;min-width:7rem}',
  'textarea{min-height:5rem}fieldset{border:1px solid #ddd;border-radius:6px;margin:.6rem 0;padding:.4rem .7rem}legend{font-weight:bold;font-size:.9rem}',
  'fieldset label{display:inline-block;margin:.2rem 1rem .2rem 0}',
  'button{font:inherit;padding:.45rem 1.1rem;border:0;border-radius:6px;background:#1f6feb;color:#fff;margin-top:.5rem;cursor:pointer}',
  'button.secondary{background:#6c757d}',
  'pre,.msg{white-space:pre-wrap;overflow-wrap:anywhere;background:#f7f7f9;border:1px solid #eee;border-radius:5px;padding:.5rem;font-size:.85rem;margin:.3rem 0}',
  'dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .8rem;margin:0}dl.facts dt{color:#555}dl.facts dd{margin:0;overflow-wrap:anywhere}',
  'ol.timeline{list-style:none;padding:0;margin:0}ol.timeline li{border-left:3px solid #1f6feb;padding:.2rem .7rem;margin:0 0 .5rem}',
  'td,dd,p{overflow-wrap:anywhere}.cut{color:#c0392b;font-size:.8rem}',
  'header [lang=en],button [lang=en]{color:inherit;opacity:.8}',
  '@media (max-width:40rem){dl.facts{grid-template-columns:minmax(0,1fr)}dl.facts dt{margin-top:.3rem}}',
  // Phones (issue 14): a list's rows become cards, each cell under its column's name, so no column is hidden off-screen.
  '@media (max-width:40rem){table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}',
  'table.cards thead{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}',
  'table.cards tr{border:1px solid #e3e3e3;border-radius:6px;margin:0 0 .6rem;padding:.3rem .5rem;background:#fff}',
  'table.cards td{border:0;padding:.15rem 0 .15rem 8rem;text-align:left;position:relative;min-height:1.5rem}',
  'table.cards td::before{content:attr(data-label);position:absolute;left:0;top:.2rem;width:7.5rem;color:#666;font-size:.8rem}',
  'table.cards td.n{text-align:left}form.filters label{flex:1 1 100%}form.filters input,form.filters select{width:100%}}',
  // Forms' field problems beside their fields; actions that cannot be undone (issue 14).
  '.field-error{display:block;color:#c0392b;font-size:.85rem;margin:.15rem 0}button.danger{background:#c0392b}',
  'input[type=submit]{font:inherit;padding:.45rem 1.1rem;border:0;border-radius:6px;background:#6c757d;color:#fff;margin-top:.5rem;cursor:pointer}',
  'input[type=date],input[type=datetime-local]{font:inherit;padding:.3rem .4rem;border:1px solid #bbb;border-radius:5px;max-width:100%}',
].join('');

export interface PageOptions {
  title: [string, string];
  user?: OpsUser;
  csrf?: string;
  /** Which nav entry is current. */
  nav?: 'dashboard' | 'deliveries' | 'outbox' | 'compose' | 'enterprises' | 'policies';
  /** Seconds until the page reloads itself (live views); none when absent. */
  refreshSeconds?: number;
  /** Same-origin scripts (under /ops/assets/) that improve the page; it works without them. */
  scripts?: string[];
}

// What the signed-in key may do here, said next to its name.
const ROLE_NOTE: Record<string, [string, string]> = {
  admin: ['可见全部页面', 'sees every page'],
  ops: ['只读，联系方式已遮蔽', 'read only, contact details masked'],
  publisher: ['本部门政策的撰写与发布', "its departments' policies"],
};

const NAV: [PageOptions['nav'], string, string, string][] = [
  ['dashboard', '/ops', '总览', 'Overview'],
  ['policies', '/ops/policies', '政策', 'Policies'],
  ['deliveries', '/ops/deliveries', '投递记录', 'Delivery log'],
  ['outbox', '/ops/outbox', '沙箱发件箱', 'Sandbox outbox'],
  ['compose', '/ops/compose', '撰写发布', 'Compose'],
  ['enterprises', '/ops/enterprises', '企业', 'Enterprises'],
];

export function page(o: PageOptions, body: string[]): string {
  const [zh, en] = o.title;
  const header = o.user
    ? [
        '<header>',
        `<a class="brand" href="/ops">${t('政策推送运维台', 'Policy Push ops')}</a>`,
        '<nav>',
        ...NAV.filter(([, href]) => mayGet(o.user!.role, href)).map(
          ([key, href, z, n]) => `<a href="${href}"${key === o.nav ? ' aria-current="page"' : ''}>${t(z, n)}</a>`,
        ),
        '</nav>',
        `<span class="who" data-role="${e(o.user.role)}" data-mode="${e(o.user.mode)}">${e(o.user.keyName)} · ${e(o.user.role)}${o.user.mode === 'test' ? ` · ${t('测试密钥：仅发往沙箱', 'test key: sandbox only')}` : ''} · ${t(...(ROLE_NOTE[o.user.role] ?? ['', '']))}</span>`,
        `<form method="post" action="/ops/logout">${csrfField(o.csrf)}<button type="submit">${t('退出', 'Sign out')}</button></form>`,
        '</header>',
      ].join('')
    : `<header><span class="brand">${t('政策推送运维台', 'Policy Push ops')}</span></header>`;
  return [
    '<!doctype html>',
    '<html lang="zh-Hans"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    '<meta name="robots" content="noindex">',
    o.refreshSeconds ? `<meta http-equiv="refresh" content="${o.refreshSeconds}">` : '',
    `<title>${e(`${zh} · ${en}`)}</title>`,
    `<style>${STYLE}</style>`,
    ...(o.scripts ?? []).map((src) => `<script src="${e(src)}" defer></script>`),
    '</head><body>',
    header,
    '<main>',
    `<h1>${t(zh, en)}</h1>`,
    ...body,
    '</main></body></html>',
  ].join('\n');
}

export const csrfField = (token: string | undefined) => (token ? `<input type="hidden" name="_csrf" value="${e(token)}">` : '');

export function section(title: [string, string], body: string, attrs = ''): string {
  return `<section${attrs}><h2>${t(...title)}</h2>${body}</section>`;
}

export function table(head: string[], rows: string[][], attrs = ''): string {
  if (!rows.length) return `<p class="muted">${t('暂无', 'Nothing yet')}</p>`;
  // Each cell names its column (data-label), which a phone shows beside it when rows become cards.
  const labels = head.map(
    (h) =>
      ` data-label="${e(
        h
          .replace(/<[^>]*>/g, '')
          .replace(/\s+/g, ' ')
          .trim(),
      )}"`,
  );
  const cell = (c: string, i: number) =>
    c.startsWith('<td') ? c.replace(/^<td/, `<td${labels[i] ?? ''}`) : `<td${labels[i] ?? ''}>${c}</td>`;
  return [
    `<div class="scroll"><table class="cards"${attrs}><thead><tr>`,
    ...head.map((h) => `<th>${h}</th>`),
    '</tr></thead><tbody>',
    ...rows.map((r) => `<tr>${r.map(cell).join('')}</tr>`),
    '</tbody></table></div>',
  ].join('');
}

/** A horizontal stacked bar: each part's share of the total, in its colour. */
export function stackedBar(parts: { key: string; value: number; label: string }[], total: number): string {
  const sum = Math.max(
    total,
    parts.reduce((a, p) => a + p.value, 0),
    1,
  );
  let x = 0;
  const rects = parts
    .filter((p) => p.value > 0)
    .map((p) => {
      const w = (p.value / sum) * 100;
      const rect = `<rect x="${x.toFixed(3)}" y="0" width="${w.toFixed(3)}" height="10" fill="${COLORS[p.key] ?? COLORS.other}"><title>${e(p.label)}: ${p.value}</title></rect>`;
      x += w;
      return rect;
    });
  const label = parts.map((p) => `${p.label} ${p.value}`).join(', ');
  return `<svg class="bar" viewBox="0 0 100 10" preserveAspectRatio="none" role="img" aria-label="${e(label)}">${rects.join('')}</svg>`;
}

export function legend(keys: { key: string; label: string }[]): string {
  return `<p class="legend">${keys.map((k) => `<span><i style="background:${COLORS[k.key] ?? COLORS.other}"></i>${k.label}</span>`).join('')}</p>`;
}

/** Stacked columns, one per bucket (e.g. a minute), each split by series (e.g. channel). */
export function columnChart(buckets: { label: string; values: Record<string, number> }[], series: string[]): string {
  const peak = Math.max(0, ...buckets.map((b) => series.reduce((a, s) => a + (b.values[s] ?? 0), 0)));
  const max = Math.max(1, peak);
  const width = 600;
  const height = 120;
  const slot = width / Math.max(1, buckets.length);
  const cols = buckets.map((b, i) => {
    let y = height;
    const rects = series
      .filter((s) => (b.values[s] ?? 0) > 0)
      .map((s) => {
        const h = ((b.values[s] ?? 0) / max) * height;
        y -= h;
        return `<rect x="${(i * slot + slot * 0.1).toFixed(2)}" y="${y.toFixed(2)}" width="${(slot * 0.8).toFixed(2)}" height="${h.toFixed(2)}" fill="${COLORS[s] ?? COLORS.other}"/>`;
      });
    const total = series.reduce((a, s) => a + (b.values[s] ?? 0), 0);
    return `<g><title>${e(b.label)}: ${total}</title>${rects.join('')}</g>`;
  });
  return [
    `<svg class="chart" viewBox="0 0 ${width} ${height}" preserveAspectRatio="none" role="img" aria-label="peak ${peak} per bucket">`,
    `<line x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}" stroke="#ccc"/>`,
    ...cols,
    '</svg>',
    `<p class="muted">${t('最高', 'peak')} ${peak} / ${t('分钟', 'minute')} · ${e(buckets[0]?.label ?? '')} – ${e(buckets.at(-1)?.label ?? '')}</p>`,
  ].join('');
}

export function errorPage(status: number, code: string, zh: string, en: string, user?: OpsUser, csrf?: string): string {
  return page({ title: ['出错了', 'Something is not right'], user, csrf }, [
    `<p class="notice problem" role="alert" data-code="${e(code)}" data-status="${status}">${t(zh, en)}</p>`,
    `<p><a href="/ops">${t('返回总览', 'Back to the overview')}</a></p>`,
  ]);
}
