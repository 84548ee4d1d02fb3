import type { AudienceRule as CoreAudienceRule } from '@policy-push/core';
import { Type, type Static } from 'typebox';

// The wire shape of core's AudienceRule, checked in two steps. This schema only refuses wrong
// JSON types (400). Everything else is left to validateRule, which answers 422 with stable codes:
// that is why no object in here sets additionalProperties: false (an unknown key is
// `unknown_key`, `all` on a single-valued dimension is `all_not_allowed`) and why `any` is
// optional in the schema though required in the type (a dimension without it is `empty_list`
// or `all_not_allowed`, not a bare `required`). Lists are capped here only against huge bodies.
const Values = Type.Array(Type.String(), { maxItems: 500 });

const SingleValued = (description: string) =>
  Type.Object({ any: Type.Optional(Values) }, { description: `${description}; the enterprise matches when its value is any of these` });

export const AudienceRule = Type.Object(
  {
    industries: Type.Optional(SingleValued('GB/T 4754 section letters (e.g. C) and/or 2-digit divisions (e.g. 39)')),
    districts: Type.Optional(SingleValued('GB/T 2260 district codes (e.g. 440106)')),
    sizes: Type.Optional(SingleValued('large, medium, small, micro')),
    tags: Type.Optional(
      Type.Object(
        { any: Type.Optional(Values), all: Type.Optional(Values) },
        { description: 'enterprise tags: any = at least one of them, all = every one of them; both may be given' },
      ),
    ),
  },
  {
    description:
      'Who is in the audience. Dimensions are ANDed; an absent dimension matches everyone; an empty list is refused. ' +
      'industries, districts and sizes take `any` only; tags take `any` and/or `all`.',
  },
);

export type AudienceRuleBody = Static<typeof AudienceRule>;

/** The body's rule as core's type; only sound once validateRule found no problem in it. */
export const asAudienceRule = (rule: AudienceRuleBody): CoreAudienceRule => rule as CoreAudienceRule;
