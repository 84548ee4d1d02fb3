// Policy categories named in Guangzhou's 2020 government-information disclosure report, with parents.
export interface Category {
  code: string;
  parent: string | null;
  nameZh: string;
  nameEn: string;
}

export const categories: readonly Category[] = [
  { code: 'business-environment', parent: null, nameZh: '优化营商环境', nameEn: 'Business environment' },
  {
    code: 'enterprise-lifecycle',
    parent: 'business-environment',
    nameZh: '企业全生命周期服务',
    nameEn: 'Enterprise lifecycle services',
  },
  { code: 'one-thing-services', parent: 'business-environment', nameZh: '一件事一次办', nameEn: 'One-stop services' },
  { code: 'epidemic', parent: null, nameZh: '疫情防控', nameEn: 'Epidemic prevention and control' },
  { code: 'epidemic-supplies', parent: 'epidemic', nameZh: '防疫物资保障', nameEn: 'Epidemic supplies' },
  { code: 'work-resumption', parent: 'epidemic', nameZh: '复工复产', nameEn: 'Resumption of work and production' },
  { code: 'relief', parent: null, nameZh: '惠企纾困', nameEn: 'Relief for enterprises' },
  { code: 'rent-relief', parent: 'relief', nameZh: '商铺减免租金', nameEn: 'Shop rent relief' },
  { code: 'stable-growth', parent: null, nameZh: '稳增长', nameEn: 'Stable growth' },
  { code: 'employment', parent: null, nameZh: '就业', nameEn: 'Employment' },
  { code: 'education', parent: null, nameZh: '教育', nameEn: 'Education' },
  { code: 'medical-insurance', parent: null, nameZh: '医保', nameEn: 'Medical insurance' },
  { code: 'household-registration', parent: null, nameZh: '入户', nameEn: 'Household registration' },
  { code: 'industry', parent: null, nameZh: '产业发展', nameEn: 'Industrial development' },
  { code: 'biomedicine', parent: 'industry', nameZh: '生物医药', nameEn: 'Biomedicine' },
  { code: 'digital-infrastructure', parent: 'industry', nameZh: '数字新基建', nameEn: 'Digital new infrastructure' },
  {
    code: 'auto-consumption',
    parent: 'industry',
    nameZh: '汽车生产消费',
    nameEn: 'Automobile production and consumption',
  },
  { code: 'housing-rental', parent: null, nameZh: '住房租赁', nameEn: 'Housing rental' },
  { code: 'fiscal-funds', parent: null, nameZh: '财政专项资金', nameEn: 'Special fiscal funds' },
  { code: 'emergency-alerts', parent: null, nameZh: '突发事件预警', nameEn: 'Emergency alerts' },
];
