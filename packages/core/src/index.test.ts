import { describe, it, expect } from 'vitest';
import * as core from './index';

describe('package entry', () => {
  it('exports the agreed API', () => {
    const names = [
      'normalizeCreditCode',
      'creditCodeCheckChar',
      'isValidCreditCode',
      'generateCreditCode',
      'parsePhone',
      'smsSegments',
      'domesticSmsLength',
      'industrySections',
      'districts',
      'enterpriseSizes',
      'departments',
      'categories',
      'samplePolicies',
      'sectionOfDivision',
      'isDivisionInSection',
      'isDistrictCode',
      'isSizeCode',
      'isSectionCode',
      'validateRule',
      'subjectMatchesRule',
      'referenceMatch',
      'expandCategories',
      'reachableChannels',
      'whyUnreachable',
      'retryDelayMs',
      'renderWechat',
      'defaultWechatFields',
      'cutToLimit',
      'renderSms',
      'renderEmail',
    ];
    for (const name of names) expect(core, name).toHaveProperty(name);
  });
});
