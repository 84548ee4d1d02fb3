// Operators never see whom to call: phone numbers and emails on every page they get are masked.
// Nor may anyone but an admin act as a recipient: the signed links in the messages the outbox and
// delivery pages show (preferences, unsubscribe, open) reach them without their tokens.
import { withoutLinkTokens } from '@policy-push/core';
import type { AppInstance } from '../../app-instance';
import { maskText } from '../../services/mask-contacts';

export function maskForRole(app: AppInstance): void {
  app.addHook('onSend', async (req, _reply, payload) => {
    const role = req.opsUser?.role;
    if (!role || role === 'admin' || typeof payload !== 'string') return payload;
    const redacted = withoutLinkTokens(payload);
    return role === 'ops' ? maskText(redacted) : redacted;
  });
}
