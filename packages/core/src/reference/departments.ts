// Departments named in Guangzhou's 2020 government-information disclosure report; SMS signatures are demo values, not approved ones.
export interface Department {
  code: string;
  nameZh: string;
  nameEn: string;
  smsSignature: string;
}

export const departments: readonly Department[] = [
  {
    code: 'gz-gov-office',
    nameZh: '广州市人民政府办公厅',
    nameEn: 'General Office of the Guangzhou Municipal Government',
    smsSignature: '广州市政府',
  },
  {
    code: 'gz-drc',
    nameZh: '广州市发展和改革委员会',
    nameEn: 'Guangzhou Development and Reform Commission',
    smsSignature: '广州发改',
  },
  {
    code: 'gz-miit',
    nameZh: '广州市工业和信息化局',
    nameEn: 'Guangzhou Industry and Information Technology Bureau',
    smsSignature: '广州工信',
  },
  {
    code: 'gz-health',
    nameZh: '广州市卫生健康委员会',
    nameEn: 'Guangzhou Health Commission',
    smsSignature: '广州卫健',
  },
  {
    code: 'gz-finance',
    nameZh: '广州市财政局',
    nameEn: 'Guangzhou Finance Bureau',
    smsSignature: '广州财政',
  },
  {
    code: 'gz-justice',
    nameZh: '广州市司法局',
    nameEn: 'Guangzhou Justice Bureau',
    smsSignature: '广州司法',
  },
  {
    code: 'gz-data',
    nameZh: '广州市政务服务数据管理局',
    nameEn: 'Guangzhou Government Service and Data Management Bureau',
    smsSignature: '广州政数',
  },
  {
    code: 'gz-commerce',
    nameZh: '广州市商务局',
    nameEn: 'Guangzhou Commerce Bureau',
    smsSignature: '广州商务',
  },
  {
    code: 'gz-hrss',
    nameZh: '广州市人力资源和社会保障局',
    nameEn: 'Guangzhou Human Resources and Social Security Bureau',
    smsSignature: '广州人社',
  },
  {
    code: 'gz-housing',
    nameZh: '广州市住房和城乡建设局',
    nameEn: 'Guangzhou Housing and Urban-Rural Development Bureau',
    smsSignature: '广州住建',
  },
];
