// The console's only scripts, served from /ops/assets/ (CSP script-src 'self', nothing inline).
// Each improves a page that works without it: a reload shows the same numbers, a submit button
// does what the script does. Plain ES2017, no build step.

/**
 * The policy page: polls its JSON (data-live on [data-policy]) and puts the numbers and the chart's
 * lines into the elements the server rendered, every 2 s while the push runs or the numbers move,
 * then every 15 s once they have been still for a while; stops when the page is hidden.
 */
export const POLICY_LIVE_JS = `'use strict';
(function () {
  var root = document.querySelector('[data-policy][data-live]');
  if (!root) return;
  var url = root.getAttribute('data-live');
  var last = '';
  var still = 0;
  function set(selector, value) {
    var el = document.querySelector(selector);
    if (el && value !== undefined && el.textContent !== value) el.textContent = value;
  }
  function apply(n) {
    Object.keys(n.fields).forEach(function (k) { set('[data-field="' + k + '"]', n.fields[k]); });
    Object.keys(n.reach).forEach(function (k) { set('[data-reach="' + k + '"]', n.reach[k]); });
    var done = document.querySelector('[data-field="done"]');
    if (done && n.done) done.setAttribute('data-live-done', 'true');
    if (n.chart) {
      var r = document.querySelector('[data-series="reached"]');
      var g = document.querySelector('[data-series="engaged"]');
      if (r) r.setAttribute('points', n.chart.reached);
      if (g) g.setAttribute('points', n.chart.engaged);
      set('[data-chart-top]', n.chart.top.toLocaleString('en-US'));
      var fig = document.querySelector('[data-reach-chart]');
      if (fig) fig.setAttribute('data-points', String(n.chart.points));
    }
    root.setAttribute('data-live-updated', new Date().toISOString());
  }
  function poll() {
    if (document.hidden) return setTimeout(poll, 5000);
    fetch(url, { credentials: 'same-origin', headers: { accept: 'application/json' } })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (n) {
        if (!n) return setTimeout(poll, 15000);
        var now = JSON.stringify(n);
        still = now === last ? still + 1 : 0;
        last = now;
        apply(n);
        var busy = !n.done || !n.upToDate || still < 5;
        setTimeout(poll, busy ? 2000 : 15000);
      })
      .catch(function () { setTimeout(poll, 15000); });
  }
  setTimeout(poll, 1000);
})();
`;

/**
 * The compose page: when the audience part of the form changes, posts the form to
 * /ops/compose/count (as the Count button does, asking for JSON) and puts the counts beside the
 * rule builder; a problem is shown as the count's title.
 */
export const COMPOSE_COUNT_JS = `'use strict';
(function () {
  var form = document.querySelector('form[data-compose]');
  if (!form) return;
  var timer = null;
  var asked = 0;
  function show(key, text) {
    var el = form.querySelector('[data-live-count="' + key + '"]');
    if (el) el.textContent = text;
  }
  function count() {
    var mine = ++asked;
    var body = new URLSearchParams(new FormData(form));
    fetch('/ops/compose/count', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { accept: 'application/json', 'content-type': 'application/x-www-form-urlencoded' },
      body: body.toString(),
    })
      .then(function (res) { return res.json(); })
      .then(function (a) {
        if (mine !== asked) return;
        var box = form.querySelector('[data-audience-count]');
        if (a.count) {
          show('enterprises', a.count.enterprises.toLocaleString('en-US'));
          show('contacts', a.count.contacts.toLocaleString('en-US'));
          ['wechat', 'sms', 'email'].forEach(function (c) { show(c, a.count.byChannel[c].toLocaleString('en-US')); });
          if (box) { box.removeAttribute('title'); box.setAttribute('data-counted', String(mine)); }
        } else if (box) {
          ['enterprises', 'contacts', 'wechat', 'sms', 'email'].forEach(function (k) { show(k, '—'); });
          box.setAttribute('title', (a.problems || []).map(function (p) { return p.path + ': ' + p.code; }).join('; '));
        }
      })
      .catch(function () {});
  }
  form.addEventListener('change', function (ev) {
    var name = ev.target && ev.target.name;
    if (!/^(departmentId|categoryIds|groupIds|industries|divisions|districts|sizes|tags|tagsMode|priority)$/.test(name || '')) return;
    clearTimeout(timer);
    timer = setTimeout(count, 300);
  });
  if (form.querySelector('[name="categoryIds"]:checked')) count();
})();
`;
