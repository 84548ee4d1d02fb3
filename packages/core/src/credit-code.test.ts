import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { CREDIT_CODE_CHARSET, creditCodeCheckChar, generateCreditCode, isValidCreditCode, normalizeCreditCode } from './credit-code';
import { isDistrictCode } from './reference';

const VALID = ['91350100M000100Y43', '9144030071526726XG'];

describe('creditCodeCheckChar', () => {
  it('computes the check character of the known samples', () => {
    expect(creditCodeCheckChar('91350100M000100Y4')).toBe('3');
    expect(creditCodeCheckChar('9144030071526726X')).toBe('G');
  });

  it('returns null for symbols outside the charset or a wrong length', () => {
    expect(creditCodeCheckChar('91350100M000100I4')).toBeNull();
    expect(creditCodeCheckChar('9135010')).toBeNull();
    expect(creditCodeCheckChar('91350100m000100Y4')).toBeNull();
  });
});

describe('isValidCreditCode', () => {
  it('accepts the valid samples', () => {
    for (const code of VALID) expect(isValidCreditCode(code)).toBe(true);
  });

  it('rejects a wrong check character', () => {
    expect(isValidCreditCode('91350100M000100Y44')).toBe(false);
    expect(isValidCreditCode('9144030071526726XH')).toBe(false);
  });

  it('rejects the forbidden letters I O S V Z anywhere', () => {
    for (const letter of 'IOSVZ') {
      expect(isValidCreditCode(`91350100M000100Y4${letter}`), letter).toBe(false);
      expect(isValidCreditCode(`${letter}1350100M000100Y43`), letter).toBe(false);
    }
  });

  it('rejects a wrong length', () => {
    expect(isValidCreditCode('')).toBe(false);
    expect(isValidCreditCode('91350100M000100Y4')).toBe(false);
    expect(isValidCreditCode('91350100M000100Y430')).toBe(false);
  });

  it('normalises full-width, lower-case and padded input first', () => {
    expect(normalizeCreditCode('　９１３５０１００ｍ０００１００ｙ４３ ')).toBe('91350100M000100Y43');
    expect(isValidCreditCode('　９１３５０１００ｍ０００１００ｙ４３ ')).toBe(true);
    expect(isValidCreditCode(' 9144030071526726xg\n')).toBe(true);
  });

  it('rejects any single-symbol change of a valid code', () => {
    fc.assert(
      fc.property(fc.nat(17), fc.integer({ min: 1, max: 30 }), (pos, shift) => {
        const code = VALID[0];
        const old = CREDIT_CODE_CHARSET.indexOf(code[pos]);
        const replacement = CREDIT_CODE_CHARSET[(old + shift) % 31];
        return !isValidCreditCode(code.slice(0, pos) + replacement + code.slice(pos + 1));
      }),
    );
  });
});

describe('generateCreditCode', () => {
  it('always generates a valid code with a Guangzhou district', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 10, maxLength: 10 }), (values) => {
        let i = 0;
        const code = generateCreditCode(() => values[i++ % values.length]);
        return isValidCreditCode(code) && code.startsWith('91') && isDistrictCode(code.slice(2, 8));
      }),
    );
  });

  it('is deterministic for the same random source', () => {
    const seeded = () => {
      let x = 0.1;
      return () => (x = (x * 9301 + 0.49297) % 1);
    };
    expect(generateCreditCode(seeded())).toBe(generateCreditCode(seeded()));
  });
});
