// A delivery as the dispatcher would hand it to renderOutbound, for tests.
import type { Channel } from './channel';
import type { DeliveryContext } from './render';

let nextId = 1_000_000 + Math.floor(Math.random() * 1_000_000) * 1000;
/** Delivery ids unique within the process (flaky recipients remember ids per process). */
export const freshDeliveryId = () => String(nextId++);

export function deliveryContext(channel: Channel, to: string, overrides: Partial<DeliveryContext> = {}): DeliveryContext {
  return {
    deliveryId: freshDeliveryId(),
    channel,
    to,
    locale: 'zh-CN',
    kind: 'policy',
    policy: {
      title: '关于支持中小企业数字化转型的若干措施',
      summary: '对完成数字化改造的规上工业企业给予最高200万元补助，申报截止6月30日。',
      titleEn: 'Measures to support the digital transformation of SMEs',
      summaryEn: 'Grants of up to 2 million yuan for industrial enterprises that complete a digital upgrade. Apply by 30 June.',
      url: 'https://gz.example.gov.cn/policies/2024-17',
      docNumber: '穗发改〔2024〕17号',
      publishedAt: new Date('2024-05-06T01:30:00Z'),
      urgent: false,
    },
    department: {
      nameZh: '广州市发展和改革委员会',
      nameEn: 'Guangzhou Development and Reform Commission',
      smsSignature: '广州发改',
      wechatTemplate: null,
    },
    links: { policy: 'https://push.example.org/l/abc123', unsubscribe: 'https://push.example.org/u/tok456' },
    smsSegmentBudget: 2,
    ...overrides,
  };
}
