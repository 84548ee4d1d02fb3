import { describe, expect, it } from 'vitest';
import { classifySmtpError, maskEmails } from './smtp-errors';

// The adapter tests cover the replies a real server sends; these are the ones it is awkward to
// make a server send, as nodemailer shapes them (code, responseCode, response, command).
describe('classifySmtpError', () => {
  it.each([
    [
      '421 service closing',
      { code: 'EENVELOPE', responseCode: 421, response: '421 4.3.2 Shutting down', command: 'MAIL FROM' },
      'retryable',
      'SMTP_421_4.3.2',
    ],
    [
      '452 mailbox full at RCPT',
      { code: 'EENVELOPE', responseCode: 452, response: '452 4.2.2 Mailbox full', command: 'RCPT TO' },
      'retryable',
      'SMTP_452_4.2.2',
    ],
    [
      '503 bad sequence (session out of step)',
      { code: 'EENVELOPE', responseCode: 503, response: '503 5.5.1 Error: need RCPT command', command: 'DATA' },
      'retryable',
      'SMTP_503_5.5.1',
    ],
    [
      '554 refused content',
      { code: 'EMESSAGE', responseCode: 554, response: '554 5.7.1 Message rejected as spam', command: 'DATA' },
      'permanent',
      'SMTP_554_5.7.1',
    ],
    [
      '550 without an enhanced code',
      { code: 'EENVELOPE', responseCode: 550, response: '550 No such user', command: 'RCPT TO' },
      'permanent',
      'SMTP_550',
    ],
    ['connection dropped', { code: 'ECONNECTION', message: 'Connection closed unexpectedly', command: 'CONN' }, 'retryable', 'ECONNECTION'],
    ['DNS failure', { code: 'EDNS', message: 'getaddrinfo ENOTFOUND smtp.example.org', command: 'CONN' }, 'retryable', 'EDNS'],
    ['TLS handshake failed', { code: 'ETLS', message: 'Connection closed unexpectedly', command: 'CONN' }, 'retryable', 'ETLS'],
    [
      'an invalid recipient, refused before sending',
      { code: 'EENVELOPE', message: 'Invalid recipient', command: 'API' },
      'permanent',
      'EENVELOPE',
    ],
    ['something unknown', { message: 'boom' }, 'retryable', 'SMTP_ERROR'],
  ])('%s → %s', (_name, err, outcome, code) => {
    expect(classifySmtpError(err)).toMatchObject({ outcome, code });
    expect(classifySmtpError(err)).not.toHaveProperty('configError');
  });

  it.each([
    [
      '535 bad credentials',
      { code: 'EAUTH', responseCode: 535, response: '535 5.7.8 Authentication credentials invalid', command: 'AUTH PLAIN' },
    ],
    ['credentials missing', { code: 'ENOAUTH', message: 'Missing credentials for "PLAIN"', command: 'API' }],
    [
      '553 sender not allowed',
      { code: 'EENVELOPE', responseCode: 553, response: '553 5.7.1 Sender address rejected', command: 'MAIL FROM' },
    ],
  ])('%s → permanent configError', (_name, err) => {
    expect(classifySmtpError(err)).toMatchObject({ outcome: 'permanent', configError: true });
  });

  it('454 temporary authentication failure → retryable (RFC 4954)', () => {
    const err = { code: 'EAUTH', responseCode: 454, response: '454 4.7.0 Temporary authentication failure', command: 'AUTH PLAIN' };
    expect(classifySmtpError(err)).toMatchObject({ outcome: 'retryable', code: 'SMTP_454_4.7.0' });
  });

  it('marks 5.1.x and RCPT TO refusals as the recipient’s problem', () => {
    const unknownUser = {
      code: 'EMESSAGE',
      responseCode: 550,
      response: '550 5.1.1 <a.person@example.com>: user unknown',
      command: 'DATA',
    };
    expect(classifySmtpError(unknownUser)).toMatchObject({
      outcome: 'permanent',
      message: 'recipient refused: DATA: 550 5.1.1 <a.***@example.com>: user unknown',
    });
  });
});

describe('maskEmails', () => {
  it('keeps the first two characters of the local part and the domain', () => {
    expect(maskEmails('550 <owner@enterprise.example.com> no, and x@y.cn')).toBe('550 <ow***@enterprise.example.com> no, and x***@y.cn');
  });
});
