// Binding a contact to its WeChat openid (CHANNELS.md "Binding"): a signed scene naming the
// contact, offered two ways — a temporary QR code (the follow event carries the scene back to
// the webhook) and a web-authorisation link (the OAuth callback carries it back as `state`).
import {
  createBindingQrCode,
  exchangeOauthCode,
  oauthAuthorizeUrl,
  signBindingScene,
  verifyBindingScene,
  WechatApiError,
  type WechatSettings,
  type WechatTokenSource,
} from '@policy-push/channels';
import { bindWechatOpenid, type Database } from '@policy-push/db';
import { audit, recipient } from '../../services/audit';

/** How long a binding QR code and link work; WeChat's temporary QR codes allow up to 30 days. */
export const BINDING_TTL_SECONDS = 7 * 86_400;
export const OAUTH_CALLBACK_PATH = '/wechat/oauth/callback';

export interface BindingDeps {
  db: Database;
  settings: WechatSettings;
  tokens: WechatTokenSource;
  signingSecret: string;
  publicBaseUrl: string;
  timeoutMs: number;
  now?: () => Date;
}

export interface WechatBinding {
  scene: string;
  qrCodeUrl: string;
  authorizeUrl: string;
  expiresAt: string;
}

/** A QR code and a link that bind whoever follows through them to this contact. Throws on WeChat trouble. */
export async function createWechatBinding(deps: BindingDeps, contactId: number): Promise<WechatBinding> {
  const now = deps.now?.() ?? new Date();
  const expiresAt = new Date(now.getTime() + BINDING_TTL_SECONDS * 1000);
  const scene = signBindingScene(deps.signingSecret, contactId, expiresAt);
  const http = { timeoutMs: deps.timeoutMs };
  const qr = await createBindingQrCode({ settings: deps.settings, tokens: deps.tokens, http }, scene, BINDING_TTL_SECONDS);
  return {
    scene,
    qrCodeUrl: qr.imageUrl,
    authorizeUrl: oauthAuthorizeUrl(deps.settings.appId, `${deps.publicBaseUrl}${OAUTH_CALLBACK_PATH}`, scene),
    expiresAt: expiresAt.toISOString(),
  };
}

export type OauthBindingResult = 'bound' | 'invalid_state' | 'code_refused' | 'contact_gone';

/**
 * The end of web authorisation: checks the signed state before anything else (a forged or
 * expired one costs no call to WeChat and writes nothing), exchanges the code for the openid,
 * binds it. WeChat being unreachable throws.
 */
export async function completeOauthBinding(
  deps: Omit<BindingDeps, 'tokens' | 'publicBaseUrl'> & { ip?: string },
  code: string,
  state: string,
): Promise<OauthBindingResult> {
  const contactId = verifyBindingScene(deps.signingSecret, state, deps.now?.() ?? new Date());
  if (contactId === null) return 'invalid_state';
  let openid: string;
  try {
    openid = await exchangeOauthCode({ settings: deps.settings, http: { timeoutMs: deps.timeoutMs } }, code);
  } catch (err) {
    // 40029 invalid code, 40163 code already used: the page was reloaded or the code forged.
    if (err instanceof WechatApiError) return 'code_refused';
    throw err;
  }
  // The recipient's own act, audited as theirs in the same transaction.
  const bound = await deps.db.transaction(async (tx) => {
    if (!(await bindWechatOpenid(tx, contactId, openid))) return false;
    await audit(tx, recipient(deps.ip ?? null), {
      action: 'contact.wechat_binding',
      subjectType: 'contact',
      subjectId: contactId,
      details: { via: 'oauth' },
    });
    return true;
  });
  return bound ? 'bound' : 'contact_gone';
}
