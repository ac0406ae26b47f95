/**
 * TestFlight usage routes: one per row of the Apple endpoint table.
 */
import { appleEndpoints } from '../../src/providers/apple/endpoints.js'
import { reportRoutes } from '../report-route.js'
import { appleRouteParams } from './schemas.js'

export default reportRoutes(appleEndpoints, appleRouteParams)
