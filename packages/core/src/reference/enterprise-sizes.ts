// Enterprise size classes as in the NBS rule for large/medium/small/micro enterprises (国统字〔2017〕213号).
export interface EnterpriseSize {
  code: string;
  nameZh: string;
  nameEn: string;
}

export const enterpriseSizes: readonly EnterpriseSize[] = [
  { code: 'large', nameZh: '大型', nameEn: 'Large' },
  { code: 'medium', nameZh: '中型', nameEn: 'Medium' },
  { code: 'small', nameZh: '小型', nameEn: 'Small' },
  { code: 'micro', nameZh: '微型', nameEn: 'Micro' },
];
