export * from './adapters';
export * from './dispatcher';
