import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, type TestApp } from './helpers';

describe('health and documentation', () => {
  let h: TestApp;
  beforeAll(async () => {
    h = await buildTestApp();
  });
  afterAll(() => h.close());

  it('answers /healthz and /readyz without a key', async () => {
    expect((await h.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
    expect((await h.app.inject({ url: '/readyz' })).json()).toEqual({ status: 'ok' });
  });

  it('serves an OpenAPI 3 document generated from the route schemas', async () => {
    const doc = (await h.app.inject({ url: '/openapi.json' })).json();
    expect(doc.openapi).toMatch(/^3\./);
    for (const path of [
      '/v1/policies',
      '/v1/policies/preview',
      '/v1/policies/{id}/push',
      '/v1/deliveries',
      '/v1/enterprises/{id}/contacts',
      '/v1/service-groups',
    ]) {
      expect(Object.keys(doc.paths)).toContain(path);
    }
    expect(doc.paths['/v1/policies'].post.requestBody.content['application/json'].schema.properties.docNumber).toBeDefined();
    expect((await h.app.inject({ url: '/docs' })).statusCode).toBeLessThan(400);
  });

  it('answers unknown routes, bad JSON and wrong content types with the error shape', async () => {
    const missing = await h.app.inject({ url: '/v1/nothing-here', headers: h.auth });
    expect(missing.statusCode).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    const badJson = await h.app.inject({
      method: 'POST',
      url: '/v1/departments',
      headers: { ...h.auth, 'content-type': 'application/json' },
      payload: '{"code":',
    });
    expect(badJson.statusCode).toBe(400);
    expect(badJson.json().error.code).toBe('invalid_json');
    const text = await h.app.inject({
      method: 'POST',
      url: '/v1/departments',
      headers: { ...h.auth, 'content-type': 'text/plain' },
      payload: 'hello',
    });
    expect(text.statusCode).toBe(415);
  });
});
