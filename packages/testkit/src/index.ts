export * from './counting-adapter';
export * from './seed';
export * from './test-db';
