/**
 * A real HTTP stand-in for App Store Connect's TestFlight metrics endpoints:
 * ES256 JWT verification, cursor paging, `X-Rate-Limit` headers and Apple's
 * documented error bodies, over deterministic data.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { jwtVerify, decodeProtectedHeader, type CryptoKey, type KeyObject } from 'jose'
import { DAY_MS, isoDay } from '../../src/days.js'
import { intBelow, randomFrom, uuidFrom } from '../../src/random.js'

/** One App Store Connect team: the key it signs with, and the apps that key sees. */
export interface AppleTeam {
  keyId: string
  /** Absent for an individual key (its tokens say `sub: "user"`). */
  issuerId?: string
  /** Verifies the team's tokens. */
  publicKey: CryptoKey | KeyObject
  /** The apps it sees, with their builds, beta groups and testers; any other id is a 404 to it. */
  apps: string[]
}

/** One key that sees every demo app, or several teams each seeing only its own apps. */
export type AppleSimulatorOptions = AppleSimulatorShape & (
  | { publicKey: CryptoKey | KeyObject, keyId: string, issuerId?: string, teams?: undefined }
  | { teams: AppleTeam[], publicKey?: undefined, keyId?: undefined, issuerId?: undefined }
)

interface AppleSimulatorShape {
  /**
   * `example`: dimensions as `{type, id}` and dates as `YYYY-MM-DD`, as Apple's
   * published examples show; `schema`: as Apple's OpenAPI schema says (string
   * ids, date-times).
   */
  style?: 'example' | 'schema'
  hourlyLimit?: number
  now?: () => number
}

export interface AppleSimulator {
  server: FastifyInstance
  /** Metrics requests answered (any status), by path. */
  calls: string[]
  /** Requests with a valid token (any status), by path, per key id. */
  callsByKey: Record<string, string[]>
}

/** Apps, builds, groups and testers the simulator knows; any other id is a 404. */
export const APPLE_DEMO = {
  apps: { 6447306070: 931, 6448250830: 12 } as Record<string, number>,
  builds: ['ace4f47a-60ae-4ed6-954f-c4e61c7baab0', '2f5c4b0e-9d1a-4c3e-8f7b-1a2b3c4d5e6f', '7e9d8c7b-6a5f-4e3d-9c2b-0a1b2c3d4e5f'],
  /** Beta groups: their app, and how many of its first testers are members. */
  groups: {
    'a1b2c3d4-0000-4000-8000-000000000001': { app: '6447306070', members: 240 },
    'a1b2c3d4-0000-4000-8000-000000000002': { app: '6448250830', members: 12 }
  } as Record<string, { app: string, members: number }>,
  /**
   * The tester of Apple's filter example: the first tester of both apps, so
   * one tester, app and group serve every route's examples.
   */
  tester: 'cd082742-b2ec-4e63-b63f-6732f3e7abdd'
}

/** What the directories and labels say of the demo apps, builds and groups (the ones the reports know). */
export const APPLE_DEMO_NAMES = {
  apps: {
    6447306070: { name: 'Acme Chat', bundleId: 'com.acme.chat', sku: 'ACMECHAT' },
    6448250830: { name: 'Acme Notes', bundleId: 'com.acme.notes', sku: 'ACMENOTES' }
  } as Record<string, { name: string, bundleId: string, sku: string }>,
  /** Newest first within each app. */
  builds: {
    'ace4f47a-60ae-4ed6-954f-c4e61c7baab0': { app: '6447306070', version: '212', marketingVersion: '1.4', platform: 'IOS', uploadedDate: '2024-01-10T09:30:00.000+00:00' },
    '2f5c4b0e-9d1a-4c3e-8f7b-1a2b3c4d5e6f': { app: '6447306070', version: '205', marketingVersion: '1.3', platform: 'IOS', uploadedDate: '2023-12-02T16:05:00.000+00:00' },
    '7e9d8c7b-6a5f-4e3d-9c2b-0a1b2c3d4e5f': { app: '6448250830', version: '31', marketingVersion: '2.0', platform: 'MAC_OS', uploadedDate: '2024-01-03T11:00:00.000+00:00' }
  } as Record<string, { app: string, version: string, marketingVersion: string, platform: string, uploadedDate: string }>,
  groups: {
    'a1b2c3d4-0000-4000-8000-000000000001': { name: 'Public beta', isInternalGroup: false, publicLink: 'https://testflight.apple.com/join/AbCdEf12' },
    'a1b2c3d4-0000-4000-8000-000000000002': { name: 'Internal QA', isInternalGroup: true, publicLink: null }
  } as Record<string, { name: string, isInternalGroup: boolean, publicLink: string | null }>
}

