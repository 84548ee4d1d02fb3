// An upload refused before its body is read must not stall its connection: the client gets the
// refusal, then its next request on the same keep-alive socket gets its answer (the rest of the
// body is drained) or the socket is closed. Checked on a real socket, on each CSV route, with a
// 5 MB body and each way the request can be refused.
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, call, keyHeaders, seedWorld, type TestApp } from './helpers';

let h: TestApp;
let port: number;
let ruleGroupId: string;
let staticGroupId: string;
let otherPublisher: { authorization: string };

beforeAll(async () => {
  h = await buildTestApp();
  const world = await seedWorld(h, []);
  ruleGroupId = (
    await call(h, 'POST', '/v1/service-groups', { departmentId: world.department.id, name: 'r', rule: { sizes: { any: ['large'] } } }, 201)
  ).id;
  staticGroupId = (await call(h, 'POST', '/v1/service-groups', { departmentId: world.department.id, name: 's' }, 201)).id;
  const elsewhere = await call(
    h,
    'POST',
    '/v1/departments',
    { code: 'elsewhere', nameZh: '别处', nameEn: 'Elsewhere', smsSignature: '别处' },
    201,
  );
  otherPublisher = await keyHeaders(h, { role: 'publisher', departmentIds: [Number(elsewhere.id)] });
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  port = (h.app.server.address() as { port: number }).port;
});
afterAll(() => h.close());

interface Answer {
  status: number;
  body: string;
}

/** Reads HTTP/1.1 responses off a socket, one at a time; null once the socket has closed. */
function responses(socket: Socket) {
  let buffer = Buffer.alloc(0);
  let closed = false;
  let wake = () => {};
  socket.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    wake();
  });
  socket.on('close', () => {
    closed = true;
    wake();
  });
  socket.on('error', () => {});
  return async function next(): Promise<Answer | null> {
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = buffer.subarray(0, end).toString();
        const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
        if (buffer.length >= end + 4 + length) {
          const body = buffer.subarray(end + 4, end + 4 + length).toString();
          buffer = buffer.subarray(end + 4 + length);
          return { status: Number(head.split(' ')[1]), body };
        }
      }
      if (closed) return null;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  };
}

const FIVE_MB = 5 * 1024 * 1024;
/** A CSV of FIVE_MB bytes under `header`: rows of valid-looking cells. */
function bigCsv(header: string): Buffer {
  const row = Buffer.from('91440101MA5CXXXX0X,' + 'x'.repeat(80) + '\n');
  const body = Buffer.alloc(FIVE_MB, row);
  Buffer.from(header + '\n').copy(body);
  body[body.length - 1] = 0x0a;
  return body;
}

/** Sends the upload, then GET /healthz on the same socket; answers the upload's response and what came of the second request. */
async function uploadThenAsk(method: string, url: string, headers: Record<string, string>, body: Buffer) {
  const socket = connect(port, '127.0.0.1');
  const next = responses(socket);
  const head = Object.entries({ host: 'localhost', connection: 'keep-alive', 'content-length': String(body.length), ...headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  socket.write(`${method} ${url} HTTP/1.1\r\n${head}\r\n`);
  socket.write(body);
  const first = await next();
  socket.write('GET /healthz HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\n\r\n');
  const second = await next();
  socket.destroy();
  return { first, second };
}

const csv = { 'content-type': 'text/csv' };

describe.each([
  ['POST /v1/enterprises/import', 'POST', () => '/v1/enterprises/import', 'credit_code,name'],
  ['PUT /v1/service-groups/{id}/members/import', 'PUT', () => `/v1/service-groups/${staticGroupId}/members/import`, 'credit_code'],
])('%s with a 5 MB body', (_name, method, url, header) => {
  const refusals: [string, () => { url?: string; headers: Record<string, string>; body?: Buffer }, number][] = [
    ['no key', () => ({ headers: csv }), 401],
    ['not CSV', () => ({ headers: { ...h.auth, 'content-type': 'application/octet-stream' } }), 415],
    ['CSV in another charset', () => ({ headers: { ...h.auth, 'content-type': 'text/csv; charset=gbk' } }), 415],
    ['a header without the required columns', () => ({ headers: { ...h.auth, ...csv }, body: bigCsv('colour') }), 400],
  ];
  if (method === 'PUT') {
    refusals.push(
      ['no such group', () => ({ url: '/v1/service-groups/999999/members/import', headers: { ...h.auth, ...csv } }), 404],
      ['a rule group', () => ({ url: `/v1/service-groups/${ruleGroupId}/members/import`, headers: { ...h.auth, ...csv } }), 422],
      ['another department’s group', () => ({ headers: { ...otherPublisher, ...csv } }), 404],
      ['a bad id', () => ({ url: '/v1/service-groups/x/members/import', headers: { ...h.auth, ...csv } }), 400],
    );
  }

  it.each(refusals)('refused for %s: the next request on the socket is answered', async (_why, request, status) => {
    const r = request();
    const { first, second } = await uploadThenAsk(method, r.url ?? url(), r.headers, r.body ?? bigCsv(header));
    expect(first?.status, first?.body).toBe(status);
    // Answered, or told plainly that the connection is over (Fastify closes it after a refusal in
    // the body parser): never left hanging.
    if (second) expect(second.status).toBe(200);
  });
});
