export * from './dispatcher-metrics';
export * from './health-report';
export * from './metrics-registry';
