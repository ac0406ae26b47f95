/**
 * The gateway's own parameter patterns, and what each means in words (a
 * 400 says the words, not the regular expression).
 */
import { Type } from 'typebox'

/** Path ids and app ids are opaque: letters, digits and dashes only. */
export const ID_PATTERN = '^[A-Za-z0-9-]{1,100}$'
/** An upstream paging cursor, as Apple writes them. */
export const CURSOR_PATTERN = '^[A-Za-z0-9._~+/=-]{1,512}$'
export const YEAR_PATTERN = '^(19|20|21)\\d{2}$'
export const MONTH_PATTERN = '^(0[1-9]|1[0-2])$'
/** Ids, comma-separated (a fan-out's subjects). */
export const ID_LIST_PATTERN = '^[A-Za-z0-9-]{1,100}(,[A-Za-z0-9-]{1,100})*$'

export const PATTERN_WORDS: Record<string, string> = {
  [ID_PATTERN]: 'must be 1 to 100 letters, digits or dashes',
  [CURSOR_PATTERN]: 'must be a cursor copied from paging.next',
  [YEAR_PATTERN]: 'must be a year, YYYY',
  [MONTH_PATTERN]: 'must be a month, MM (01 to 12)',
  [ID_LIST_PATTERN]: 'must be ids of 1 to 100 letters, digits or dashes, separated by commas'
}

/** An opaque upstream id: letters, digits and dashes, so it can never alter an upstream path. */
export const Id = (description: string, example: string): ReturnType<typeof Type.String> =>
  Type.String({ pattern: ID_PATTERN, description, examples: [example] })
