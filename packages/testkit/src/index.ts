export * from './test-db';
