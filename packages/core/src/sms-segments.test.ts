import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { GSM7_BASIC_SET, GSM7_EXTENSION_SET, domesticSmsLength, smsSegments } from './sms-segments';

const a = (n: number) => 'a'.repeat(n);
const zh = (n: number) => '政'.repeat(n);

describe('smsSegments GSM-7', () => {
  it('has the 127 basic characters and 10 extension characters of GSM 03.38', () => {
    expect(GSM7_BASIC_SET.size).toBe(127);
    expect(GSM7_EXTENSION_SET.size).toBe(10);
  });

  it('counts an empty text as 0 segments', () => {
    expect(smsSegments('')).toEqual({ encoding: 'GSM-7', units: 0, segments: 0, perSegment: 160 });
  });

  it('fits 160 characters in one segment, 161 in two', () => {
    expect(smsSegments(a(160))).toEqual({ encoding: 'GSM-7', units: 160, segments: 1, perSegment: 160 });
    expect(smsSegments(a(161))).toEqual({ encoding: 'GSM-7', units: 161, segments: 2, perSegment: 153 });
  });

  it('fits 153·2 in two segments, one more in three', () => {
    expect(smsSegments(a(306)).segments).toBe(2);
    expect(smsSegments(a(307)).segments).toBe(3);
  });

  it('counts extension characters twice', () => {
    expect(smsSegments(a(158) + '€')).toMatchObject({ units: 160, segments: 1 });
    expect(smsSegments(a(159) + '{')).toMatchObject({ encoding: 'GSM-7', units: 161, segments: 2 });
    expect(smsSegments('^{}[]~|€\\\f').units).toBe(20);
  });

  it('never splits an escape sequence across parts', () => {
    // 306 septets would fit two parts, but '{' cannot straddle the boundary at 153.
    expect(smsSegments(a(152) + '{' + a(152))).toMatchObject({ units: 306, segments: 3 });
  });

  it('keeps Latin accents of the basic set in GSM-7', () => {
    expect(smsSegments('Café à Zürich, 5€ @ 10:00').encoding).toBe('GSM-7');
  });
});

describe('smsSegments UCS-2', () => {
  it('fits 70 characters in one segment, 71 in two', () => {
    expect(smsSegments(zh(70))).toEqual({ encoding: 'UCS-2', units: 70, segments: 1, perSegment: 70 });
    expect(smsSegments(zh(71))).toEqual({ encoding: 'UCS-2', units: 71, segments: 2, perSegment: 67 });
  });

  it('fits 67·2 in two segments, one more in three', () => {
    expect(smsSegments(zh(134)).segments).toBe(2);
    expect(smsSegments(zh(135)).segments).toBe(3);
  });

  it('switches a long English text to UCS-2 for one Chinese character', () => {
    expect(smsSegments(a(150)).segments).toBe(1);
    expect(smsSegments(a(150) + '政')).toMatchObject({ encoding: 'UCS-2', units: 151, segments: 3 });
  });

  it('switches for full-width punctuation', () => {
    expect(smsSegments('Hello，world').encoding).toBe('UCS-2');
    expect(smsSegments('【】').encoding).toBe('UCS-2');
  });

  it('counts an emoji as two units and never splits it', () => {
    expect(smsSegments('😀')).toMatchObject({ encoding: 'UCS-2', units: 2, segments: 1 });
    expect(smsSegments(zh(69) + '😀')).toMatchObject({ units: 71, segments: 2 });
    expect(smsSegments(zh(66) + '😀' + zh(66))).toMatchObject({ units: 134, segments: 3 });
  });

  it('never needs fewer parts than units divided by capacity', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 400 }), (text) => {
        const r = smsSegments(text);
        return r.segments * r.perSegment >= r.units && (r.units === 0) === (r.segments === 0);
      }),
    );
  });
});

describe('domesticSmsLength', () => {
  it('counts signature brackets and every character once, emoji included', () => {
    expect(domesticSmsLength('广州发改', '政策更新')).toBe(10);
    expect(domesticSmsLength('广州发改', 'ab😀')).toBe(9);
  });
});
