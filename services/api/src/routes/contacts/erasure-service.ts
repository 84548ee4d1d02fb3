// Erasure on request (packages/db erasure-queries.ts says what is erased and what is kept). One
// transaction per request: the erasure and its audit row commit together or not at all.
import { type Database, enterpriseContactIds, eraseContacts, getEnterprise, type Queryable } from '@policy-push/db';
import { ApiError, notFound } from '../../errors';
import { audit } from '../../services/audit';

export interface ErasureAnswer {
  erasedContacts: number;
  cancelledDeliveries: number;
}

type Actor = { apiKeyId: number; ip: string };

async function erase(tx: Queryable, contactIds: number[]): Promise<ErasureAnswer> {
  const result = await eraseContacts(tx, contactIds);
  if (result.sending > 0) {
    // Its provider answer is still to be written: erasing now would leave the address in it.
    throw new ApiError(
      409,
      'delivery_in_flight',
      `${result.sending} message(s) to this contact are being sent right now; nothing was erased, try again in a minute`,
    );
  }
  return { erasedContacts: result.contacts, cancelledDeliveries: result.cancelled };
}

export function eraseContact(db: Database, contactId: number, by: Actor): Promise<ErasureAnswer> {
  return db.transaction(async (tx) => {
    const answer = await erase(tx, [contactId]);
    if (!answer.erasedContacts) throw notFound('contact');
    await audit(tx, by, {
      action: 'contact.erase',
      subjectType: 'contact',
      subjectId: contactId,
      details: { cancelledDeliveries: answer.cancelledDeliveries },
    });
    return answer;
  });
}

export function eraseEnterprisePersonalData(db: Database, enterpriseId: number, by: Actor): Promise<ErasureAnswer> {
  return db.transaction(async (tx) => {
    if (!(await getEnterprise(tx, enterpriseId))) throw notFound('enterprise');
    const contactIds = await enterpriseContactIds(tx, enterpriseId);
    const answer = contactIds.length ? await erase(tx, contactIds) : { erasedContacts: 0, cancelledDeliveries: 0 };
    await audit(tx, by, {
      action: 'enterprise.erase_personal_data',
      subjectType: 'enterprise',
      subjectId: enterpriseId,
      details: { contactIds: contactIds.map(String), cancelledDeliveries: answer.cancelledDeliveries },
    });
    return answer;
  });
}
