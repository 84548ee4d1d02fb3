// The channels a message can go out on, in their default order (ARCHITECTURE.md "Channels").
// Every list, type and schema of channels is built from this tuple; the database's own check
// constraints and enums (migrations) name the same three.
export const CHANNELS = ['wechat', 'sms', 'email'] as const;

export type Channel = (typeof CHANNELS)[number];

/** True when `value` names a channel (a query string, a form field, a database row). */
export function isChannel(value: unknown): value is Channel {
  return (CHANNELS as readonly unknown[]).includes(value);
}
