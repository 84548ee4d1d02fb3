import type { Readable } from 'node:stream';
import type { AppInstance } from '../../app-instance';
import { actorOf, audit } from '../../services/audit';
import { errorResponses } from '../../schemas/common';
import { acceptCsvStream, CsvBody, csvRouteOptions } from './csv-body';
import { csvErrorResponses, EnterpriseImportReport, IMPORT_DESCRIPTION, REPORTED_SUCCESS_LIMIT } from './enterprise-import-schemas';
import { importEnterprises, type RowReport } from './enterprise-import-service';

export default async function enterpriseImportRoutes(app: AppInstance) {
  const { db } = app.deps.db;
  // Only this plugin's routes take text/csv: the parser is registered in its scope.
  acceptCsvStream(app);

  app.post(
    '/enterprises/import',
    {
      ...csvRouteOptions,
      config: { access: {} },
      schema: {
        tags: ['enterprises'],
        summary: 'Import enterprises and contacts from CSV',
        description: IMPORT_DESCRIPTION,
        consumes: ['text/csv'],
        body: CsvBody('the CSV file: a header row, then one enterprise per row'),
        response: { 200: EnterpriseImportReport, ...errorResponses, ...csvErrorResponses },
      },
    },
    async (req) => {
      const rows: RowReport[] = [];
      let successesListed = 0;
      const totals = await importEnterprises(db, req.body as Readable, (report) => {
        if (report.status === 'failed') rows.push(report);
        else if (successesListed < REPORTED_SUCCESS_LIMIT) {
          successesListed++;
          rows.push(report);
        }
      });
      req.log.info(totals, 'enterprises imported');
      // A file with no rows changed nothing: only imports that read rows are audited.
      if (totals.created + totals.updated + totals.failed > 0 || totals.stoppedAt !== null) {
        await audit(db, actorOf(req), { action: 'enterprises.import', subjectType: 'enterprises', details: { ...totals } });
      }
      return { ...totals, rows };
    },
  );
}
