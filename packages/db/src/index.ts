export * from './create-db';
export * from './rows';
export * as schema from './schema';
export * from './schema';
export * from './queries/departments-queries';