const FIRST_NAMES = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Frances', 'Ken', 'Radia', 'Tim']
const LAST_NAMES = ['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Allen', 'Thompson', 'Perlman', 'Berners-Lee']

/** A demo tester's profile: one in ten joined by the public link and is anonymous (no name, no email). */
export function testerProfile (id: string): { firstName?: string, lastName?: string, email?: string, inviteType: 'EMAIL' | 'PUBLIC_LINK' } {
  if (id === APPLE_DEMO.tester) return { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com', inviteType: 'EMAIL' }
  const random = randomFrom(`profile/${id}`)
  if (random() < 0.1) return { inviteType: 'PUBLIC_LINK' }
  const firstName = FIRST_NAMES[intBelow(random, FIRST_NAMES.length)]
  const lastName = LAST_NAMES[intBelow(random, LAST_NAMES.length)]
  return { firstName, lastName, email: `${firstName}.${lastName}.${id.slice(0, 4)}@example.com`.toLowerCase(), inviteType: 'EMAIL' }
}

const PERIOD_DAYS: Record<string, number> = { P7D: 7, P30D: 30, P90D: 90, P365D: 365 }

/**
 * One tester's usage of one app over the last `days` days: a sum of daily
 * figures, so a longer period never shows less than a shorter one.
 */
export function testerUsage (app: string, tester: string, days: number): { crashCount: number, sessionCount: number, feedbackCount: number } {
  const random = randomFrom(`tester/${app}/${tester}`)
  const values = { crashCount: 0, sessionCount: 0, feedbackCount: 0 }
  for (let day = 0; day < days; day++) {
    const sessions = intBelow(random, 4)
    values.sessionCount += sessions
    values.crashCount += sessions > 0 && random() < 0.05 ? 1 : 0
    values.feedbackCount += sessions > 0 && random() < 0.03 ? 1 : 0
  }
  return values
}

export function testersOf (appId: string): string[] {
  const count = APPLE_DEMO.apps[appId] ?? 0
  const testers = Array.from({ length: count }, (_, index) => uuidFrom(`${appId}/tester/${index}`))
  if (testers.length > 0) testers[0] = APPLE_DEMO.tester
  return testers
}

interface AppleErrorFields { status: number, code: string, title: string, detail: string, parameter?: string }

function appleError (reply: FastifyReply, fields: AppleErrorFields): FastifyReply {
  const error = {
    id: uuidFrom(`${fields.code}/${fields.detail}`),
    status: String(fields.status),
    code: fields.code,
    title: fields.title,
    detail: fields.detail,
    ...(fields.parameter === undefined ? {} : { source: { parameter: fields.parameter } })
  }
  return reply.code(fields.status).type('application/json').send({ errors: [error] })
}

function invalidParameter (reply: FastifyReply, parameter: string, detail: string): FastifyReply {
  return appleError(reply, { status: 400, code: 'PARAMETER_ERROR.INVALID', title: 'A parameter has an invalid value', detail, parameter })
}

/** What one key sees: its team's demo apps, and their builds, beta groups and testers. */
interface Visibility {
  apps: string[]
  app: (id: string) => boolean
  build: (id: string) => boolean
  group: (id: string) => boolean
}

function visibilityOf (team: AppleTeam): Visibility {
  const apps = Object.keys(APPLE_DEMO.apps).filter((app) => team.apps.includes(app))
  return {
    apps,
    app: (id) => apps.includes(id),
    build: (id) => APPLE_DEMO.builds.includes(id) && apps.includes(APPLE_DEMO_NAMES.builds[id].app),
    group: (id) => Object.hasOwn(APPLE_DEMO.groups, id) && apps.includes(APPLE_DEMO.groups[id].app)
  }
}

export function createAppleSimulator (options: AppleSimulatorOptions): AppleSimulator {
  const now = options.now ?? Date.now
  const style = options.style ?? 'example'
  const hourlyLimit = options.hourlyLimit ?? 3600
  const calls: string[] = []
  const teams: AppleTeam[] = options.teams ??
    [{ keyId: options.keyId, issuerId: options.issuerId, publicKey: options.publicKey, apps: Object.keys(APPLE_DEMO.apps) }]
  const callsByKey: Record<string, string[]> = Object.fromEntries(teams.map((team) => [team.keyId, []]))
  const visibility = new Map(teams.map((team) => [team.keyId, visibilityOf(team)]))
  const used = new Map<string, number[]>()
  const server = Fastify({ logger: false })

  const date = (time: number): string => style === 'example' ? isoDay(time) : new Date(time - (time % DAY_MS)).toISOString()
  const dimensionRef = (type: string, id: string): unknown => style === 'example' ? { type, id } : id

  /**
   * Verifies the bearer token and counts the call against the key's hour: what
   * the key sees, or undefined after answering a 401 or a 429.
   */
  async function authorize (request: FastifyRequest, reply: FastifyReply): Promise<Visibility | undefined> {
    const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1]
    let team: AppleTeam | undefined
    try {
      if (token === undefined) throw new Error('no token')
      const kid = decodeProtectedHeader(token).kid
      team = teams.find((candidate) => candidate.keyId === kid)
      if (team === undefined) throw new Error('unknown key')
      const { payload } = await jwtVerify(token, team.publicKey, {
        algorithms: ['ES256'],
        audience: 'appstoreconnect-v1',
        currentDate: new Date(now()),
        ...(team.issuerId === undefined ? { subject: 'user' } : { issuer: team.issuerId })
      })
      if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number' || payload.exp - payload.iat > 20 * 60) throw new Error('lifetime')
    } catch {
      appleError(reply, {
        status: 401,
        code: 'NOT_AUTHORIZED',
        title: 'Authentication credentials are missing or invalid.',
        detail: 'Provide a properly configured and signed bearer token, and make sure that it has not expired. Learn more about Generating Tokens for API Requests https://developer.apple.com/go/?id=api-generating-tokens'
      })
      return undefined
    }
    callsByKey[team.keyId].push(request.url.split('?')[0])
    const hourAgo = now() - 3_600_000
    const times = (used.get(team.keyId) ?? []).filter((time) => time > hourAgo)
    times.push(now())
    used.set(team.keyId, times)
    reply.header('x-rate-limit', `user-hour-lim:${hourlyLimit};user-hour-rem:${Math.max(0, hourlyLimit - times.length)};`)
    if (times.length > hourlyLimit) {
      appleError(reply, { status: 429, code: 'RATE_LIMIT_EXCEEDED', title: 'The request rate limit has been reached.', detail: "We've received too many requests for this API. Please wait and try again or slow down your request rate." })
      return undefined
    }
    return visibility.get(team.keyId)
  }

  function notFound (reply: FastifyReply, type: string, id: string): FastifyReply {
    return appleError(reply, { status: 404, code: 'NOT_FOUND', title: 'The specified resource does not exist', detail: `There is no resource of type '${type}' with id '${id}'` })
  }

  /** The request's URL with its query encoded (`fields%5Bapps%5D`), as Apple's links are: a valid URI reference. */
  function canonicalUrl (request: FastifyRequest): URL {
    const url = new URL(request.url, `http://${request.headers.host ?? '127.0.0.1'}`)
    url.search = new URLSearchParams(url.search).toString()
    return url
  }

  function linksOf (request: FastifyRequest, query: URLSearchParams, nextOffset: number | null): Record<string, string> {
    const self = canonicalUrl(request)
    const links: Record<string, string> = { self: self.toString() }
    if (nextOffset !== null) {
      const next = new URL(self.pathname, self)
      for (const [name, value] of query) if (name !== 'cursor') next.searchParams.set(name, value)
      next.searchParams.set('cursor', Buffer.from(`offset:${nextOffset}`).toString('base64url'))
      links.next = next.toString()
    }
    return links
  }

  server.addHook('onRequest', async (request) => { calls.push(request.url.split('?')[0]) })

  server.get<{ Params: { id: string } }>('/v1/builds/:id/metrics/betaBuildUsages', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    const { id } = request.params
    if (!visible.build(id)) return notFound(reply, 'builds', id)
    const random = randomFrom(`build/${id}`)
    const invites = 20 + intBelow(random, 200)
    const installs = Math.floor(invites * (0.4 + random() * 0.5))
    return {
      data: [{
        type: 'betaBuildUsages',
        dataPoints: [{
          start: date(now() - 365 * DAY_MS),
          end: date(now()),
          values: {
            installCount: installs,
            crashCount: intBelow(random, Math.max(1, Math.floor(installs / 4))),
            sessionCount: installs * (1 + intBelow(random, 30)),
            inviteCount: invites,
            feedbackCount: intBelow(random, Math.max(1, Math.floor(installs / 3)))
          }
        }]
      }],
      links: linksOf(request, new URLSearchParams(), null),
      meta: { paging: { total: 1, limit: 50 } }
    }
  })

  /**
   * One page of tester usage groups over `population`, keyed by `dimension`.
   * `usageOf` names the (app, tester) pair a member stands for: the numbers
   * depend on that pair and the period only, so every route agrees.
   */
  function testerPage (request: FastifyRequest, reply: FastifyReply, population: string[], dimension: { name: string, of: (member: string) => string }, type: string, usageOf: (member: string) => { app: string, tester: string }): unknown {
    const query = new URLSearchParams(request.query as Record<string, string>)
    const period = query.get('period') ?? 'P365D'
    if (PERIOD_DAYS[period] === undefined) return invalidParameter(reply, 'period', `'${period}' is not a valid value for the parameter 'period'.`)
    const page = pageOf(request, reply, query, population)
    if (page === undefined) return reply
    const days = PERIOD_DAYS[period]
    return {
      data: page.items.map((member) => {
        const { app, tester } = usageOf(member)
        const values = testerUsage(app, tester, days)
        return {
          type,
          dataPoints: [{
            start: date(now() - days * DAY_MS),
            end: date(now()),
            values
          }],
          dimensions: {
            [dimension.name]: {
              data: dimensionRef(dimension.name, dimension.of(member)),
              links: { related: `/v1/${dimension.name}/${dimension.of(member)}` }
            }
          }
        }
      }),
      links: page.links,
      meta: { paging: { total: population.length, limit: page.limit } }
    }
  }

  /** `limit` and `cursor` applied to `items`, or undefined after answering a 400. */
  function pageOf (request: FastifyRequest, reply: FastifyReply, query: URLSearchParams, items: string[]): { items: string[], limit: number, links: Record<string, string> } | undefined {
    const limit = Number(query.get('limit') ?? 50)
    if (!Number.isInteger(limit) || limit < 1 || limit > 200) {
      invalidParameter(reply, 'limit', `'${query.get('limit') ?? ''}' is not a valid value for the parameter 'limit'. The maximum is 200.`)
      return undefined
    }
    const cursor = query.get('cursor')
    const offset = cursor === null ? 0 : Number(/^offset:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString())?.[1] ?? Number.NaN)
    if (!Number.isInteger(offset)) {
      invalidParameter(reply, 'cursor', `'${cursor ?? ''}' is not a valid cursor for this request.`)
      return undefined
    }
    return { items: items.slice(offset, offset + limit), limit, links: linksOf(request, query, offset + limit < items.length ? offset + limit : null) }
  }

  /** Apple wants groupBy=betaTesters or filter[betaTesters]; the filter narrows the population. */
  function groupedTesters (request: FastifyRequest, reply: FastifyReply, app: string, testers: string[], type: string): unknown {
    const query = new URLSearchParams(request.query as Record<string, string>)
    const filter = query.get('filter[betaTesters]')
    if (filter === null && query.get('groupBy') !== 'betaTesters') {
      return appleError(reply, { status: 400, code: 'PARAMETER_ERROR.REQUIRED', title: 'A required parameter is missing.', detail: "This endpoint requires either the 'groupBy' or the 'filter[betaTesters]' parameter." })
    }
    const population = filter === null ? testers : testers.filter((tester) => tester === filter)
    return testerPage(request, reply, population, { name: 'betaTesters', of: (tester) => tester }, type, (tester) => ({ app, tester }))
  }

  server.get<{ Params: { id: string } }>('/v1/apps/:id/metrics/betaTesterUsages', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.app(request.params.id)) return notFound(reply, 'apps', request.params.id)
    return groupedTesters(request, reply, request.params.id, testersOf(request.params.id), 'appsBetaTesterUsages')
  })

  server.get<{ Params: { id: string } }>('/v1/betaGroups/:id/metrics/betaTesterUsages', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.group(request.params.id)) return notFound(reply, 'betaGroups', request.params.id)
    const group = APPLE_DEMO.groups[request.params.id]
    return groupedTesters(request, reply, group.app, testersOf(group.app).slice(0, group.members), 'betaGroupsBetaTesterUsages')
  })

  server.get<{ Params: { id: string }, Querystring: Record<string, string> }>('/v1/betaTesters/:id/metrics/betaTesterUsages', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    const app = request.query['filter[apps]']
    if (app === undefined) {
      return appleError(reply, { status: 400, code: 'PARAMETER_ERROR.REQUIRED', title: 'A required parameter is missing.', detail: "The parameter 'filter[apps]' is required.", parameter: 'filter[apps]' })
    }
    // A key sees a tester only through its own apps.
    const apps = visible.apps.filter((appId) => testersOf(appId).includes(request.params.id))
    if (apps.length === 0) return notFound(reply, 'betaTesters', request.params.id)
    if (!visible.app(app)) return notFound(reply, 'apps', app)
    const tester = request.params.id
    return testerPage(request, reply, apps.filter((appId) => appId === app), { name: 'apps', of: (appId) => appId }, 'betaTesterUsages', (appId) => ({ app: appId, tester }))
  })

  server.get<{ Params: { id: string }, Querystring: Record<string, string> }>('/v1/betaGroups/:id/metrics/publicLinkUsages', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.group(request.params.id)) return notFound(reply, 'betaGroups', request.params.id)
    const page = pageOf(request, reply, new URLSearchParams(request.query), [request.params.id])
    if (page === undefined) return reply
    const random = randomFrom(`public-link/${request.params.id}`)
    const views = 50 + intBelow(random, 2000)
    const accepted = Math.floor(views * (0.2 + random() * 0.5))
    const declined = views - accepted
    const round2 = (value: number): number => Math.round(value * 100) / 100
    const notRelevantRatio = round2(random() * 0.5)
    const notClearRatio = round2(random() * (1 - notRelevantRatio))
    return {
      data: page.items.map(() => ({
        type: 'betaPublicLinkUsages',
        dataPoints: [{
          start: date(now() - 30 * DAY_MS),
          end: date(now()),
          values: {
            viewCount: views,
            acceptedCount: accepted,
            didNotAcceptCount: declined - Math.floor(declined / 4),
            didNotMeetCriteriaCount: Math.floor(declined / 4),
            notRelevantRatio,
            notClearRatio,
            notInterestingRatio: round2(1 - notRelevantRatio - notClearRatio)
          }
        }]
      })),
      links: page.links,
      meta: { paging: { total: 1, limit: page.limit } }
    }
  })

  /** A list answer: one page of `ids`, each as its resource. */
  function resourceList (request: FastifyRequest, reply: FastifyReply, ids: string[], resourceOf: (id: string) => Record<string, unknown>, included?: (ids: string[]) => unknown[]): unknown {
    const query = new URLSearchParams(request.query as Record<string, string>)
    const page = pageOf(request, reply, query, ids)
    if (page === undefined) return reply
    return {
      data: page.items.map(resourceOf),
      ...(included === undefined ? {} : { included: included(page.items) }),
      links: page.links,
      meta: { paging: { total: ids.length, limit: page.limit } }
    }
  }
  const selfLink = (request: FastifyRequest): { self: string } => ({ self: canonicalUrl(request).toString() })
  const appResource = (id: string): Record<string, unknown> => ({ type: 'apps', id, attributes: APPLE_DEMO_NAMES.apps[id] })
  const preReleaseId = (build: string): string => uuidFrom(`pre-release/${build}`)
  const buildResource = (id: string): Record<string, unknown> => {
    const build = APPLE_DEMO_NAMES.builds[id]
    return {
      type: 'builds',
      id,
      attributes: { version: build.version, uploadedDate: build.uploadedDate, processingState: 'VALID', expired: false },
      relationships: { preReleaseVersion: { data: { type: 'preReleaseVersions', id: preReleaseId(id) } } }
    }
  }
  const preReleases = (builds: string[]): unknown[] => builds.map((id) => ({
    type: 'preReleaseVersions',
    id: preReleaseId(id),
    attributes: { version: APPLE_DEMO_NAMES.builds[id].marketingVersion, platform: APPLE_DEMO_NAMES.builds[id].platform }
  }))
  const groupResource = (id: string): Record<string, unknown> => {
    const { name, isInternalGroup, publicLink } = APPLE_DEMO_NAMES.groups[id]
    return { type: 'betaGroups', id, attributes: { name, isInternalGroup, publicLinkEnabled: publicLink !== null, ...(publicLink === null ? {} : { publicLink }) } }
  }
  const appFilter = (request: FastifyRequest<{ Querystring: Record<string, string> }>, reply: FastifyReply): string | undefined => {
    const app = request.query['filter[app]']
    if (app === undefined) appleError(reply, { status: 400, code: 'PARAMETER_ERROR.REQUIRED', title: 'A required parameter is missing.', detail: "The parameter 'filter[app]' is required.", parameter: 'filter[app]' })
    return app
  }

  server.get('/v1/apps', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    return resourceList(request, reply, visible.apps, appResource)
  })
  server.get<{ Params: { id: string } }>('/v1/apps/:id', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.app(request.params.id)) return notFound(reply, 'apps', request.params.id)
    return { data: appResource(request.params.id), links: selfLink(request) }
  })
  // An app the key cannot see has no builds and no groups to it, as one that does not exist.
  server.get<{ Querystring: Record<string, string> }>('/v1/builds', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    const app = appFilter(request, reply)
    if (app === undefined) return reply
    const builds = APPLE_DEMO.builds.filter((id) => visible.build(id) && APPLE_DEMO_NAMES.builds[id].app === app)
      .sort((a, b) => APPLE_DEMO_NAMES.builds[b].uploadedDate.localeCompare(APPLE_DEMO_NAMES.builds[a].uploadedDate))
    return resourceList(request, reply, builds, buildResource, preReleases)
  })
  server.get<{ Params: { id: string } }>('/v1/builds/:id', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.build(request.params.id)) return notFound(reply, 'builds', request.params.id)
    return { data: buildResource(request.params.id), included: preReleases([request.params.id]), links: selfLink(request) }
  })
  server.get<{ Querystring: Record<string, string> }>('/v1/betaGroups', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    const app = appFilter(request, reply)
    if (app === undefined) return reply
    return resourceList(request, reply, Object.keys(APPLE_DEMO.groups).filter((id) => visible.group(id) && APPLE_DEMO.groups[id].app === app), groupResource)
  })
  server.get<{ Params: { id: string } }>('/v1/betaGroups/:id', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.group(request.params.id)) return notFound(reply, 'betaGroups', request.params.id)
    return { data: groupResource(request.params.id), links: selfLink(request) }
  })
  /** A to-one relationship's linkage: the app a build or beta group belongs to. */
  const appLinkage = (request: FastifyRequest, type: string, id: string, app: string): unknown => {
    const self = canonicalUrl(request)
    return {
      data: { type: 'apps', id: app },
      links: { self: self.toString(), related: new URL(`/v1/${type}/${encodeURIComponent(id)}/app`, self).toString() }
    }
  }
  server.get<{ Params: { id: string } }>('/v1/builds/:id/relationships/app', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.build(request.params.id)) return notFound(reply, 'builds', request.params.id)
    return appLinkage(request, 'builds', request.params.id, APPLE_DEMO_NAMES.builds[request.params.id].app)
  })
  server.get<{ Params: { id: string } }>('/v1/betaGroups/:id/relationships/app', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    if (!visible.group(request.params.id)) return notFound(reply, 'betaGroups', request.params.id)
    return appLinkage(request, 'betaGroups', request.params.id, APPLE_DEMO.groups[request.params.id].app)
  })
  server.get<{ Querystring: Record<string, string> }>('/v1/betaTesters', async (request, reply) => {
    const visible = await authorize(request, reply)
    if (visible === undefined) return reply
    const everyone = [...new Set(visible.apps.flatMap(testersOf))]
    const wanted = request.query['filter[id]']?.split(',')
    const testers = wanted === undefined ? everyone : everyone.filter((id) => wanted.includes(id))
    return resourceList(request, reply, testers, (id) => ({ type: 'betaTesters', id, attributes: testerProfile(id) }))
  })

  return { server, calls, callsByKey }
}
