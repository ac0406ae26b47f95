/**
 * The Apple routes' parameters.
 */
import { Type } from 'typebox'
import { Id, type RouteParams } from '../report-route.js'

const Period = Type.Enum(['P7D', 'P30D', 'P90D', 'P365D'], { description: 'The reporting period: 7, 30, 90 or 365 days up to today.' })
const Limit = Type.Integer({ minimum: 1, maximum: 200, description: 'Groups per page (Apple answers 50 when absent).' })
const Cursor = Type.String({ pattern: '^[A-Za-z0-9._~+/=-]{1,512}$', description: 'The page to read: copy it from `paging.next`.' })

/** Parameters of each Apple endpoint, by endpoint key. */
export const appleRouteParams: Record<string, RouteParams> = {
  'apple.builds.betaBuildUsages': {
    params: Type.Object({ buildId: Id('The build resource id (from App Store Connect).', 'ace4f47a-60ae-4ed6-954f-c4e61c7baab0') }),
    querystring: Type.Object({}, { additionalProperties: false }),
    exampleId: 'ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
  },
  'apple.apps.betaTesterUsages': {
    params: Type.Object({ appId: Id('The app resource id (from App Store Connect).', '6447306070') }),
    querystring: Type.Object({
      period: Type.Optional(Period),
      testerId: Type.Optional(Id('Only this beta tester (else one point per tester).', 'cd082742-b2ec-4e63-b63f-6732f3e7abdd')),
      limit: Type.Optional(Limit),
      cursor: Type.Optional(Cursor)
    }, { additionalProperties: false }),
    exampleId: '6447306070'
  }
}
