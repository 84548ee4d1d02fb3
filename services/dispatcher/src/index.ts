export * from './adapters';
export * from './dispatcher';
export * from './metrics-server';
export { runReminders } from './jobs/reminders';
