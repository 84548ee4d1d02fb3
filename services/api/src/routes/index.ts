import type { AppInstance } from '../app-instance';
import apiKeysRoutes from './api-keys/api-keys-routes';
import auditRoutes from './audit/audit-routes';
import categoriesRoutes from './categories/categories-routes';
import contactsRoutes from './contacts/contacts-routes';
import deliveriesRoutes from './deliveries/deliveries-routes';
import departmentsRoutes from './departments/departments-routes';
import enterprisesRoutes from './enterprises/enterprises-routes';
import enterpriseImportRoutes from './enterprise-import/enterprise-import-routes';
import policiesRoutes from './policies/policies-routes';
import reachRoutes from './reach/reach-routes';
import openLinkRoutes from './open-link/open-link-routes';
import preferencesRoutes from './preferences/preferences-routes';
import serviceGroupsRoutes from './service-groups/service-groups-routes';
import subscriptionsRoutes from './subscriptions/subscriptions-routes';
import twilioWebhooks from './webhooks/twilio-webhooks';
import unsubscribeRoutes from './unsubscribe/unsubscribe-routes';
import wechatBindingRoutes from './wechat-binding/wechat-binding-routes';
import wechatOauthRoutes from './wechat-binding/wechat-oauth-routes';
import wechatWebhooks from './webhooks/wechat-webhooks';
import metricsRoutes from './metrics/metrics-routes';
import opsRoutes from './ops/ops-routes';

// Every /v1 feature, one folder each.
export async function v1Routes(app: AppInstance): Promise<void> {
  await app.register(departmentsRoutes);
  await app.register(categoriesRoutes);
  await app.register(enterprisesRoutes);
  await app.register(enterpriseImportRoutes);
  await app.register(contactsRoutes);
  await app.register(subscriptionsRoutes);
  await app.register(serviceGroupsRoutes);
  await app.register(policiesRoutes);
  await app.register(deliveriesRoutes);
  await app.register(reachRoutes);
  await app.register(wechatBindingRoutes);
  await app.register(apiKeysRoutes);
  await app.register(auditRoutes);
}

// Routes the outside world calls without an API key: provider webhooks and signed links.
export async function publicRoutes(app: AppInstance): Promise<void> {
  await app.register(twilioWebhooks);
  await app.register(preferencesRoutes);
  await app.register(unsubscribeRoutes);
  await app.register(openLinkRoutes);
  await app.register(wechatWebhooks);
  await app.register(wechatOauthRoutes);
  await app.register(metricsRoutes);
  await app.register(opsRoutes);
}
