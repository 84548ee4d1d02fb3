// The two WeChat calls behind binding a contact to its openid (CHANNELS.md "Binding"): a
// temporary QR code whose scene names the contact, and the snsapi_base code exchange of web
// authorisation. The openid itself arrives with the follow event or the exchange.
import { type WechatHttp, type WechatSettings, wechatRequest } from './wechat-http';
import { withAccessToken, type WechatTokenSource } from './wechat-token';

/** WeChat answered with an errcode. */
export class WechatApiError extends Error {
  constructor(
    readonly errcode: number,
    errmsg: string,
  ) {
    super(`wechat ${errcode}: ${errmsg}`);
  }
}

export interface BindingQrCode {
  ticket: string;
  /** The image: WeChat's showqrcode page for the ticket. */
  imageUrl: string;
  expireSeconds: number;
}

/** A temporary QR code (QR_STR_SCENE) carrying `scene`; at most 30 days. Throws WechatApiError, WechatTransportError, WechatTokenError. */
export async function createBindingQrCode(
  deps: { settings: WechatSettings; tokens: WechatTokenSource; http: WechatHttp },
  scene: string,
  expireSeconds: number,
): Promise<BindingQrCode> {
  const body = { expire_seconds: expireSeconds, action_name: 'QR_STR_SCENE', action_info: { scene: { scene_str: scene } } };
  const reply = await withAccessToken(deps.tokens, (token) =>
    wechatRequest(deps.http, `${deps.settings.apiUrl}/cgi-bin/qrcode/create?access_token=${encodeURIComponent(token)}`, body),
  );
  const ticket = reply.json.ticket;
  if (reply.errcode !== 0 || typeof ticket !== 'string') throw new WechatApiError(reply.errcode, reply.errmsg || 'no ticket');
  return {
    ticket,
    imageUrl: `https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${encodeURIComponent(ticket)}`,
    expireSeconds: typeof reply.json.expire_seconds === 'number' ? reply.json.expire_seconds : expireSeconds,
  };
}

/**
 * The link that opens web authorisation in WeChat's browser and comes back to `redirectUri`
 * with `code` and `state`. WeChat checks the parameters in exactly this order.
 */
export function oauthAuthorizeUrl(appId: string, redirectUri: string, state: string): string {
  return (
    'https://open.weixin.qq.com/connect/oauth2/authorize' +
    `?appid=${encodeURIComponent(appId)}&redirect_uri=${encodeURIComponent(redirectUri)}` +
    `&response_type=code&scope=snsapi_base&state=${encodeURIComponent(state)}#wechat_redirect`
  );
}

/** The openid behind a web-authorisation code (snsapi_base: nothing else is needed). Throws WechatApiError, WechatTransportError. */
export async function exchangeOauthCode(deps: { settings: WechatSettings; http: WechatHttp }, code: string): Promise<string> {
  const { settings } = deps;
  const query = new URLSearchParams({ appid: settings.appId, secret: settings.appSecret, code, grant_type: 'authorization_code' });
  const reply = await wechatRequest(deps.http, `${settings.apiUrl}/sns/oauth2/access_token?${query}`);
  const openid = reply.json.openid;
  if (reply.errcode !== 0 || typeof openid !== 'string' || !openid) throw new WechatApiError(reply.errcode, reply.errmsg || 'no openid');
  return openid;
}
