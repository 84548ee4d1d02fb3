// WeChat's message signatures and safe-mode encryption (CHANNELS.md "Authenticity"), as the
// Official Account server URL speaks them: `signature` over token, timestamp and nonce; in safe
// mode `msg_signature` over those and the Encrypt element, and an AES-256-CBC body.
import { createCipheriv, createDecipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** hex(sha1(sort(parts).join(''))): the one signature recipe behind `signature` and `msg_signature`. */
export function sortedSha1(parts: string[]): string {
  return createHash('sha1')
    .update([...parts].sort().join(''))
    .digest('hex');
}

/** The `signature` query parameter WeChat adds to every call of the server URL. */
export function verifySignature(token: string, timestamp: string, nonce: string, signature: string): boolean {
  return sameHex(sortedSha1([token, timestamp, nonce]), signature);
}

/** msg_signature = sha1(sort([token, timestamp, nonce, Encrypt])), in safe mode. */
export function msgSignature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return sortedSha1([token, timestamp, nonce, encrypt]);
}

export function verifyMsgSignature(token: string, timestamp: string, nonce: string, encrypt: string, signature: string): boolean {
  return sameHex(msgSignature(token, timestamp, nonce, encrypt), signature);
}

// Constant time, and false (not a throw) for a value of another length or case.
function sameHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given.toLowerCase());
  return a.length === b.length && timingSafeEqual(a, b);
}

export class WechatCryptoError extends Error {}

// The EncodingAESKey is 43 base64 characters; with its '=' it decodes to the 32-byte AES key,
// whose first 16 bytes are the IV.
function aesKey(encodingAesKey: string): { key: Buffer; iv: Buffer } {
  const key = Buffer.from(`${encodingAesKey}=`, 'base64');
  if (encodingAesKey.length !== 43 || key.length !== 32) throw new WechatCryptoError('EncodingAESKey must be 43 base64 characters');
  return { key, iv: key.subarray(0, 16) };
}

// PKCS#7 to 32-byte blocks (not AES's 16), so Node's own padding is off.
const BLOCK = 32;

function pad(data: Buffer): Buffer {
  const n = BLOCK - (data.length % BLOCK);
  return Buffer.concat([data, Buffer.alloc(n, n)]);
}

function unpad(data: Buffer): Buffer {
  const n = data[data.length - 1];
  if (!n || n > BLOCK || n > data.length) throw new WechatCryptoError('bad padding');
  return data.subarray(0, data.length - n);
}

/** Plaintext = 16 random bytes + 4-byte big-endian length + XML + appid; answers base64. */
export function encryptMessage(encodingAesKey: string, appId: string, xml: string, random: Buffer = randomBytes(16)): string {
  const { key, iv } = aesKey(encodingAesKey);
  const body = Buffer.from(xml, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(body.length);
  const cipher = createCipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
  const plain = pad(Buffer.concat([random, length, body, Buffer.from(appId, 'utf8')]));
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

/** The XML inside an Encrypt element; throws WechatCryptoError when it is not for this appid. */
export function decryptMessage(encodingAesKey: string, appId: string, encrypt: string): string {
  const { key, iv } = aesKey(encodingAesKey);
  let plain: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-cbc', key, iv).setAutoPadding(false);
    plain = unpad(Buffer.concat([decipher.update(Buffer.from(encrypt, 'base64')), decipher.final()]));
  } catch (err) {
    throw err instanceof WechatCryptoError ? err : new WechatCryptoError('cannot decrypt');
  }
  if (plain.length < 20) throw new WechatCryptoError('message too short');
  const length = plain.readUInt32BE(16);
  if (20 + length > plain.length) throw new WechatCryptoError('bad length');
  const xml = plain.subarray(20, 20 + length).toString('utf8');
  // The appid after the XML proves the message was encrypted for this Official Account.
  if (plain.subarray(20 + length).toString('utf8') !== appId) throw new WechatCryptoError('message is for another appid');
  return xml;
}
