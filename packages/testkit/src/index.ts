export * from './counting-adapter';
export * from './seed';
export * from './test-db';
export * from './fake-twilio';
export * from './smtp-test-server';
export * from './fake-wechat';
export * from './free-port';
export * from './reach-fixture';
