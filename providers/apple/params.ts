/**
 * The Apple routes' parameters.
 */
import { Type } from 'typebox'
import { CURSOR_PATTERN } from '../../src/patterns.js'
import { Id, type RouteParams } from '../report-route.js'

const Period = Type.Enum(['P7D', 'P30D', 'P90D', 'P365D'], { description: 'The reporting period: 7, 30, 90 or 365 days up to today.' })
const Limit = Type.Integer({ minimum: 1, maximum: 200, description: 'Groups per page (Apple answers 50 when absent).' })
const Cursor = Type.String({ pattern: CURSOR_PATTERN, description: 'The page to read: copy it from `paging.next`.' })

const AppId = Id('The app resource id (from App Store Connect).', '6447306070')
const GroupId = Id('The beta group resource id (from App Store Connect).', 'a1b2c3d4-0000-4000-8000-000000000001')
const TesterFilter = Id('Only this beta tester (else one point per tester).', 'cd082742-b2ec-4e63-b63f-6732f3e7abdd')
const All = Type.Boolean({ description: 'Follow every page upstream (each cached on its own) and answer them as one report, `paging.next` null; a 400 `too_many_pages` when that would take more than MAX_PAGES pages.' })
const testerQuery = Type.Object({
  period: Type.Optional(Period),
  testerId: Type.Optional(TesterFilter),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  all: Type.Optional(All)
}, { additionalProperties: false })

/** Parameters of each Apple endpoint, by endpoint key. */
export const appleRouteParams: Record<string, RouteParams> = {
  'apple.builds.betaBuildUsages': {
    params: Type.Object({ buildId: Id('The build resource id (from App Store Connect).', 'ace4f47a-60ae-4ed6-954f-c4e61c7baab0') }),
    querystring: Type.Object({}, { additionalProperties: false }),
    exampleId: 'ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
  },
  'apple.apps.betaTesterUsages': {
    params: Type.Object({ appId: AppId }),
    querystring: testerQuery,
    exampleId: '6447306070'
  },
  'apple.betaGroups.betaTesterUsages': {
    params: Type.Object({ groupId: GroupId }),
    querystring: testerQuery,
    exampleId: 'a1b2c3d4-0000-4000-8000-000000000001'
  },
  'apple.betaGroups.publicLinkUsages': {
    params: Type.Object({ groupId: GroupId }),
    querystring: Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor), all: Type.Optional(All) }, { additionalProperties: false }),
    exampleId: 'a1b2c3d4-0000-4000-8000-000000000001'
  },
  'apple.betaTesters.betaTesterUsages': {
    params: Type.Object({ testerId: Id('The beta tester resource id (from App Store Connect).', 'cd082742-b2ec-4e63-b63f-6732f3e7abdd') }),
    querystring: Type.Object({
      appId: AppId,
      period: Type.Optional(Period),
      limit: Type.Optional(Limit),
      cursor: Type.Optional(Cursor),
      all: Type.Optional(All)
    }, { additionalProperties: false }),
    exampleId: 'cd082742-b2ec-4e63-b63f-6732f3e7abdd'
  }
}
