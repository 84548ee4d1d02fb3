export * from './channel';
export * from './render';
export * from './sandbox/magic-recipients';
export * from './sandbox/sandbox-adapter';
export * from './sandbox/sandbox-recorder';
export { SMS_MAX_CHARS, validateMessage, wechatKeyType } from './sandbox/validate-message';
