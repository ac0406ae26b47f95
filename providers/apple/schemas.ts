/**
 * App Store Connect metric responses, typed from Apple's OpenAPI document
 * (v4.4.1: BetaBuildUsagesV1MetricResponse, AppsBetaTesterUsagesV1MetricResponse,
 * BetaPublicLinkUsagesV1MetricResponse, BetaTesterUsagesV1MetricResponse, ErrorResponse).
 * Where Apple's examples differ from its schema, both are accepted:
 * `dimensions.*.data` is a string (schema) or `{type, id}` (examples), and
 * `start`/`end` are date-times (schema) or plain dates (examples).
 */
import { Type, type Static } from 'typebox'
import { Compile } from 'typebox/compile'

const DimensionData = Type.Union([
  Type.String(),
  Type.Object({ type: Type.Optional(Type.String()), id: Type.String() })
])

const MetricGroup = Type.Object({
  type: Type.Optional(Type.String()),
  dataPoints: Type.Array(Type.Object({
    start: Type.String(),
    end: Type.String(),
    values: Type.Record(Type.String(), Type.Union([Type.Number(), Type.Null()]))
  })),
  dimensions: Type.Optional(Type.Record(Type.String(), Type.Object({
    data: Type.Optional(DimensionData),
    links: Type.Optional(Type.Object({}))
  })))
})

export const AppleMetricResponseSchema = Type.Object({
  data: Type.Array(MetricGroup),
  links: Type.Object({ self: Type.String(), next: Type.Optional(Type.String()) }),
  meta: Type.Optional(Type.Object({
    paging: Type.Object({
      total: Type.Optional(Type.Integer()),
      limit: Type.Integer(),
      nextCursor: Type.Optional(Type.String())
    })
  }))
})
export type AppleMetricResponse = Static<typeof AppleMetricResponseSchema>

export const AppleErrorResponseSchema = Type.Object({
  errors: Type.Array(Type.Object({
    status: Type.Optional(Type.String()),
    code: Type.Optional(Type.String()),
    title: Type.Optional(Type.String()),
    detail: Type.Optional(Type.String()),
    source: Type.Optional(Type.Object({ parameter: Type.Optional(Type.String()), pointer: Type.Optional(Type.String()) }))
  }))
})

export const isAppleMetricResponse = Compile(AppleMetricResponseSchema)
export const isAppleErrorResponse = Compile(AppleErrorResponseSchema)

/** A JSON:API resource (an app, a build, a group, a tester), as far as the directories and labels read it. */
const Resource = Type.Object({
  type: Type.String(),
  id: Type.String(),
  attributes: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
  relationships: Type.Optional(Type.Record(Type.String(), Type.Object({
    data: Type.Optional(Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null(), Type.Array(Type.Unknown())]))
  })))
})
export type AppleResource = Static<typeof Resource>

const AppleResourceListSchema = Type.Object({
  data: Type.Array(Resource),
  included: Type.Optional(Type.Array(Resource)),
  links: Type.Object({ self: Type.String(), next: Type.Optional(Type.String()) }),
  meta: Type.Optional(Type.Object({
    paging: Type.Object({ total: Type.Optional(Type.Integer()), limit: Type.Integer(), nextCursor: Type.Optional(Type.String()) })
  }))
})

export const isAppleResourceList = Compile(AppleResourceListSchema)
export const isAppleResourceDocument = Compile(Type.Object({ data: Resource, included: Type.Optional(Type.Array(Resource)) }))
