// GB/T 4754-2017 industry classification: sections A–T and the 2-digit divisions under each.
export interface IndustrySection {
  code: string;
  divisionFrom: string;
  divisionTo: string;
  nameZh: string;
  nameEn: string;
}

export const industrySections: readonly IndustrySection[] = [
  {
    code: 'A',
    divisionFrom: '01',
    divisionTo: '05',
    nameZh: '农、林、牧、渔业',
    nameEn: 'Agriculture, forestry, animal husbandry and fishery',
  },
  { code: 'B', divisionFrom: '06', divisionTo: '12', nameZh: '采矿业', nameEn: 'Mining' },
  { code: 'C', divisionFrom: '13', divisionTo: '43', nameZh: '制造业', nameEn: 'Manufacturing' },
  {
    code: 'D',
    divisionFrom: '44',
    divisionTo: '46',
    nameZh: '电力、热力、燃气及水生产和供应业',
    nameEn: 'Electricity, heat, gas and water supply',
  },
  { code: 'E', divisionFrom: '47', divisionTo: '50', nameZh: '建筑业', nameEn: 'Construction' },
  { code: 'F', divisionFrom: '51', divisionTo: '52', nameZh: '批发和零售业', nameEn: 'Wholesale and retail trade' },
  {
    code: 'G',
    divisionFrom: '53',
    divisionTo: '60',
    nameZh: '交通运输、仓储和邮政业',
    nameEn: 'Transport, storage and postal services',
  },
  { code: 'H', divisionFrom: '61', divisionTo: '62', nameZh: '住宿和餐饮业', nameEn: 'Accommodation and catering' },
  {
    code: 'I',
    divisionFrom: '63',
    divisionTo: '65',
    nameZh: '信息传输、软件和信息技术服务业',
    nameEn: 'Information transmission, software and IT services',
  },
  { code: 'J', divisionFrom: '66', divisionTo: '69', nameZh: '金融业', nameEn: 'Finance' },
  { code: 'K', divisionFrom: '70', divisionTo: '70', nameZh: '房地产业', nameEn: 'Real estate' },
  {
    code: 'L',
    divisionFrom: '71',
    divisionTo: '72',
    nameZh: '租赁和商务服务业',
    nameEn: 'Leasing and business services',
  },
  {
    code: 'M',
    divisionFrom: '73',
    divisionTo: '75',
    nameZh: '科学研究和技术服务业',
    nameEn: 'Scientific research and technical services',
  },
  {
    code: 'N',
    divisionFrom: '76',
    divisionTo: '79',
    nameZh: '水利、环境和公共设施管理业',
    nameEn: 'Water, environment and public facilities management',
  },
  {
    code: 'O',
    divisionFrom: '80',
    divisionTo: '82',
    nameZh: '居民服务、修理和其他服务业',
    nameEn: 'Resident, repair and other services',
  },
  { code: 'P', divisionFrom: '83', divisionTo: '83', nameZh: '教育', nameEn: 'Education' },
  { code: 'Q', divisionFrom: '84', divisionTo: '85', nameZh: '卫生和社会工作', nameEn: 'Health and social work' },
  {
    code: 'R',
    divisionFrom: '86',
    divisionTo: '90',
    nameZh: '文化、体育和娱乐业',
    nameEn: 'Culture, sports and entertainment',
  },
  {
    code: 'S',
    divisionFrom: '91',
    divisionTo: '96',
    nameZh: '公共管理、社会保障和社会组织',
    nameEn: 'Public administration, social security and social organisations',
  },
  { code: 'T', divisionFrom: '97', divisionTo: '97', nameZh: '国际组织', nameEn: 'International organisations' },
];
