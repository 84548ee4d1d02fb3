export * from './adapters';
export * from './dispatcher';
export * from './metrics';
export * from './metrics-registry';
export { checkHealth, type HealthReport, type ProviderHealth, PROVIDER_MIN_SENDS, PROVIDER_WINDOW } from './jobs/health-check';
export * from './metrics-server';
export { runReminders } from './jobs/reminders';
