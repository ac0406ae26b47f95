/**
 * WhatsApp usage routes: one per row of the Gupshup endpoint table.
 */
import { gupshupEndpoints } from '../../src/providers/gupshup/endpoints.js'
import { reportRoutes } from '../report-route.js'
import { gupshupRouteParams } from './schemas.js'

export default reportRoutes(gupshupEndpoints, gupshupRouteParams)
