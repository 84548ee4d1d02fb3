// The signed scene that binds a contact to the openid of whoever follows through it: the
// `scene_str` of a QR code (the subscribe/SCAN event carries it back as EventKey) and the
// `state` of the snsapi_base authorisation link (CHANNELS.md "Binding a contact").
// WeChat allows at most 64 characters in scene_str, which rules out the JSON signed tokens of
// core/signed-token.ts: the form here is `b.<contactId>.<expiry, base36 seconds>.<mac>`, the mac
// being HMAC-SHA256 over the rest (and this purpose), base64url, cut to 16 characters (96 bits).
import { createHmac, timingSafeEqual } from 'node:crypto';
import { WECHAT_BINDING_PURPOSE } from '@policy-push/core';

const PREFIX = 'b';
const MAC_CHARS = 16;
/** WeChat's limit for scene_str. */
export const MAX_SCENE_LENGTH = 64;

const mac = (secret: string, body: string) =>
  createHmac('sha256', secret).update(`${WECHAT_BINDING_PURPOSE}:${body}`).digest('base64url').slice(0, MAC_CHARS);

export function signBindingScene(secret: string, contactId: number | string, expiresAt: Date): string {
  const id = String(contactId);
  if (!/^[1-9]\d{0,14}$/.test(id)) throw new Error('binding scene: contact id must be a positive integer');
  const body = `${PREFIX}.${id}.${Math.floor(expiresAt.getTime() / 1000).toString(36)}`;
  return `${body}.${mac(secret, body)}`;
}

/** The contact id when the scene is authentic and not expired; otherwise null. */
export function verifyBindingScene(secret: string, scene: string, now: Date = new Date()): number | null {
  if (scene.length > MAX_SCENE_LENGTH) return null;
  const match = /^b\.([1-9]\d{0,14})\.([0-9a-z]{1,10})\.([A-Za-z0-9_-]{16})$/.exec(scene);
  if (!match) return null;
  const [, id, expiry, given] = match;
  const expected = Buffer.from(mac(secret, `${PREFIX}.${id}.${expiry}`));
  if (!timingSafeEqual(expected, Buffer.from(given))) return null;
  if (parseInt(expiry, 36) * 1000 <= now.getTime()) return null;
  return Number(id);
}
