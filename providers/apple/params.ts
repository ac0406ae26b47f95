/**
 * The Apple routes' parameters (the endpoint rows carry them).
 */
import { Type } from 'typebox'
import { CURSOR_PATTERN, Id } from '../../src/patterns.js'

const Period = Type.Enum(['P7D', 'P30D', 'P90D', 'P365D'], { description: 'The reporting period: 7, 30, 90 or 365 days up to today.' })
const Limit = Type.Integer({ minimum: 1, maximum: 200, description: 'Groups per page (Apple answers 50 when absent).' })
const Cursor = Type.String({ pattern: CURSOR_PATTERN, description: 'The page to read: copy it from `paging.next`.' })

export const BUILD_EXAMPLE = 'ace4f47a-60ae-4ed6-954f-c4e61c7baab0'
export const APP_EXAMPLE = '6447306070'
export const GROUP_EXAMPLE = 'a1b2c3d4-0000-4000-8000-000000000001'
export const TESTER_EXAMPLE = 'cd082742-b2ec-4e63-b63f-6732f3e7abdd'

const AppId = Id('The app resource id (from App Store Connect).', APP_EXAMPLE)
const GroupId = Id('The beta group resource id (from App Store Connect).', GROUP_EXAMPLE)
const TesterFilter = Id('Only this beta tester (else one point per tester).', TESTER_EXAMPLE)
const All = Type.Boolean({ description: 'Follow every page upstream (each cached on its own) and answer them as one report, `paging.next` null; a 400 `too_many_pages` when that would take more than MAX_PAGES pages.' })

export const buildParams = Type.Object({ buildId: Id('The build resource id (from App Store Connect).', BUILD_EXAMPLE) })
export const appParams = Type.Object({ appId: AppId })
export const groupParams = Type.Object({ groupId: GroupId })
export const testerParams = Type.Object({ testerId: Id('The beta tester resource id (from App Store Connect).', TESTER_EXAMPLE) })

export const noQuery = Type.Object({}, { additionalProperties: false })
export const testerQuery = Type.Object({
  period: Type.Optional(Period),
  testerId: Type.Optional(TesterFilter),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  all: Type.Optional(All)
}, { additionalProperties: false })
export const pageQuery = Type.Object({ limit: Type.Optional(Limit), cursor: Type.Optional(Cursor), all: Type.Optional(All) }, { additionalProperties: false })
export const testerAppQuery = Type.Object({
  appId: AppId,
  period: Type.Optional(Period),
  limit: Type.Optional(Limit),
  cursor: Type.Optional(Cursor),
  all: Type.Optional(All)
}, { additionalProperties: false })

export const noParams = Type.Object({})
/** Builds: newest first, a page at a time. */
export const buildsQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50, description: 'Builds per page (50 when absent).' })),
  cursor: Type.Optional(Cursor)
}, { additionalProperties: false })

/** Most builds one build-usages request covers. */
export const MAX_LAST_BUILDS = 50

/** An app's most recent builds. */
export const buildUsagesQuery = Type.Object({
  last: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LAST_BUILDS, default: 10, description: 'How many of the app\'s most recent builds (1 to 50; 10 when absent).', examples: [10] }))
}, { additionalProperties: false })
