// GB/T 2260 administrative division codes: Guangzhou's 11 districts (city 440100).
export interface District {
  code: string;
  nameZh: string;
  nameEn: string;
}

export const districts: readonly District[] = [
  { code: '440103', nameZh: '荔湾区', nameEn: 'Liwan' },
  { code: '440104', nameZh: '越秀区', nameEn: 'Yuexiu' },
  { code: '440105', nameZh: '海珠区', nameEn: 'Haizhu' },
  { code: '440106', nameZh: '天河区', nameEn: 'Tianhe' },
  { code: '440111', nameZh: '白云区', nameEn: 'Baiyun' },
  { code: '440112', nameZh: '黄埔区', nameEn: 'Huangpu' },
  { code: '440113', nameZh: '番禺区', nameEn: 'Panyu' },
  { code: '440114', nameZh: '花都区', nameEn: 'Huadu' },
  { code: '440115', nameZh: '南沙区', nameEn: 'Nansha' },
  { code: '440117', nameZh: '从化区', nameEn: 'Conghua' },
  { code: '440118', nameZh: '增城区', nameEn: 'Zengcheng' },
];
