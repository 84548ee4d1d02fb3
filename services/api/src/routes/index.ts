import type { AppInstance } from '../app';
import departmentsRoutes from './departments/departments-routes';

// Every /v1 feature, one folder each.
export async function v1Routes(app: AppInstance): Promise<void> {
  await app.register(departmentsRoutes);
}
