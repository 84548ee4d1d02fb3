import { describe, expect, it } from 'vitest';
import { isScannerUserAgent, machineOpen } from './engagement';

const sentAt = new Date('2026-12-01T02:00:00Z');
const later = new Date('2026-12-01T02:05:00Z');
const browser = 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0.44';

describe('machineOpen', () => {
  it('a browser some minutes after the send is a person', () => {
    expect(machineOpen({ method: 'GET', userAgent: browser, sentAt, at: later })).toBeNull();
  });
  it('HEAD, a scanner and an open within a minute are machines', () => {
    expect(machineOpen({ method: 'HEAD', userAgent: browser, sentAt, at: later })).toBe('head');
    expect(machineOpen({ method: 'GET', userAgent: 'Mozilla/5.0 (compatible; BingPreview/1.0b)', sentAt, at: later })).toBe('scanner');
    expect(machineOpen({ method: 'GET', userAgent: browser, sentAt, at: new Date(sentAt.getTime() + 59_000) })).toBe('too_early');
    expect(machineOpen({ method: 'GET', userAgent: browser, sentAt: null, at: later })).toBe('too_early');
    expect(machineOpen({ method: 'GET', userAgent: browser, sentAt, at: new Date(sentAt.getTime() + 60_000) })).toBeNull();
  });
});

describe('isScannerUserAgent', () => {
  it('knows the gateways, case-insensitively, and a missing user agent', () => {
    expect(isScannerUserAgent('Barracuda Sentinel (EE)')).toBe(true);
    expect(isScannerUserAgent('Mozilla/5.0 proofpoint')).toBe(true);
    expect(isScannerUserAgent('')).toBe(true);
    expect(isScannerUserAgent(undefined)).toBe(true);
    expect(isScannerUserAgent(browser)).toBe(false);
  });
});
