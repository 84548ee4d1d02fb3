// Policies named in Guangzhou's 2020 disclosure report (real titles; doc numbers, summaries, urls, categories and audiences are demo values).
import type { AudienceRule } from '../rules';

export interface SamplePolicy {
  department: string;
  docNumber: string;
  title: string;
  summary: string;
  url: string;
  categories: string[];
  /** `{}` means everyone subscribed. */
  audience: AudienceRule;
  priority?: 'normal' | 'urgent';
}

export const samplePolicies: readonly SamplePolicy[] = [
  {
    department: 'gz-drc',
    docNumber: 'DEMO-2020-001',
    title: '广州市加快生物医药产业发展若干规定',
    summary: '支持生物医药企业研发创新、临床试验和产业化，对符合条件的项目给予资金奖励。',
    url: 'https://policy.example.gov.cn/2020/001',
    categories: ['biomedicine'],
    audience: { industries: { any: ['C', 'M'] } },
  },
  {
    department: 'gz-miit',
    docNumber: 'DEMO-2020-002',
    title: '广州市加快推进数字新基建发展三年行动计划（2020—2022年）',
    summary: '推进5G、数据中心、工业互联网等新型基础设施建设，明确三年目标与重点任务。',
    url: 'https://policy.example.gov.cn/2020/002',
    categories: ['digital-infrastructure'],
    audience: { industries: { any: ['I', 'C'] } },
  },
  {
    department: 'gz-gov-office',
    docNumber: 'DEMO-2020-003',
    title: '广州市坚决打赢新冠肺炎疫情防控阻击战努力实现全年经济社会发展目标任务的若干措施',
    summary: '统筹疫情防控和经济社会发展，从复工复产、稳企稳岗、扩大内需等方面提出措施。',
    url: 'https://policy.example.gov.cn/2020/003',
    categories: ['epidemic', 'stable-growth'],
    audience: {},
  },
  {
    department: 'gz-gov-office',
    docNumber: 'DEMO-2020-004',
    title: '广州市支持中小企业共渡难关十五条措施（暖企15条）',
    summary: '通过减免租金、延期缴纳税费、加大金融支持等方式，帮助中小企业渡过疫情难关。',
    url: 'https://policy.example.gov.cn/2020/004',
    categories: ['relief'],
    audience: { sizes: { any: ['small', 'micro', 'medium'] } },
  },
  {
    department: 'gz-drc',
    docNumber: 'DEMO-2020-005',
    title: '广州市促进汽车生产消费若干措施',
    summary: '支持汽车企业稳产扩产，对购买新能源汽车等消费行为给予补贴。',
    url: 'https://policy.example.gov.cn/2020/005',
    categories: ['auto-consumption'],
    audience: { industries: { any: ['C', 'F'] } },
  },
  {
    department: 'gz-housing',
    docNumber: 'DEMO-2020-006',
    title: '广州市住房租赁市场奖补办法',
    summary: '对发展住房租赁的企业和项目给予奖励和补贴，规范申请条件和程序。',
    url: 'https://policy.example.gov.cn/2020/006',
    categories: ['housing-rental'],
    audience: { industries: { any: ['K', 'L'] } },
  },
  {
    department: 'gz-hrss',
    docNumber: 'DEMO-2020-007',
    title: '广州市进一步稳定和促进就业若干政策措施',
    summary: '通过社保补贴、吸纳就业补贴、职业培训补贴等措施稳定和扩大就业。',
    url: 'https://policy.example.gov.cn/2020/007',
    categories: ['employment'],
    audience: {},
  },
  {
    department: 'gz-finance',
    docNumber: 'DEMO-2020-008',
    title: '广州市市级财政专项资金管理办法',
    summary: '规范市级财政专项资金的设立、分配、使用、绩效评价和监督管理。',
    url: 'https://policy.example.gov.cn/2020/008',
    categories: ['fiscal-funds'],
    audience: {},
  },
  {
    department: 'gz-gov-office',
    docNumber: 'DEMO-2020-009',
    title: '广州市突发事件预警信息发布管理规定',
    summary: '明确突发事件预警信息的发布主体、发布流程和传播渠道。',
    url: 'https://policy.example.gov.cn/2020/009',
    categories: ['emergency-alerts'],
    audience: {},
    priority: 'urgent',
  },
];
